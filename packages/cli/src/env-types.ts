import type { ConfigJsonSchema, Manifest } from '@modhost/manifest';

/** The file `modhost types` (and `modhost create`) writes next to `modhost.json`. */
export const ENV_TYPES_FILE = 'modhost-env.d.ts';

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const key = (k: string) => (IDENTIFIER.test(k) ? k : JSON.stringify(k));
const literal = (v: unknown) => JSON.stringify(v);
const union = (items: readonly string[], none = 'never') => (items.length > 0 ? items.join(' | ') : none);
const comment = (text: string | undefined, pad: string) => (text ? `${pad}/** ${text.replaceAll('*/', '*\\/').replace(/\s*\n\s*/g, ' ')} */\n` : '');

/** The TypeScript type of the values a config JSON Schema accepts. */
function typeOf(schema: ConfigJsonSchema, pad: string): string {
  if (schema.const !== undefined) return literal(schema.const);
  if (schema.enum) return union(schema.enum.map(literal));
  switch (schema.type) {
    case 'string':
      return 'string';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      return `Array<${schema.items ? typeOf(schema.items, pad) : 'unknown'}>`;
    case 'object':
      return objectType(schema, pad, new Set());
    default:
      return schema.properties ? objectType(schema, pad, new Set()) : 'unknown';
  }
}

/** An object schema: a property is present when it is required or has a default (the host applies defaults). */
function objectType(schema: ConfigJsonSchema, pad: string, present: ReadonlySet<string>): string {
  const inner = `${pad}  `;
  const required = new Set([...(schema.required ?? []), ...present]);
  const lines = Object.entries(schema.properties ?? {}).map(([k, p]) => {
    const optional = required.has(k) || p.default !== undefined ? '' : '?';
    return `${comment(p.description ?? p.title, inner)}${inner}readonly ${key(k)}${optional}: ${typeOf(p, inner)};`;
  });
  if (schema.additionalProperties !== false) lines.push(`${inner}readonly [key: string]: unknown;`);
  if (lines.length === 0) return 'Record<string, never>';
  return `{\n${lines.join('\n')}\n${pad}}`;
}

const paramsOf = (path: string) => [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] as string);

/**
 * The text of `modhost-env.d.ts` for a manifest: the module's `ctx` (config from `config.schema`, the capabilities
 * its permissions ask for, its dependencies), the routes and jobs it declares, and its hooks, as a `Module` type
 * for the entry. Self-contained (it imports nothing), so a module type-checks with TypeScript alone.
 */
