import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '@modhost/cli';
import { fileStorage } from 'modhost';
import { afterAll, describe, expect, it } from 'vitest';
import { type App, prepareModulesDir, startApp } from './app.js';

const work = mkdtempSync(join(tmpdir(), 'modhost-example-'));
let app: App | undefined;
afterAll(async () => {
  await app?.stop();
  rmSync(work, { recursive: true, force: true });
});

// Each tenant's user, by their bearer token (src/auth.ts).
const TOKEN: Record<string, string> = { acme: 'acme-admin', globex: 'globex-member' };
const call = async (path: string, tenant?: string, body?: unknown, token = tenant && TOKEN[tenant]) => {
  const res = await fetch(`${app?.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('the example app', () => {
  it('serves three folder modules to two tenants with different modules and config', async () => {
    app = await startApp({ modulesDir: prepareModulesDir(join(work, 'modules')) });
    const { modules } = await app.host.status();
    expect(modules.map((m) => `${m.name}@${m.version} ${m.state} ${m.isolation}`)).toEqual([
      'notes@0.4.0 active in-process',
      'reports@2.0.0 active sandboxed',
      'tasks@1.0.0 active worker',
    ]);

    expect(await call('/tasks', 'acme', { title: 'a' })).toEqual({ status: 201, body: { count: 1 } });
    expect((await call('/reports/summary', 'acme')).body).toEqual({ tenant: 'acme', openTasks: 1 });
    expect((await call('/reports/summary', 'globex')).status).toBe(404);
    // globex may keep 3 tasks (its config), acme 100.
    for (let i = 0; i < 3; i++) expect((await call('/tasks', 'globex', { title: `g${i}` })).status).toBe(201);
    expect(await call('/tasks', 'globex', { title: 'one too many' })).toEqual({ status: 409, body: { error: 'tenant "globex" may keep 3 tasks' } });
    expect((await call('/notes', 'globex')).body).toEqual({ markdown: false, notes: [] });
    expect((await call('/notes', 'acme')).body).toEqual({ markdown: true, notes: [] });
    // Notes keep each tenant's keys apart (storageScope 'tenant').
    expect((await call('/notes', 'acme', { text: 'for acme' })).status).toBe(201);
    expect((await call('/notes', 'acme')).body).toEqual({ markdown: true, notes: ['for acme'] });
    expect((await call('/notes', 'globex')).body).toEqual({ markdown: false, notes: [] });
  });

  it('answers /livez, /readyz and /metrics, with requests counted per module and route pattern', async () => {
    expect((await fetch(`${app?.url}/livez`)).status).toBe(200);
    const ready = await fetch(`${app?.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', checked: 3 });
    const scrape = await (await fetch(`${app?.url}/metrics`)).text();
    expect(scrape).toMatch(/^modhost_http_requests_total\{module="tasks",route="\/",method="POST",status="201"\} \d+$/m);
    expect(scrape).toMatch(/^modhost_modules\{state="active"\} 3$/m);
  });

  it('takes the tenant and the caller from the bearer token, and lets authorize() decide route permissions', async () => {
    // A header is not a tenant: every module here is tenant-gated, so no tenant reaches none of them.
    const spoofed = await fetch(`${app?.url}/tasks`, { headers: { 'x-tenant': 'acme' } });
    expect(spoofed.status).toBe(404);
    expect((await call('/tasks')).status).toBe(404);
    // acme's viewer may read tasks but not write them, nor read reports (admins only).
    expect((await call('/tasks', 'acme', undefined, 'acme-viewer')).status).toBe(200);
    const denied = await call('/tasks', 'acme', { title: 'nope' }, 'acme-viewer');
    expect(denied).toMatchObject({ status: 403, body: { code: 'PERMISSION_DENIED' } });
    expect((await call('/reports/summary', 'acme', undefined, 'acme-viewer')).status).toBe(403);
    expect((await call('/tasks', 'acme', undefined, 'not-a-token')).status).toBe(404);
    // The tasks route takes JSON only.
    const text = await fetch(`${app?.url}/tasks`, { method: 'POST', headers: { authorization: 'Bearer acme-admin', 'content-type': 'text/plain' }, body: 'x' });
    expect(text.status).toBe(415);
  });

  it("modhost create into the app's modules folder → its own test → validate: installed and served", async () => {
    // The app installed modhost: its node_modules (here, the workspace's) has @modhost/manifest and the CLI.
    symlinkSync(fileURLToPath(new URL('../../../node_modules', import.meta.url)), join(work, 'node_modules'));
    const io = { stdout: () => {}, stderr: () => {}, cwd: work };
    expect(await run(['create', 'greeter', '--dir', 'modules'], io)).toBe(0);
    const dir = join(work, 'modules', 'greeter');
    // The editor's schema is the app's, found from the module folder.
    const { $schema } = JSON.parse(readFileSync(join(dir, 'modhost.json'), 'utf8')) as { $schema: string };
    expect($schema).toBe('../../node_modules/@modhost/manifest/schema.json');
    expect(existsSync(join(dir, $schema))).toBe(true);
    // Its own tests need no install of their own: npm and Node only.
    const tested = spawnSync('npm', ['test'], { cwd: dir, encoding: 'utf8', env: { PATH: dirname(process.execPath), HOME: process.env.HOME ?? work } });
    expect(`${tested.stdout}${tested.stderr}`).toMatch(/# pass 2/);
    expect(tested.status).toBe(0);
    expect(await run(['validate', dir], io)).toBe(0);
    await app?.host.rescan();
    await app?.host.enable('greeter', { tenant: 'acme' });
    expect(await call('/greeter/hello', 'acme')).toEqual({ status: 200, body: { message: 'hello from greeter', visits: 1 } });
    expect((await app?.host.status())?.modules.find((m) => m.name === 'greeter')).toMatchObject({ version: '0.1.0', active: true, isolation: 'worker' });
  });

  it("on the embedded file store, remembers tenants' data across a restart (what npm start does)", async () => {
    await app?.stop();
    const path = join(work, 'state.jsonl');
    const modulesDir = prepareModulesDir(join(work, 'modules-persist'));
    const storage = fileStorage({ path });
    app = await startApp({ modulesDir, storage });
    expect((await call('/tasks', 'acme', { title: 'survives a restart' })).status).toBe(201);
    await app.stop();
    await storage.dispose?.();
    const again = fileStorage({ path });
    app = await startApp({ modulesDir: prepareModulesDir(modulesDir), storage: again });
    expect((await call('/tasks', 'acme')).body).toMatchObject({ tasks: [{ title: 'survives a restart' }] });
    await app.stop();
    app = undefined;
    await again.dispose?.();
  });
});
