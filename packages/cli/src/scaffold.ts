import { readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isValidModuleName } from '@modhost/core';
import { parseManifest } from '@modhost/manifest';
import { ENV_TYPES_FILE, envTypes } from './env-types.js';
import { schemaRefFrom } from './module-files.js';

/** What `modhost create` writes. */
export interface ScaffoldOptions {
  /** The isolation tier written to modhost.json (default `worker`). */
  readonly isolation?: 'in-process' | 'worker' | 'process' | undefined;
  /** A TypeScript module (`src/index.mts` built by `tsc` to `dist/index.mjs`) instead of JavaScript with JSDoc types. */
  readonly typescript?: boolean | undefined;
  /** modhost.json's `$schema` (default `./node_modules/@modhost/manifest/schema.json`; `scaffold` finds the real one). */
  readonly schemaRef?: string | undefined;
}

// src/ in the sources, dist/ once built: the package's own package.json is one level up from both.
const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
const versionOf = (packageJson: string) => {
  try {
    return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
};

/**
 * The ranges a new module's package.json asks for: the versions of this CLI and of the @modhost/manifest it runs
 * with (the packages the user installed, from a registry or packed tarballs), never `*`.
 */
function devDependencies(): Record<string, string> {
  const cli = versionOf(join(here, '..', 'package.json')) ?? '0.0.0';
  let manifest = cli;
  try {
    manifest = versionOf(createRequire(join(here, 'index.js')).resolve('@modhost/manifest/package.json')) ?? cli;
  } catch {}
  return { '@modhost/cli': `^${cli}`, '@modhost/manifest': `^${manifest}`, typescript: '^5.0.0' };
}

const baseName = (name: string) => (name.includes('/') ? (name.split('/')[1] as string) : name);

/** The module's code: the same in JavaScript (JSDoc-typed) and TypeScript, typed by modhost-env.d.ts. */
function entryCode(base: string, typescript: boolean): string {
  const head = typescript
    ? `// The ${base} module. modhost.json declares it; this file holds its code (built to dist/index.mjs by \`npm run build\`).
// Its types come from modhost-env.d.ts, generated from modhost.json: run \`npm run types\` after changing the manifest.
// It reaches the outside only through ctx (granted capabilities), with plain data in and out, so it runs the same in
// every isolation tier.
import type { Module } from '../modhost-env.js';

export default {`
    : `// @ts-check
// The ${base} module. modhost.json declares it; this file holds its code. Its types come from modhost-env.d.ts,
// generated from modhost.json: run \`npm run types\` after changing the manifest. It reaches the outside only through
// ctx (granted capabilities), with plain data in and out, so it runs the same in every isolation tier.

/** @type {import('./modhost-env.js').Module} */
export default {`;
  return `${head}
  routes: [
    {
      method: 'GET',
      path: '/hello',
      handler: async (req, ctx) => {
        const visits = Number((await ctx.storage.get('visits')) ?? 0) + 1;
        await ctx.storage.set('visits', visits);
        return { body: { message: \`\${ctx.config.greeting} from ${base}\`, visits } };
      },
    },
  ],
  async activate(ctx) {
    ctx.logger.info('${base} started');
    return { ping: () => 'pong' };
  },
  async health(ctx) {
    return Array.isArray(await ctx.storage.keys(''));
  },
}${typescript ? ' satisfies Module' : ''};
`;
}

function testCode(name: string, base: string, entry: string, typescript: boolean): string {
  return `// \`npm test\`${typescript ? ' (tsc, then node --test)' : ' (node --test)'}: the module with an in-memory ctx, no host and no package needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mod from './${entry}';

function fakeCtx(config = {}) {
  const data = new Map();
  return {
    module: { name: '${name}', version: '0.1.0' },
    tenant: undefined,
    config: { greeting: 'hello', ...config },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    storage: {
      get: async (k) => data.get(k),
      set: async (k, v) => void data.set(k, v),
      delete: async (k) => void data.delete(k),
      keys: async (p = '') => [...data.keys()].filter((k) => k.startsWith(p)),
    },
    deps: {},
    services: {},
  };
}

test('GET /hello greets and counts visits', async () => {
  const ctx = fakeCtx({ greeting: 'hi' });
  const route = mod.routes.find((r) => r.method === 'GET' && r.path === '/hello');
  const first = await route.handler({ method: 'GET', path: '/hello', params: {}, query: {}, headers: {} }, ctx);
  const second = await route.handler({ method: 'GET', path: '/hello', params: {}, query: {}, headers: {} }, ctx);
  assert.deepEqual(first.body, { message: 'hi from ${base}', visits: 1 });
  assert.equal(second.body.visits, 2);
});

test('activate returns its API and health passes', async () => {
  const ctx = fakeCtx();
  const api = await mod.activate(ctx);
  assert.equal(api.ping(), 'pong');
  assert.equal(await mod.health(ctx), true);
});
`;
}

/** The files `modhost create` writes, by relative path. */
export function scaffoldFiles(name: string, options: ScaffoldOptions = {}): Record<string, string> {
  const typescript = options.typescript === true;
  const base = baseName(name);
  const main = typescript ? 'dist/index.mjs' : 'index.mjs';
  const manifestText = `${JSON.stringify(
    {
      $schema: options.schemaRef ?? './node_modules/@modhost/manifest/schema.json',
      name,
      version: '0.1.0',
      description: `The ${base} module`,
      main,
      isolation: options.isolation ?? 'worker',
      permissions: ['routes:mount', 'storage:module'],
      config: {
        schema: { type: 'object', properties: { greeting: { type: 'string', default: 'hello' } }, additionalProperties: false },
      },
      routes: [{ method: 'GET', path: '/hello' }],
    },
    null,
    2,
  )}\n`;
  const parsed = parseManifest(manifestText);
  if (!parsed.ok) throw new Error(`the scaffold's manifest is not valid: ${parsed.issues.map((i) => i.message).join('; ')}`);
  const scripts = typescript
    ? { build: 'tsc -p .', test: 'tsc -p . && node --test', typecheck: 'tsc -p . --noEmit', types: 'modhost types .', validate: 'modhost validate .' }
    : { test: 'node --test', typecheck: 'tsc -p .', types: 'modhost types .', validate: 'modhost validate .' };
  const pkg = {
    name: name.startsWith('@') ? name : `modhost-module-${base}`,
    // modhost.json's version is the one hosts install; `modhost validate` fails when this one differs.
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts,
    devDependencies: devDependencies(),
  };
  const tsconfig = typescript
    ? {
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          strict: true,
          skipLibCheck: true,
          types: [],
          rootDir: 'src',
          outDir: 'dist',
        },
        include: ['src', ENV_TYPES_FILE],
      }
    : {
        compilerOptions: { target: 'es2022', module: 'nodenext', allowJs: true, checkJs: true, noEmit: true, strict: true, skipLibCheck: true, types: [] },
        include: ['index.mjs', ENV_TYPES_FILE],
      };
  const readme = `# ${name}

A modhost module${typescript ? ' in TypeScript' : ''}. \`modhost.json\` declares it; \`${typescript ? 'src/index.mts' : 'index.mjs'}\` holds its code${
    typescript ? ", built to `dist/index.mjs` (the manifest's `main`)" : ''
  }.

- \`npm test\`: ${typescript ? 'builds it, then runs' : 'runs'} its tests (\`node --test\`, no host needed).
- \`npm run typecheck\`: checks the code against \`${ENV_TYPES_FILE}\`, the types of its \`ctx\`, routes and hooks.
- \`npm run types\`: regenerates \`${ENV_TYPES_FILE}\` from \`modhost.json\` (do it after changing the manifest).
- \`npm run validate\`: what a host checks (manifest, entry, contract, permissions).

The version is in \`modhost.json\` (what hosts install) and in \`package.json\`: change both (\`modhost validate\` fails
when they differ). To install the module, copy this folder${typescript ? ', built,' : ''} into a host's modules folder,
without \`node_modules\`.
`;
  return {
    'modhost.json': manifestText,
    [ENV_TYPES_FILE]: envTypes(parsed.value),
    [typescript ? 'src/index.mts' : 'index.mjs']: entryCode(base, typescript),
    'index.test.mjs': testCode(name, base, typescript ? 'dist/index.mjs' : 'index.mjs', typescript),
    'tsconfig.json': `${JSON.stringify(tsconfig, null, 2)}\n`,
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    'README.md': readme,
  };
}

/**
 * Writes a new module folder; refuses a bad name or a folder that is not empty. Its `$schema` is the path to the
 * @modhost/manifest that Node finds from the new folder (an app's, inside `<app>/modules`). Returns the folder.
 */
export async function scaffold(parent: string, name: string, options: ScaffoldOptions = {}): Promise<string> {
  if (!isValidModuleName(name)) throw new Error(`"${name}" is not a module name: use lower case, digits, "-", "." or "_", optionally scoped ("@acme/billing")`);
  const dir = join(parent, baseName(name));
  const existing = await readdir(dir).catch(() => []);
  if (existing.length > 0) throw new Error(`${dir} exists and is not empty; pick another name or remove it`);
  const files = scaffoldFiles(name, { ...options, schemaRef: options.schemaRef ?? (await schemaRefFrom(dir)) });
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  return dir;
}