export function envTypes(m: Manifest): string {
  const permissions = m.permissions ?? [];
  const has = (p: string) => permissions.includes(p);
  const config = m.config ? objectTypeOrOther(m.config.schema, new Set(Object.keys(m.config.defaults ?? {}))) : 'Record<string, never>';
  const deps = [
    ...Object.keys(m.dependencies ?? {}).map((d) => `  readonly ${key(d)}: unknown;`),
    ...Object.keys(m.optionalDependencies ?? {}).map((d) => `  /** Absent when it did not resolve. */\n  readonly ${key(d)}?: unknown;`),
  ];
  const capabilities = [
    has('storage:module') ? '  /** The module\'s own key-value storage ("storage:module"). */\n  readonly storage: Storage;' : '',
    permissions.some((p) => p.startsWith('net:fetch')) ? '  /** `fetch`, limited to the granted hosts ("net:fetch:<host>"). */\n  readonly net: Net;' : '',
    permissions.some((p) => p.startsWith('fs:read') || p.startsWith('fs:write'))
      ? '  /** Files under the granted paths of the module\'s folder ("fs:read:<path>", "fs:write:<path>"). */\n  readonly fs: Fs;'
      : '',
  ].filter(Boolean);
  const routes = (m.routes ?? []).map((r) => {
    const params = paramsOf(r.path);
    const req = params.length > 0 ? `RouteRequest<{ ${params.map((p) => `readonly ${key(p)}: string`).join('; ')} }>` : 'RouteRequest';
    return `  | {\n      readonly method: ${literal(r.method)};\n      readonly path: ${literal(r.path)};\n      readonly permission?: string;\n      readonly accepts?: string | readonly string[];\n      readonly handler: (req: ${req}, ctx: Context) => RouteResponse | Promise<RouteResponse>;\n    }`;
  });
  const jobs = (m.jobs ?? []).map(
    (j) =>
      `  | {\n      readonly name: ${literal(j.name)};\n      readonly schedule: string | { readonly everyMs: number };\n      readonly timeout?: number;\n      readonly retries?: number;\n      readonly run: (ctx: Context) => void | Promise<void>;\n    }`,
  );
  return `// ${ENV_TYPES_FILE}: the types of ${m.name}'s ctx, routes, jobs and hooks, generated from modhost.json by \`modhost types\`.
// Do not edit it: run \`npx modhost types\` after changing modhost.json (\`modhost validate\` says when it is stale).
// JavaScript: \`/** @type {import('./modhost-env.js').Module} */ export default { ... }\`.
// TypeScript: \`import type { Module } from '../modhost-env.js'; export default { ... } satisfies Module;\`.

export type Name = ${literal(m.name)};
export type Version = ${literal(m.version)};

/** \`ctx.config\`: modhost.json "config.schema", with its defaults applied. */
export type Config = ${config};

/** The permissions modhost.json asks for; the host grants them by its policy. */
export type Permission = ${union(permissions.map(literal))};

/** The routes modhost.json declares, as "METHOD /path": the entry implements exactly these. */
export type RouteKey = ${union((m.routes ?? []).map((r) => literal(`${r.method} ${r.path}`)))};

/** The jobs modhost.json declares: the entry implements exactly these. */
export type JobName = ${union((m.jobs ?? []).map((j) => literal(j.name)))};

/** \`ctx.deps\`: the public APIs of the modules modhost.json depends on (what their \`activate\` returned). */
export type Deps = ${deps.length > 0 ? `{\n${deps.join('\n')}\n}` : '{}'};

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Key-value storage, namespaced to the module. Values are JSON data. */
export interface Storage {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  keys(prefix?: string): Promise<string[]>;
}

export interface Net {
  fetch: typeof globalThis extends { fetch: infer F } ? F : (url: string, init?: object) => Promise<unknown>;
}

export interface Fs {
  readFile(path: string): Promise<Uint8Array>;
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  readdir(path: string): Promise<string[]>;
  writeFile(path: string, data: string | Uint8Array): Promise<void>;
}

/** Aborts when this version's context is revoked (it stopped, or its start failed or timed out). */
export interface StopSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** What the module's hooks and handlers receive: the only door to the outside. */
export interface Context {
  readonly module: { readonly name: string; readonly version: string };
  /** The tenant this instance serves, or \`undefined\` for host-wide work. */
  readonly tenant: string | undefined;
  readonly config: Readonly<Config>;
  readonly logger: Logger;
  readonly deps: Readonly<Deps>;
  /** A dependency's public API, the same value as \`ctx.deps[name]\`; throws DEPENDENCY_UNSATISFIED when it did not resolve. */
  dep<K extends keyof Deps & string>(name: K): Deps[K];
  /** The effective config of a tenant (\`ctx.tenant\`'s by default), read now. */
  tenantConfig(tenant?: string): Promise<Readonly<Config>>;
  /** Host services this module was granted, by service name. */
  readonly services: Readonly<Record<string, unknown>>;
  readonly signal?: StopSignal;
${capabilities.join('\n')}
}

export interface RouteRequest<Params = Readonly<Record<string, string>>> {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
  readonly path: string;
  readonly params: Params;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly tenant?: string;
  readonly principal?: unknown;
  readonly requestId?: string;
  readonly traceparent?: string;
}

export interface RouteResponse {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** One of the routes modhost.json declares, with its handler. */
export type Route =
${routes.length > 0 ? routes.join('\n') : '  never'};

/** One of the jobs modhost.json declares, with its code. */
export type Job =
${jobs.length > 0 ? jobs.join('\n') : '  never'};

export interface Migration {
  readonly name: string;
  readonly up: (ctx: Context) => void | Promise<void>;
  readonly down?: (ctx: Context) => void | Promise<void>;
}

export type HealthResult = boolean | { readonly status: 'ok' | 'degraded' | 'fail'; readonly detail?: string };

/** The entry's default export. */
export interface Module {
  readonly name?: Name;
  readonly version?: Version;
  readonly routes?: readonly Route[];
  readonly jobs?: readonly Job[];
  readonly migrations?: readonly Migration[];
  /** \`tenant\`: a tenant's ctx reads and writes that tenant's own keys. Default \`module\`. */
  readonly storageScope?: 'module' | 'tenant';
  /** Starts the module; what it returns is its public API for dependents. */
  readonly activate?: (ctx: Context) => unknown;
  readonly deactivate?: (ctx: Context) => void | Promise<void>;
  readonly health?: (ctx: Context) => HealthResult | Promise<HealthResult>;
  readonly exportState?: (ctx: Context) => unknown;
  readonly importState?: (state: unknown, fromVersion: string, ctx: Context) => void | Promise<void>;
  readonly reconfigure?: (config: Readonly<Config>, ctx: Context) => void | Promise<void>;
}
`;
}

function objectTypeOrOther(schema: ConfigJsonSchema, present: ReadonlySet<string>): string {
  return schema.type === 'object' || (schema.type === undefined && schema.properties) ? objectType(schema, '', present) : typeOf(schema, '');
}
