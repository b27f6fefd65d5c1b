import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { defineModule } from '@modhost/core';
import { createRequestListener } from '@modhost/http/node';
import { afterEach, describe, expect, it } from 'vitest';
import { serveHost, tasksModule, testHost } from '../test/folders.js';
import type { Host, HostEvents, HostOptions } from './host.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const setup = (extra: Partial<HostOptions> = {}) => testHost(cleanups, extra);
const serve = (host: Host) => serveHost(cleanups, host);

describe('createHost with a modules folder', () => {
  it('starts every folder that loads, keeps the broken one as a problem with a hint, serves routes over node:http', async () => {
    const { folder, host } = setup();
    const t = tasksModule('1.0.0');
    folder.write('tasks', t.manifest, t.entry);
    folder.write('broken', { name: 'broken', version: 'one' }, 'export default {}');
    // Before start, the plan comes from the folders' manifests: nothing has run yet.
    expect(await host.plan()).toMatchObject({ ok: true, start: [{ name: 'tasks', version: '1.0.0' }], upgrade: [], keep: [] });
    const report = await host.start();
    expect(await host.plan()).toMatchObject({ ok: true, start: [], keep: ['tasks'] });
    expect(report.modules.map((m) => `${m.name} ${m.state}`)).toEqual(['tasks active']);
    const status = await host.status();
    expect(status.modules).toMatchObject([{ name: 'tasks', version: '1.0.0', state: 'active', isolation: 'worker', health: { status: 'ok' } }]);
    expect(status.problems).toMatchObject([{ dir: join(folder.root, 'broken'), code: 'MANIFEST_INVALID', hint: expect.stringContaining('modhost.json') }]);
    expect(status.problems[0]?.message).toContain('version: a version is semver');

    const http = await serve(host);
    expect(await http('/tasks/add', { method: 'POST', body: JSON.stringify({ title: 'write docs' }) })).toEqual({ status: 201, body: { count: 1 } });
    expect(await http('/tasks/list')).toEqual({ status: 200, body: { version: '1.0.0', tasks: ['write docs'] } });
    expect((await http('/nothing')).status).toBe(404);
  });

  it('serves a tenant only the modules enabled for it', async () => {
    const { folder, host } = setup();
    const t = tasksModule('1.0.0', { isolation: 'in-process' });
    folder.write('tasks', t.manifest, t.entry);
    await host.start();
    await host.enable('tasks', { tenant: 'acme' });
    const http = await serve(host);
    expect((await http('/tasks/list', { tenant: 'acme' })).status).toBe(200);
    expect((await http('/tasks/list', { tenant: 'globex' })).status).toBe(404);
    await host.disable('tasks', { tenant: 'acme' });
    expect((await http('/tasks/list', { tenant: 'acme' })).status).toBe(404);
  });

  it('rescan: a new version is hot-swapped, a broken one is refused while the old one serves, a removed folder stops', async () => {
    // One failed probe fails the gate, so the test needs no clock steps while workers start in real time.
    const { folder, host, seen } = setup({ health: { failureThreshold: 1 } });
    folder.write('tasks', tasksModule('1.0.0').manifest, tasksModule('1.0.0').entry);
    await host.start();
    const http = await serve(host);
    await http('/tasks/add', { method: 'POST', body: JSON.stringify({ title: 'kept across versions' }) });

    const v2 = tasksModule('1.1.0');
    folder.write('tasks', v2.manifest, v2.entry);
    expect(await host.plan()).toMatchObject({ ok: true, upgrade: [{ name: 'tasks', from: '1.0.0', to: '1.1.0' }] });
    await host.rescan();
    expect(await http('/tasks/list')).toEqual({ status: 200, body: { version: '1.1.0', tasks: ['kept across versions'] } });

    const bad = tasksModule('1.2.0', { healthy: false });
    folder.write('tasks', bad.manifest, bad.entry);
    await host.rescan();
    expect(seen.find((s) => s.startsWith('module:upgrade-failed'))).toContain('HEALTH_CHECK_FAILED');
    expect((await http('/tasks/list')).body.version).toBe('1.1.0');
    expect((await host.status()).problems).toMatchObject([{ code: 'HEALTH_CHECK_FAILED', message: expect.stringContaining('1.1.0 keeps serving') }]);
    // The same broken version is not retried on the next scan.
    const before = seen.length;
    await host.rescan();
    expect(seen.slice(before).filter((s) => s.startsWith('module:upgrade'))).toEqual([]);

    folder.write(
      'notes',
      { name: 'notes', version: '0.1.0', permissions: ['routes:mount'], routes: [{ method: 'GET', path: '/' }] },
      "export default { routes: [{ method: 'GET', path: '/', handler: () => ({ body: { notes: [] } }) }] }",
    );
    await host.rescan();
    expect(await http('/notes')).toEqual({ status: 200, body: { notes: [] } });

    folder.remove('notes');
    await host.rescan();
    expect((await http('/notes')).status).toBe(404);
    expect(seen.filter((s) => /^module:(installed|upgraded|removed)/.test(s)).map((s) => s.split(' {')[0])).toEqual([
      'module:installed',
      'module:upgraded',
      'module:installed',
      'module:removed',
    ]);
  });

  it('rollback points back at the warm previous version, both in workers', async () => {
    const { folder, host } = setup();
    folder.write('tasks', tasksModule('1.0.0').manifest, tasksModule('1.0.0').entry);
    await host.start();
    folder.write('tasks', tasksModule('2.0.0').manifest, tasksModule('2.0.0').entry);
    await host.rescan();
    const http = await serve(host);
    expect((await http('/tasks/list')).body.version).toBe('2.0.0');
    const report = await host.rollback('tasks');
    expect(report).toMatchObject({ ok: true, outcome: 'rolled-back', to: '1.0.0' });
    expect((await http('/tasks/list')).body.version).toBe('1.0.0');
    expect((await host.status()).modules).toMatchObject([{ name: 'tasks', version: '1.0.0', active: true }]);
  });

  it('a bad manifest or an entry that breaks its contract disturbs nothing that runs', async () => {
    const { folder, host } = setup();
    folder.write('tasks', tasksModule('1.0.0').manifest, tasksModule('1.0.0').entry);
    await host.start();
    folder.write('tasks', { ...tasksModule('1.0.1').manifest, routes: [{ method: 'GET', path: '/list' }] }, tasksModule('1.0.1').entry);
    folder.write('oops', { name: 'oops', version: '1.0.0', __proto__: null, permissions: ['nope'] }, 'export default {}');
    await host.rescan();
    const { modules, problems } = await host.status();
    expect(modules).toMatchObject([{ name: 'tasks', version: '1.0.0', active: true }]);
    expect(problems.map((p) => p.message).join('\n')).toMatch(/the entry handles POST \/add, which modhost.json does not declare/);
    expect(problems.map((p) => p.message).join('\n')).toMatch(/permissions.0: a permission is <domain>:<action>/);
  });

  it('a changed file under the same version is refused (INTEGRITY_MISMATCH) and the running version keeps serving', async () => {
    const { folder, host } = setup();
    const t = tasksModule('1.0.0');
    const dir = folder.write('tasks', t.manifest, t.entry);
    await host.start();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'index.mjs'), t.entry.replace("'1.0.0'", "'evil'"));
    await host.rescan();
    expect((await host.status()).problems).toMatchObject([{ code: 'INTEGRITY_MISMATCH', message: expect.stringContaining('changed: index.mjs') }]);
    expect((await host.status()).modules[0]?.active).toBe(true);
  });

  it('watch: a copied-in module is installed after the debounce, on the injected clock', async () => {
    const { folder, host, clock } = setup({ watch: true, debounceMs: 200 });
    await host.start();
    const installed = new Promise<HostEvents['module:installed']>((r) => host.events.once('module:installed', r));
    const t = tasksModule('1.0.0', { isolation: 'in-process' });
    folder.write('tasks', t.manifest, t.entry);
    // Wait for the file-system event to arm the debounce timer (beside the lease timer), then let the debounce pass.
    const idle = clock.pendingTimers();
    for (let i = 0; i < 10_000 && clock.pendingTimers() === idle; i++) await new Promise((r) => setImmediate(r));
    clock.advance(200);
    expect(await installed).toMatchObject({ name: 'tasks', version: '1.0.0' });
  });

  it('code modules, per-tenant config through the tenant service, uninstall', async () => {
    const notes = defineModule({
      name: 'notes',
      version: '1.0.0',
      permissions: ['routes:mount'],
      config: { schema: (await import('zod')).z.object({ title: (await import('zod')).z.string() }), defaults: { title: 'Notes' } },
      routes: [
        {
          method: 'GET',
          path: '/title',
          handler: async (req, ctx) => ({
            body: { ...(await (ctx.services.tenant as { config(t?: string): Promise<{ title: string }> }).config(req.tenant)), tenant: ctx.tenant ?? null },
          }),
        },
      ],
    });
    const { host } = setup({ modules: [notes] });
    await host.start();
    await host.enable('notes', { tenant: 'acme' });
    await host.configure('notes', { title: 'Acme notes' }, { tenant: 'acme' });
    const http = await serve(host);
    expect((await http('/notes/title', { tenant: 'acme' })).body).toEqual({ title: 'Acme notes', tenant: 'acme' });
    // Enabled for a tenant, it is tenant-gated: a request with no tenant (or another tenant) does not reach it.
    expect((await http('/notes/title')).status).toBe(404);
    expect((await http('/notes/title', { tenant: 'globex' })).status).toBe(404);
    await host.enable('notes');
    expect((await http('/notes/title')).body).toEqual({ title: 'Notes', tenant: null });
    await host.uninstall('notes');
    expect((await host.status()).modules).toEqual([]);
  });

  it('install and upgrade code modules; a failing one is kept with its error, health and hint', async () => {
    const { host, seen } = setup({ health: { failureThreshold: 1 } });
    await host.start();
    const v = (version: string, healthy = true) =>
      defineModule({
        name: 'clock',
        version,
        permissions: ['routes:mount'],
        routes: [{ method: 'GET', path: '/', handler: () => ({ body: { version } }) }],
        health: () => healthy,
      });
    expect(await host.install(v('1.0.0'))).toMatchObject({ name: 'clock', version: '1.0.0', active: true, health: { status: 'ok' } });
    const http = await serve(host);
    await host.install(v('1.1.0'));
    expect((await http('/clock')).body).toEqual({ version: '1.1.0' });
    const back = await host.upgrade('clock', '1.0.0');
    expect(back.outcome).toBe('switched');
    expect(await host.install(defineModule({ name: 'sick', version: '1.0.0', health: () => false }))).toMatchObject({
      active: false,
      state: 'failed',
      health: { status: 'fail' },
      lastError: { code: 'HEALTH_CHECK_FAILED', hint: expect.stringContaining('fix what health() depends on') },
    });
    expect(seen.filter((e) => /^module:(installed|upgraded|failed)/.test(e)).map((e) => e.split(' ')[0])).toEqual([
      'module:installed',
      'module:installed',
      'module:upgraded',
      'module:upgraded',
      'module:installed',
      'module:failed',
    ]);
  });

  it('status shows a worker module that crashed as degraded while it restarts, and ok again after', async () => {
    const { folder, host, clock } = setup();
    folder.write(
      'fragile',
      { name: 'fragile', version: '1.0.0', permissions: ['routes:mount'], routes: [{ method: 'GET', path: '/die' }] },
      "export default { routes: [{ method: 'GET', path: '/die', handler: () => process.exit(7) }] }",
    );
    await host.start();
    const http = await serve(host);
    expect(await http('/fragile/die')).toMatchObject({ status: 503, body: { code: 'MODULE_CRASHED' } });
    expect((await host.status()).modules[0]?.health).toEqual({ status: 'degraded', detail: expect.stringContaining('exit: exited with code 7') });
    expect(host.audit.query({ kind: 'crash', module: 'fragile' })).toHaveLength(1);
    // The restart waits for its backoff on the injected clock.
    await clock.advanceAsync(100);
    for (let i = 0; i < 10_000 && (await host.status()).modules[0]?.health.status !== 'ok'; i++) await new Promise((r) => setImmediate(r));
    expect((await host.status()).modules[0]?.health).toEqual({ status: 'ok' });
  });

  it('a config change reaches a running worker guest: its ctx.config and its reconfigure hook', async () => {
    const { folder, host } = setup();
    folder.write(
      'greeter',
      {
        name: 'greeter',
        version: '1.0.0',
        isolation: 'worker',
        permissions: ['routes:mount'],
        routes: [{ method: 'GET', path: '/' }],
        config: { schema: { type: 'object', properties: { greeting: { type: 'string', default: 'hello' } } } },
      },
      `let told = 'nothing';
export default {
  routes: [{ method: 'GET', path: '/', handler: (req, ctx) => ({ body: { greeting: ctx.config.greeting, told } }) }],
  reconfigure: (config) => { told = config.greeting; },
};`,
    );
    await host.start();
    const http = await serve(host);
    expect((await http('/greeter')).body).toEqual({ greeting: 'hello', told: 'nothing' });
    await host.configure('greeter', { greeting: 'hej' });
    expect((await http('/greeter')).body).toEqual({ greeting: 'hej', told: 'hej' });
  });

  it("never sends a module's error text to the client: a problem document with the request id; framing headers are the server's", async () => {
    const leaky = defineModule({
      name: 'leaky',
      version: '1.0.0',
      permissions: ['routes:mount'],
      routes: [
        {
          method: 'GET',
          path: '/boom',
          handler: () => {
            throw new Error('cannot connect: db password=hunter2');
          },
        },
        { method: 'GET', path: '/forged', handler: () => ({ body: { ok: true }, headers: { 'content-length': '1', connection: 'close', 'x-mine': 'kept' } }) },
      ],
    });
    const logged: string[] = [];
    const { host } = setup({ modules: [leaky] });
    await host.start();
    const server = createServer(createRequestListener(host, { onError: (e, id) => void logged.push(`${id} ${String(e)}`) }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const res = await fetch(`${base}/leaky/boom`, { headers: { 'x-request-id': 'trace-42' } });
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('x-request-id')).toBe('trace-42');
    expect(text).not.toContain('hunter2');
    expect(JSON.parse(text)).toMatchObject({ status: 500, title: 'Internal Server Error', requestId: 'trace-42' });
    expect(logged).toEqual(['trace-42 Error: cannot connect: db password=hunter2']);
    const forged = await fetch(`${base}/leaky/forged`);
    expect(await forged.json()).toEqual({ ok: true });
    expect(forged.headers.get('x-mine')).toBe('kept');
    expect(forged.headers.get('content-length')).not.toBe('1');
    expect((await fetch(`${base}/leaky/boom`, { headers: { 'x-request-id': 'bad id with spaces' } })).headers.get('x-request-id')).toMatch(/^req-/);
  });
});
