import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import type { Host } from 'modhost';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ManagementServer, startManagementServer, tasks } from '../test/management-server.js';
import type { ManagementAuditRecord } from './management-types.js';

let server: ManagementServer;
let host: Host;
let audit: ManagementAuditRecord[];
let allowedRoot = '';
let work = '';
const responses: { method: string; path: string; status: number; body: unknown }[] = [];

beforeAll(async () => {
  server = await startManagementServer({ onAnswer: (a) => void responses.push(a) });
  ({ host, audit, work } = server);
  allowedRoot = server.installRoot;
  await host.registry.register(tasks('1.1.0'));
  await host.registry.register(tasks('1.2.0', () => false));
});
afterAll(() => server.close());

const call = (method: string, path: string, token?: string, body?: unknown) => server.call(method, path, token, body);

describe('the management API over a real server (Express)', () => {
  it('lists modules with their registry status; a tenant view; anonymous callers are refused', async () => {
    const list = await call('GET', '/modules', 'viewer-token');
    expect(list.status).toBe(200);
    expect(list.body.modules.map((m: { name: string; status: string }) => `${m.name} ${m.status}`)).toEqual(['reports ENABLED', 'tasks ENABLED']);
    expect((await call('GET', '/modules')).status).toBe(403);
    expect((await call('GET', '/modules?tenant=../x', 'viewer-token')).status).toBe(400);
  });

  it('shows one module: versions, desired version, masked config, instances; 404 for an unknown one', async () => {
    const one = await call('GET', '/modules/tasks', 'viewer-token');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      name: 'tasks',
      version: '1.0.0',
      status: 'ENABLED',
      access: 'host',
      config: { values: { maxTasks: 10, apiKey: '[redacted]' } },
    });
    expect(one.body.versions.map((v: { version: string }) => v.version)).toEqual(['1.0.0', '1.1.0', '1.2.0']);
    expect(JSON.stringify(one.body)).not.toContain('sk-default-secret');
    expect(one.body.instances).toEqual([expect.objectContaining({ version: '1.0.0', state: 'active', alive: true })]);
    const missing = await call('GET', '/modules/ghost', 'viewer-token');
    expect(missing).toMatchObject({ status: 404, body: { code: 'MODULE_NOT_FOUND' }, type: 'application/problem+json' });
  });

  it('roles: viewers read, operators change, a tenant admin changes only its tenant', async () => {
    expect((await call('PUT', '/modules/tasks/status', 'viewer-token', { enabled: true, tenant: 'acme' })).status).toBe(403);
    // Enabling a host-wide module for its first tenant would gate it for everyone else: a host-wide change.
    expect((await call('PUT', '/modules/tasks/status', 'acme-admin', { enabled: true, tenant: 'acme' })).status).toBe(403);
    expect(host.isEnabled('tasks', 'globex')).toBe(true);
    const gated = await call('PUT', '/modules/tasks/status', 'operator-token', { enabled: true, tenant: 'acme' });
    expect(gated.body).toMatchObject({ module: 'tasks', before: { access: 'host', enabled: false }, after: { access: 'tenants', enabled: true } });
    // Gated, its tenants are each admin's own business.
    expect((await call('PUT', '/modules/tasks/status', 'acme-admin', { enabled: false, tenant: 'acme' })).status).toBe(200);
    const own = await call('PUT', '/modules/tasks/status', 'acme-admin', { enabled: true, tenant: 'acme' });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ module: 'tasks', before: { enabled: false }, after: { enabled: true } });
    expect((await call('PUT', '/modules/tasks/status', 'acme-admin', { enabled: true, tenant: 'globex' })).status).toBe(403);
    expect((await call('PUT', '/modules/tasks/status', 'acme-admin', { enabled: false })).status).toBe(403);
    expect((await call('POST', '/modules/tasks/upgrade', 'acme-admin', { version: '1.1.0' })).status).toBe(403);
    // Enabled for acme, tasks is tenant-gated now: host-wide it no longer serves.
    expect((await call('GET', '/modules', 'viewer-token')).body.modules.find((m: { name: string }) => m.name === 'tasks').status).toBe('DISABLED');
    expect((await call('GET', '/modules?tenant=acme', 'acme-admin')).body.modules.find((m: { name: string }) => m.name === 'tasks').status).toBe('ENABLED');
    expect((await call('PUT', '/modules/tasks/status', 'operator-token', { enabled: true })).status).toBe(200);
  });

  it('config: validated by the schema, secrets masked before and after; bad input is 400 with paths', async () => {
    const ok = await call('PUT', '/modules/tasks/config', 'operator-token', { values: { maxTasks: 3, apiKey: 'sk-live-123' }, tenant: 'acme' });
    expect(ok.status).toBe(200);
    expect(ok.body.after).toEqual({ maxTasks: 3, apiKey: '[redacted]' });
    expect(JSON.stringify(ok.body)).not.toContain('sk-live-123');
    const invalid = await call('PUT', '/modules/tasks/config', 'operator-token', { values: { maxTasks: -1 } });
    expect(invalid).toMatchObject({ status: 422, body: { code: 'CONFIG_INVALID' } });
    const shape = await call('PUT', '/modules/tasks/config', 'operator-token', { value: {} });
    expect(shape).toMatchObject({
      status: 400,
      body: { code: 'INVALID_ARGUMENT', issues: expect.arrayContaining([expect.objectContaining({ path: ['values'] })]) },
    });
  });

  it('upgrade and rollback through the health gate; a refused upgrade is 422 and the old version keeps serving', async () => {
    const up = await call('POST', '/modules/tasks/upgrade', 'operator-token', { version: '1.1.0' });
    expect(up).toMatchObject({ status: 200, body: { outcome: 'switched', from: '1.0.0', to: '1.1.0' } });
    const back = await call('POST', '/modules/tasks/rollback', 'operator-token');
    expect(back).toMatchObject({ status: 200, body: { outcome: 'rolled-back', to: '1.0.0' } });
    const broken = await call('POST', '/modules/tasks/upgrade', 'operator-token', { version: '1.2.0' });
    expect(broken.status).toBe(422);
    expect(broken.body.code).toBe('HEALTH_CHECK_FAILED');
    expect((await call('GET', '/modules/tasks', 'viewer-token')).body.version).toBe('1.0.0');
    expect((await call('POST', '/modules/tasks/rollback', 'operator-token')).status).toBe(422);
  });

  it('two changes to one module at once: the second is refused with 409 while the first shows UPDATING', async () => {
    let release: (ok: boolean) => void = () => {};
    const slow = tasks('1.3.0', () => new Promise<boolean>((r) => (release = r)));
    await host.registry.register(slow);
    const upgrade = call('POST', '/modules/tasks/upgrade', 'operator-token', { version: '1.3.0' });
    for (let i = 0; i < 200 && (await call('GET', '/modules/tasks', 'viewer-token')).body.status !== 'UPDATING'; i++) await new Promise((r) => setImmediate(r));
    expect((await call('GET', '/modules/tasks', 'viewer-token')).body.status).toBe('UPDATING');
    const second = await call('PUT', '/modules/tasks/status', 'operator-token', { enabled: true, tenant: 'globex' });
    expect(second).toMatchObject({ status: 409, body: { code: 'ILLEGAL_TRANSITION' } });
    release(true);
    expect((await upgrade).body).toMatchObject({ outcome: 'switched', to: '1.3.0' });
  });

  it('validates a manifest without installing: every problem at its JSON path', async () => {
    const bad = await call('POST', '/modules/validate', 'viewer-token', { manifest: { name: 'Bad Name', version: '1', permissions: [7] } });
    expect(bad.status).toBe(200);
    expect(bad.body.ok).toBe(false);
    expect(bad.body.issues.map((i: { path: unknown[] }) => i.path.join('.'))).toEqual(expect.arrayContaining(['name', 'version', 'permissions.0']));
    expect((await call('POST', '/modules/validate', 'viewer-token', { manifest: { name: 'ok', version: '1.0.0' } })).body).toEqual({ ok: true, issues: [] });
  });

  it('installs from an allowed folder only (admin), and removes with cascade', async () => {
    const dir = join(allowedRoot, 'greeter');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'modhost.json'),
      JSON.stringify({ name: 'greeter', version: '0.1.0', permissions: ['routes:mount'], isolation: 'in-process', routes: [{ method: 'GET', path: '/' }] }),
    );
    writeFileSync(join(dir, 'index.mjs'), 'export default { routes: [{ method: "GET", path: "/", handler: () => ({ body: "hi" }) }] };');
    expect((await call('POST', '/modules', 'operator-token', { path: dir })).status).toBe(403);
    expect((await call('POST', '/modules', 'admin-token', { path: work })).status).toBe(403);
    expect((await call('POST', '/modules', 'admin-token', { path: join(allowedRoot, '..', '..') })).status).toBe(403);
    const installed = await call('POST', '/modules', 'admin-token', { path: dir });
    expect(installed, JSON.stringify(installed.body)).toMatchObject({ status: 201, body: { name: 'greeter', version: '0.1.0', status: 'ENABLED' } });
    expect((await call('DELETE', '/modules/greeter', 'operator-token')).status).toBe(403);
    expect((await call('DELETE', '/modules/greeter', 'admin-token')).body).toEqual({ module: 'greeter', removed: true });
    expect((await call('DELETE', '/modules/tasks', 'admin-token')).body.code).toBe('MODULE_IN_USE');
  });

  it('plan, navigation for the caller, and the audit trail of every change', async () => {
    expect((await call('GET', '/plan', 'viewer-token')).body).toMatchObject({ ok: true });
    const nav = await call('GET', '/ui/navigation', 'acme-admin');
    expect(nav.body.entries.map((e: { label: string }) => e.label)).toEqual(['Reports', 'Tasks', 'Task admin']);
    const viewerNav = await call('GET', '/ui/navigation', 'viewer-token');
    expect(viewerNav.body.entries.map((e: { label: string }) => e.label)).not.toContain('Task admin');
    const trail = await call('GET', '/audit?module=tasks&action=modules.config', 'viewer-token');
    const config = trail.body.records.find((r: ManagementAuditRecord) => r.tenant === 'acme');
    expect(config).toMatchObject({ principal: 'ops', outcome: 'ok', after: { maxTasks: 3, apiKey: '[redacted]' }, requestId: expect.any(String) });
    expect(JSON.stringify(audit)).not.toContain('sk-live-123');
    expect(audit.some((r) => r.action === 'modules.upgrade' && r.outcome === 'failed' && r.error?.code === 'HEALTH_CHECK_FAILED')).toBe(true);
    // Refused attempts are on the record too; a tenant's view of a module names no other tenant.
    expect(audit.some((r) => r.action === 'modules.status' && r.outcome === 'refused' && r.principal === 'eve')).toBe(true);
    expect((await call('GET', '/modules/tasks?tenant=acme', 'acme-admin')).body.tenants).toEqual(['acme']);
    expect((await call('GET', '/audit?limit=abc', 'viewer-token')).status).toBe(400);
  });

  it('applies a config preset the module declares; an unknown one is 400', async () => {
    const ok = await call('PUT', '/modules/tasks/config', 'operator-token', { preset: 'small', tenant: 'globex' });
    expect(ok).toMatchObject({ status: 200, body: { after: { maxTasks: 2 } } });
    expect((await call('PUT', '/modules/tasks/config', 'operator-token', { preset: 'huge' })).body).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await call('PUT', '/modules/tasks/config', 'operator-token', { tenant: 'globex' })).status).toBe(400);
  });

  it('upgrades with canary steps', async () => {
    await host.registry.register(tasks('1.4.0'));
    const up = await call('POST', '/modules/tasks/upgrade', 'operator-token', { version: '1.4.0', canary: { steps: [25, 50], stepMs: 1 } });
    expect(up).toMatchObject({ status: 200, body: { outcome: 'switched', to: '1.4.0' } });
    expect((await call('POST', '/modules/tasks/upgrade', 'operator-token', { version: '1.4.1', canary: { steps: [] } })).status).toBe(400);
  });

  it('moves tenants in bulk: a dry run first, then the real run; admins only', async () => {
    const changes = { tenants: { initech: { modules: ['tasks'] } } };
    expect((await call('POST', '/tenants/apply', 'operator-token', { changes, dryRun: true })).status).toBe(403);
    const dry = await call('POST', '/tenants/apply', 'admin-token', { changes, dryRun: true });
    expect(dry).toMatchObject({
      status: 200,
      body: { ok: true, dryRun: true, changes: [expect.objectContaining({ tenant: 'initech', module: 'tasks', action: 'enable' })] },
    });
    expect(await host.registry.listEnabled('initech')).toEqual([]);
    const real = await call('POST', '/tenants/apply', 'admin-token', { changes });
    expect(real).toMatchObject({ status: 200, body: { ok: true, dryRun: false } });
    expect((await host.registry.listEnabled('initech')).map((e) => e.name)).toEqual(['tasks']);
    expect(audit.some((r) => r.action === 'tenants.apply' && r.outcome === 'ok')).toBe(true);
  });

  it('a failure that is not a ModhostError leaks its text neither to the caller nor to the audit trail', async () => {
    const enable = host.enable;
    (host as { enable: Host['enable'] }).enable = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED postgres://app:hunter2@db:5432'), { code: 'ECONNREFUSED' });
    };
    try {
      const failed = await call('PUT', '/modules/tasks/status', 'operator-token', { enabled: true, tenant: 'acme' });
      expect(failed.status).toBe(500);
      expect(JSON.stringify(failed.body)).not.toContain('hunter2');
      expect(JSON.stringify((await call('GET', '/audit', 'viewer-token')).body)).not.toContain('hunter2');
    } finally {
      (host as { enable: Host['enable'] }).enable = enable;
    }
  });

  it('every response of this suite fits the OpenAPI 3.1 document it serves', async () => {
    const doc = (await call('GET', '/openapi.json')).body as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const checked: string[] = [];
    for (const r of responses) {
      if (r.path === '/openapi.json' || r.body === undefined) continue;
      const paths = Object.keys(doc.paths);
      const path = paths.includes(r.path) ? r.path : paths.find((p) => new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(r.path));
      const op = path ? doc.paths[path]?.[r.method.toLowerCase()] : undefined;
      expect(op, `${r.method} ${r.path} is documented`).toBeDefined();
      const res = op?.responses[String(r.status)];
      expect(res, `${r.method} ${r.path} ${r.status} is documented`).toBeDefined();
      const schema = res?.content?.['application/json']?.schema ?? res?.content?.['application/problem+json']?.schema;
      if (!schema) continue;
      const valid = ajv.validate(schema, r.body);
      expect(valid, `${r.method} ${r.path} ${r.status}: ${ajv.errorsText()}`).toBe(true);
      checked.push(`${r.method} ${r.path} ${r.status}`);
    }
    expect(checked.length).toBeGreaterThan(30);
  });
});
