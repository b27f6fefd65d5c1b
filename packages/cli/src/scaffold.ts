import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidModuleName } from '@modhost/core';

/** The files `modhost create` writes, by relative path. */
export function scaffoldFiles(name: string, isolation: 'in-process' | 'worker' | 'process' = 'worker'): Record<string, string> {
  const base = name.includes('/') ? (name.split('/')[1] as string) : name;
  const manifest = {
    $schema: './node_modules/@modhost/manifest/schema.json',
    name,
    version: '0.1.0',
    description: `The ${base} module`,
    main: 'index.mjs',
    isolation,
    permissions: ['routes:mount', 'storage:module'],
    config: {
      schema: { type: 'object', properties: { greeting: { type: 'string', default: 'hello' } }, additionalProperties: false },
    },
    routes: [{ method: 'GET', path: '/hello' }],
  };
  const entry = `// The ${base} module. modhost.json declares it; this file holds its code. It reaches the outside only
// through ctx (granted capabilities), with plain data in and out, so it runs the same in every isolation tier.
export default {
  routes: [
    {
      method: 'GET',
      path: '/hello',
      handler: async (req, ctx) => {
        const visits = ((await ctx.storage.get('visits')) ?? 0) + 1;
        await ctx.storage.set('visits', visits);
        return { body: { message: \`\${ctx.config.greeting ?? 'hello'} from ${base}\`, visits } };
      },
    },
  ],
  async activate(ctx) {
    ctx.logger.info('${base} started');
    return { ping: () => 'pong' };
  },
  async health(ctx) {
    return (await ctx.storage.keys('')) !== undefined;
  },
};
`;
  const test = `// Run with \`npm test\` (node --test): exercises the module with an in-memory ctx, no host needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mod from './index.mjs';

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
  const pkg = {
    name: name.startsWith('@') ? name : `modhost-module-${base}`,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: { build: 'modhost validate .', test: 'node --test' },
    devDependencies: { '@modhost/cli': '*', '@modhost/manifest': '*' },
  };
  const readme = `# ${name}\n\nA modhost module. \`npm run build\` checks it with \`modhost validate .\` (plain ESM needs no compile step);\n\`npm test\` runs its tests. Copy this folder into a host's modules folder to install it.\n`;
  return {
    'modhost.json': `${JSON.stringify(manifest, null, 2)}\n`,
    'index.mjs': entry,
    'index.test.mjs': test,
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    'README.md': readme,
  };
}

/** Writes a new module folder; refuses a bad name or a folder that is not empty. Returns the folder. */
export async function scaffold(parent: string, name: string, isolation?: 'in-process' | 'worker' | 'process'): Promise<string> {
  if (!isValidModuleName(name)) throw new Error(`"${name}" is not a module name: use lower case, digits, "-", "." or "_", optionally scoped ("@acme/billing")`);
  const dir = join(parent, name.includes('/') ? (name.split('/')[1] as string) : name);
  const existing = await readdir(dir).catch(() => []);
  if (existing.length > 0) throw new Error(`${dir} exists and is not empty; pick another name or remove it`);
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(scaffoldFiles(name, isolation))) await writeFile(join(dir, file), text);
  return dir;
}
