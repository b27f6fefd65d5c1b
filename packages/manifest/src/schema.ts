import { MODULE_NAME_PATTERN, PERMISSION_PATTERN } from '@modhost/core';
import { HOMEPAGE_PATTERN, METADATA_LIMITS, REPOSITORY_PATTERN, SEMVER_PATTERN, TAG_PATTERN } from '@modhost/core/internal';
import { z } from 'zod';

/** One JSON value a config default or enum member may hold. */
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** The JSON Schema keywords a module's config schema may use (no `$ref`, no `pattern`: nothing that can loop or backtrack). */
export interface ConfigJsonSchema {
  type?: 'object' | 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'null' | undefined;
  title?: string | undefined;
  description?: string | undefined;
  properties?: Record<string, ConfigJsonSchema> | undefined;
  required?: string[] | undefined;
  additionalProperties?: boolean | undefined;
  items?: ConfigJsonSchema | undefined;
  enum?: (string | number | boolean | null)[] | undefined;
  const?: string | number | boolean | null | undefined;
  default?: unknown | undefined;
  minimum?: number | undefined;
  maximum?: number | undefined;
  exclusiveMinimum?: number | undefined;
  exclusiveMaximum?: number | undefined;
  minLength?: number | undefined;
  maxLength?: number | undefined;
  minItems?: number | undefined;
  maxItems?: number | undefined;
  format?: 'email' | 'uri' | 'uuid' | 'date-time' | 'date' | undefined;
}

const count = z.number().int().nonnegative();
export const configJsonSchema: z.ZodType<ConfigJsonSchema> = z.lazy(() =>
  z
    .strictObject({
      type: z.enum(['object', 'string', 'number', 'integer', 'boolean', 'array', 'null']).optional(),
      title: z.string().max(200).optional(),
      description: z.string().max(2000).optional(),
      properties: z.record(z.string().min(1).max(100), configJsonSchema).optional(),
      required: z.array(z.string()).optional(),
      additionalProperties: z.boolean().optional(),
      items: configJsonSchema.optional(),
      enum: z.array(scalar).min(1).optional(),
      const: scalar.optional(),
      default: z.json().optional(),
      minimum: z.number().optional(),
      maximum: z.number().optional(),
      exclusiveMinimum: z.number().optional(),
      exclusiveMaximum: z.number().optional(),
      minLength: count.optional(),
      maxLength: count.optional(),
      minItems: count.optional(),
      maxItems: count.optional(),
      format: z.enum(['email', 'uri', 'uuid', 'date-time', 'date']).optional(),
    })
    .meta({ id: 'ConfigJsonSchema', description: 'A JSON Schema subset for module config: no $ref, no pattern.' }),
);

const moduleName = z.string().max(214).regex(MODULE_NAME_PATTERN, 'a module name is lower case and URL-safe, optionally scoped: "tasks", "@acme/billing"');
const range = z.string().min(1).max(256).describe('a semver range, e.g. "^1.2.0"');
const deps = z.record(moduleName, range);
// Checked against real versions (the running Node, an installed package), so only range characters: no tags, URLs or paths.
const semverRange = z
  .string()
  .max(256)
  .regex(/^[\w.*^~<>=|+ -]+$/, 'a semver range such as ">=20" or "^1.2.0" (no tags, URLs or paths)');
/** npm's name rules (older packages may have upper-case letters); never a path: no leading "." and no "/" but the scope's. */
const npmName = z
  .string()
  .max(214)
  .regex(/^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-zA-Z0-9~-][a-zA-Z0-9._~-]*$/, 'an npm package name such as "left-pad" or "@scope/pkg"');
const metadata = z
  .strictObject({
    homepage: z.string().max(METADATA_LIMITS.url).regex(HOMEPAGE_PATTERN, 'an http(s) URL such as "https://example.com/billing"').optional(),
    repository: z
      .string()
      .max(METADATA_LIMITS.url)
      .regex(REPOSITORY_PATTERN, 'a URL or a shorthand such as "github:owner/repo"')
      .optional()
      .describe('Where the source lives: a URL or "github:owner/repo"'),
    tags: z
      .array(z.string().max(METADATA_LIMITS.tag).regex(TAG_PATTERN, 'a tag is lower-case words joined by "-", e.g. "multi-tenant"'))
      .max(METADATA_LIMITS.tags)
      .optional()
      .describe('Search terms: lower-case words'),
    category: z.string().max(METADATA_LIMITS.category).regex(/\S/, 'must not be blank').optional(),
  })
  .describe('Catalogue data for registries and UIs; the host runs nothing from it');
