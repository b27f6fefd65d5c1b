import { defineModule } from '@modhost/core';
import Ajv2020 from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ASSETS } from './admin-assets.js';
import { type AdminServer, startAdminServer } from './admin-harness.js';

let s: AdminServer;
beforeAll(async () => {
  s = await startAdminServer();
});
afterAll(() => s.close());

const get = (path: string, token?: string, headers: Record<string, string> = {}) =>
  fetch(`${s.url}/admin${path}`, { headers: { ...(token ? { cookie: `token=${token}` } : {}), ...headers } });
const send = (method: string, path: string, token: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${s.url}/admin${path}`, { method, headers: { cookie: `token=${token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('the admin console over HTTP', () => {
  it('serves the page and its hashed assets with a CSP that allows no inline script or style', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    expect(html).toContain('<base href="/admin/" />');
    expect(html).not.toMatch(/<script>|<style|style="/);
    const js = await get(`/assets/${ADMIN_ASSETS.jsName}`);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    expect(js.headers.get('cache-control')).toContain('immutable');
    // No code from elsewhere: no absolute URL to another origin in the bundle's imports.
    expect(await js.text()).not.toMatch(/import\s*["']https?:/);
    expect((await get('/nothing-here')).status).toBe(404);
  });

  it('the bundled assets are fresh (src/admin-assets.ts is what console/build.mjs makes of console/*)', async () => {
    const build = (await import(/* @vite-ignore */ new URL('../console/build.mjs', import.meta.url).href)) as {
      bundleConsole(): Promise<Record<string, string>>;
    };
    const fresh = await build.bundleConsole();
    expect({ js: fresh.jsName, css: fresh.cssName }, 'src/admin-assets.ts is stale: run `npm run build -w @modhost/http`').toEqual({
      js: ADMIN_ASSETS.jsName,
      css: ADMIN_ASSETS.cssName,
    });
  });

  it('the session says what the caller may do, as the API decides it', async () => {
    expect(await (await get('/session', 'viewer')).json()).toMatchObject({
      signedIn: true,
      principal: 'eve',
      host: { viewer: true, operator: false, admin: false },
    });
    expect(await (await get('/session', 'operator')).json()).toMatchObject({ host: { viewer: true, operator: true, admin: false } });
    expect(await (await get('/session')).json()).toMatchObject({ signedIn: false, host: { viewer: false } });
  });

  it('CSRF: a changing call needs the console header and a same-origin request', async () => {
    const body = { values: { maxTasks: 4 }, tenant: 'globex' };
    const bare = await send('PUT', '/api/modules/tasks/config', 'operator', body);
    expect(bare.status).toBe(403);
    expect((await bare.json()).detail).toContain('x-modhost-csrf');
    const crossSite = await send('PUT', '/api/modules/tasks/config', 'operator', body, { 'x-modhost-csrf': '1', origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    const fetchSite = await send('PUT', '/api/modules/tasks/config', 'operator', body, { 'x-modhost-csrf': '1', 'sec-fetch-site': 'cross-site' });
    expect(fetchSite.status).toBe(403);
    const ok = await send('PUT', '/api/modules/tasks/config', 'operator', body, { 'x-modhost-csrf': '1', origin: s.url, 'sec-fetch-site': 'same-origin' });
    expect(ok.status).toBe(200);
    expect((await s.host.registry.getConfig('tasks', { tenant: 'globex' })).values.maxTasks).toBe(4);
    // Reads need no header; roles still apply.
    expect((await get('/api/modules', 'viewer')).status).toBe(200);
    expect((await get('/api/modules')).status).toBe(403);
    const viewerChange = await send('PUT', '/api/modules/tasks/config', 'viewer', body, { 'x-modhost-csrf': '1' });
    expect(viewerChange.status).toBe(403);
  });

  it('the live stream: ready with a cursor, then the host events after it; viewers only', async () => {
    expect((await get('/events')).status).toBe(403);
    const first = await get('/events', 'viewer');
    expect(first.headers.get('content-type')).toContain('text/event-stream');
    const cursor = /id: (\d+)/.exec(await first.text())?.[1] as string;
    const next = get('/events', 'viewer', { 'last-event-id': cursor });
    await s.host.configure('tasks', { maxTasks: 6 }, { tenant: 'acme' });
    const text = await (await next).text();
    expect(text).toContain('event: host');
    expect(text).toContain('"type":"config:changed"');
    // Config values never travel in the stream.
    expect(text).not.toContain('maxTasks');
  });

  it("the live stream: a tenant's viewer gets its own tenant's events and host-wide ones, never another tenant's", async () => {
    const cursor = /id: (\d+)/.exec(await (await get('/events', 'acmeviewer')).text())?.[1] as string;
    await s.host.configure('tasks', { maxTasks: 7 }, { tenant: 'globex' });
    await s.host.disable('reports', { tenant: 'globex' });
    await s.host.configure('tasks', { maxTasks: 8 }, { tenant: 'acme' });
    const acme = await (await get('/events', 'acmeviewer', { 'last-event-id': cursor })).text();
    expect(acme).toContain('"tenant":"acme"');
    expect(acme).not.toContain('globex');
    const all = await (await get('/events', 'viewer', { 'last-event-id': cursor })).text();
    expect(all).toContain('globex');
    await s.host.enable('reports', { tenant: 'globex' });
  });

  it("the live stream: a tenant's viewer gets host-wide events without their text (a module's error), a host-wide viewer with it", async () => {
    const cursor = /id: (\d+)/.exec(await (await get('/events', 'acmeviewer')).text())?.[1] as string;
    const secret = 'connect ECONNREFUSED postgres://modhost:s3cret@db.internal';
    const leaky = defineModule({
      name: 'leaky',
      version: '1.0.0',
      activate: () => {
        throw new Error(secret);
      },
    });
    await s.host.install(leaky).catch(() => undefined);
    const acme = await (await get('/events', 'acmeviewer', { 'last-event-id': cursor })).text();
    const all = await (await get('/events', 'viewer', { 'last-event-id': cursor })).text();
    expect(acme).toContain('"name":"leaky"');
    expect(acme).not.toContain('s3cret');
    expect(all).toContain('s3cret');
    await s.host.uninstall('leaky');
  });

  it('the read-only endpoints the console adds to the management API fit their OpenAPI schemas', async () => {
    const doc = (await (await get('/api/openapi.json')).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: object }> }> }>>;
    };
    const ajv = new Ajv2020({ strict: false });
    for (const [path, api] of [
      ['/modules/{name}/inspect', '/api/modules/reports/inspect'],
      ['/graph', '/api/graph'],
      ['/tenants', '/api/tenants'],
    ] as const) {
      const schema = doc.paths[path]?.get?.responses['200']?.content['application/json']?.schema;
      expect(schema, path).toBeDefined();
      const body = await (await get(api, 'viewer')).json();
      expect(ajv.validate(schema as object, body), `${path}: ${ajv.errorsText()}`).toBe(true);
    }
    const inspect = await (await get('/api/modules/reports/inspect', 'viewer')).json();
    expect(inspect).toMatchObject({
      dependencies: { tasks: '^1.0.0' },
      routes: [{ method: 'GET', path: '/summary' }],
      jobs: [{ name: 'nightly', schedule: '0 3 * * *' }],
      migrations: { declared: [{ name: '001-create-reports', reversible: true }] },
      permissions: { requested: 2, granted: 1, denied: 1 },
    });
    const tasks = await (await get('/api/modules/tasks/inspect', 'viewer')).json();
    expect(tasks.config.schema.properties).toHaveProperty('maxTasks');
    expect(tasks.config.sensitive).toEqual(['apiKey']);
    expect(JSON.stringify(tasks)).not.toContain('sk-default-secret');
    const graph = await (await get('/api/graph', 'viewer')).json();
    expect(graph.waves).toEqual([['evil', 'tasks'], ['reports']]);
    expect(graph.nodes.find((n: { name: string }) => n.name === 'evil')).toMatchObject({ state: 'failed', status: 'FAILED' });
    const tenants = await (await get('/api/tenants', 'viewer')).json();
    expect(tenants.tenants.map((t: { tenant: string }) => t.tenant)).toEqual(['acme', 'globex']);
  });
});
