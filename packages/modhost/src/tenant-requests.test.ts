import { afterEach, describe, expect, it } from 'vitest';
import { serveHost, testHost } from '../test/folders.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A folder module whose ctx calls cross from its guest: it reports the ctx a tenant's request got. */
const ledger = {
  manifest: {
    name: 'ledger',
    version: '1.0.0',
    permissions: ['routes:mount', 'storage:module'],
    config: { schema: { type: 'object', properties: { currency: { type: 'string', default: 'EUR' } } } },
    routes: [
      { method: 'GET', path: '/' },
      { method: 'POST', path: '/' },
    ],
  },
  entry: `export default {
  storageScope: 'tenant',
  routes: [
    { method: 'GET', path: '/', handler: async (req, ctx) => ({ body: { tenant: ctx.tenant ?? null, reqTenant: req.tenant ?? null, currency: ctx.config.currency, keys: await ctx.storage.keys() } }) },
    { method: 'POST', path: '/', handler: async (req, ctx) => { await ctx.storage.set(String(req.body.key), 1); return { status: 201, body: {} }; } },
  ],
};
`,
};

describe.each(['worker', 'process', 'in-process'])('a tenant request to a %s module', (isolation) => {
  it("gets a ctx bound to its tenant: that tenant's config, storage and grants", async () => {
    const { host, folder } = testHost(cleanups, { minimumIsolation: 'in-process', defaultIsolation: isolation as 'worker' });
    folder.write('ledger', ledger.manifest, ledger.entry);
    await host.start();
    await host.configure('ledger', { currency: 'USD' }, { tenant: 'acme' });
    const http = await serveHost(cleanups, host);
    expect((await http('/ledger', { method: 'POST', tenant: 'acme', body: JSON.stringify({ key: 'a1' }) })).status).toBe(201);
    expect((await http('/ledger', { method: 'POST', tenant: 'globex', body: JSON.stringify({ key: 'g1' }) })).status).toBe(201);
    expect((await http('/ledger', { tenant: 'acme' })).body).toEqual({ tenant: 'acme', reqTenant: 'acme', currency: 'USD', keys: ['a1'] });
    expect((await http('/ledger', { tenant: 'globex' })).body).toEqual({ tenant: 'globex', reqTenant: 'globex', currency: 'EUR', keys: ['g1'] });
    expect((await http('/ledger')).body).toEqual({ tenant: null, reqTenant: null, currency: 'EUR', keys: [] });
    // Revoked for acme only: acme's requests are denied where they use storage, globex's are not.
    host.sandbox.grants.revoke('ledger', 'storage:module', { tenant: 'acme' });
    expect(await http('/ledger', { tenant: 'acme' })).toMatchObject({ status: 403, body: { code: 'PERMISSION_DENIED' } });
    expect((await http('/ledger', { tenant: 'globex' })).status).toBe(200);
  });
});