const permission = z.string().max(512).regex(PERMISSION_PATTERN, 'a permission is <domain>:<action>[:<scope>], e.g. "tasks:read" or "fs:read:./data"');
const method = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
/** A path inside the module's folder: relative, with no `..` segment. */
const innerPath = z
  .string()
  .min(1)
  .max(1024)
  .refine(
    (p) => !/^([\\/]|[a-zA-Z]:)/.test(p) && !p.split(/[\\/]/).includes('..'),
    'must be a relative path inside the module folder (no leading "/", no "..")',
  );

/** The zod schema of `modhost.json`. */
const mediaType = z.string().regex(/^[\w.+-]+\/[\w.+*-]+$/, 'a media type such as "application/json" or "text/*"');

export const manifestSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Where editors find this schema'),
    name: moduleName.describe('npm-style name: lower case, optionally scoped'),
    version: z.string().max(256).regex(SEMVER_PATTERN, 'a version is semver, e.g. "1.2.0"').describe('A semver.org version'),
    displayName: z
      .string()
      .max(METADATA_LIMITS.displayName)
      .regex(/\S/, 'must not be blank')
      .optional()
      .describe('A human-readable name for catalogues and UIs'),
    description: z.string().max(2000).optional(),
    author: z.string().max(200).optional(),
    license: z.string().max(100).optional(),
    metadata: metadata.optional(),
    main: innerPath.default('index.mjs').describe('The entry file; its default export is the module (hooks, route handlers, jobs, migrations)'),
    engines: z
      .strictObject({
        host: range.optional().describe("The host application's versions this module works with"),
        node: semverRange.optional().describe('The Node.js versions this module runs on; checked before it loads'),
      })
      .optional(),
    dependencies: deps.optional().describe('Required modules: name → semver range'),
    npmDependencies: z
      .record(npmName, semverRange)
      .optional()
      .describe("npm packages the module imports: name → semver range, each installed in the module folder's own node_modules"),
    optionalDependencies: deps.optional().describe('Modules used when they resolve, skipped when they do not'),
    permissions: z.array(permission).optional().describe('Capabilities the module asks for; the host grants them by policy'),
    isolation: z
      .enum(['in-process', 'worker', 'process', 'sandboxed'])
      .optional()
      .describe("Where the module runs (default: worker). 'sandboxed': a Hardened JavaScript compartment in a worker, with ctx as its only power"),
    stateMode: z.enum(['stateless', 'snapshot', 'quiesce']).optional().describe('How state crosses a hot swap'),
    config: z
      .strictObject({
        schema: configJsonSchema.describe('The JSON Schema of the config object'),
        defaults: z.record(z.string(), z.json()).optional(),
        presets: z.record(z.string(), z.record(z.string(), z.json())).optional(),
        sensitive: z.array(z.string()).optional().describe('Dotted paths whose values are masked on read'),
      })
      .optional(),
    routes: z
      .array(
        z.strictObject({
          method,
          path: z.string().startsWith('/').max(1024),
          permission: permission.optional(),
          accepts: z
            .union([mediaType, z.array(mediaType).min(1).max(20)])
            .optional()
            .describe('Body media types the route takes; others answer 415'),
        }),
      )
      .optional()
      .describe('Routes the entry must implement (method + path)'),
    jobs: z
      .array(
        z.strictObject({
          name: z.string().min(1).max(100),
          schedule: z.union([z.string().min(1).max(200), z.strictObject({ everyMs: z.number().int().positive() })]),
          timeout: z.number().int().positive().optional(),
          retries: z.number().int().nonnegative().optional(),
        }),
      )
      .optional(),
    ui: z
      .strictObject({
        pages: z.array(z.strictObject({ id: z.string(), path: z.string(), title: z.string(), permission: permission.optional() })).optional(),
        navigation: z
          .array(
            z.strictObject({
              label: z.string(),
              path: z.string(),
              order: z.number().optional(),
              icon: z.string().optional(),
              permission: permission.optional(),
            }),
          )
          .optional(),
      })
      .optional(),
    extensions: z.record(z.string(), z.array(z.json())).optional().describe('Contributions to app-defined extension points'),
  })
  .meta({ title: 'modhost module manifest (modhost.json)' });

/** A parsed `modhost.json` (defaults applied). */
export type Manifest = z.output<typeof manifestSchema>;
/** What a `modhost.json` may contain before defaults. */
export type ManifestInput = z.input<typeof manifestSchema>;
