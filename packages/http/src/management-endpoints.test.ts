import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineModule, type ModuleDefinition } from '@modhost/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, type ManagementServer, startManagementServer, tasks } from '../test/management-server.js';
import type { ManagementAuditRecord } from './management-types.js';

// One describe per endpoint of docs/management-api.md, each on a host of its own: success, bad input, forbidden and
// (for a change) conflict.

type Fixture = ManagementServer;

/** A fresh host, API and server for one describe (registered with beforeAll/afterAll). */
function fixture(extra: ModuleDefinition[] = []): Fixture {
  const f = {} as { -readonly [K in keyof Fixture]: Fixture[K] };
  beforeAll(async () => {
    Object.assign(f, await startManagementServer({ modules: extra }));
  });
  afterAll(() => f.close());
  return f;
}

type Method = (...args: unknown[]) => Promise<unknown>;

/**
 * Wraps `target[method]` so the next call waits at a gate: `entered` resolves when it is called, `release()` lets it
 * (and every later call) through to the original.
 */
function hold(target: object, method: string) {
  const t = target as Record<string, Method>;
  const original = t[method] as Method;
  let enter: () => void = () => {};
  let open: () => void = () => {};
  const entered = new Promise<void>((r) => (enter = r));
  const opened = new Promise<void>((r) => (open = r));
  t[method] = async (...args: unknown[]) => {
    enter();
    await opened;
    return original.apply(target, args);
  };
  return {
    entered,
    release: () => {
      t[method] = original;
      open();
    },
  };
}

const denied = { status: 403, body: { code: 'PERMISSION_DENIED' } };
const conflict = { status: 409, body: { code: 'ILLEGAL_TRANSITION' } };
const names = (a: Answer) => (a.body.modules as { name: string }[]).map((m) => m.name);
const refusedWith409 = (audit: ManagementAuditRecord[], action: string) =>
  audit.some((r) => r.action === action && r.outcome === 'refused' && r.error?.code === '409');

describe('GET /modules', () => {
  const f = fixture();
  it('success: every module with its status, host-wide and for a tenant', async () => {
    const all = await f.call('GET', '/modules', 'viewer-token');
    expect(all.status).toBe(200);
    expect(all.body.tenant).toBeNull();
    expect(all.body.modules.map((m: { name: string; status: string }) => `${m.name} ${m.status}`)).toEqual(['reports ENABLED', 'tasks ENABLED']);
    const acme = await f.call('GET', '/modules?tenant=acme', 'acme-admin');
    expect(acme).toMatchObject({ status: 200, body: { tenant: 'acme' } });
    expect(names(acme)).toEqual(['reports', 'tasks']);
  });
  it('bad input: an invalid tenant id is 400 TENANT_INVALID', async () => {
    expect(await f.call('GET', '/modules?tenant=../x', 'viewer-token')).toMatchObject({ status: 400, body: { code: 'TENANT_INVALID' } });
  });
  it('pages: ?limit=&after= gives one page and `next`; a limit that is not a whole number from 1 is 400, never a silent other page', async () => {
    const first = await f.call('GET', '/modules?limit=1', 'viewer-token');
    expect(first).toMatchObject({ status: 200, body: { next: 'reports' } });
    expect(names(first)).toEqual(['reports']);
    const second = await f.call('GET', '/modules?limit=1&after=reports', 'viewer-token');
    expect(names(second)).toEqual(['tasks']);
    expect(second.body.next).toBeUndefined();
    // parseInt would read 1e9 as 1 and 2abc as 2; 0, -1 and abc would silently list everything.
    for (const limit of ['1e9', '2abc', '1.5', '0', '-1', 'abc', '', '99999999999'])
      expect(await f.call('GET', `/modules?limit=${limit}`, 'viewer-token'), limit).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT' } });
  });
  it('forbidden: anonymous, a tenant admin host-wide, and a tenant admin for another tenant', async () => {
    expect(await f.call('GET', '/modules')).toMatchObject(denied);
    expect(await f.call('GET', '/modules', 'acme-admin')).toMatchObject(denied);
    expect(await f.call('GET', '/modules?tenant=globex', 'acme-admin')).toMatchObject(denied);
  });
});

describe('GET /modules/:name', () => {
  const f = fixture();
  it('success: versions, access, masked config, instances', async () => {
    const one = await f.call('GET', '/modules/tasks', 'viewer-token');
    expect(one).toMatchObject({
      status: 200,
      body: { name: 'tasks', version: '1.0.0', status: 'ENABLED', access: 'host', config: { values: { maxTasks: 10, apiKey: '[redacted]' } } },
    });
    expect(one.body.versions.map((v: { version: string }) => v.version)).toEqual(['1.0.0']);
    expect(JSON.stringify(one.body)).not.toContain('sk-default-secret');
    expect(one.body.instances).toEqual([expect.objectContaining({ version: '1.0.0', alive: true })]);
    expect(await f.call('GET', '/modules/tasks?tenant=acme', 'acme-admin')).toMatchObject({ status: 200, body: { name: 'tasks' } });
  });
  it('bad input: an unknown module is 404 MODULE_NOT_FOUND, an invalid tenant 400', async () => {
    expect(await f.call('GET', '/modules/ghost', 'viewer-token')).toMatchObject({ status: 404, body: { code: 'MODULE_NOT_FOUND' } });
    expect(await f.call('GET', '/modules/tasks?tenant=a%2Fb', 'viewer-token')).toMatchObject({ status: 400, body: { code: 'TENANT_INVALID' } });
  });
  it("forbidden: anonymous, and a tenant admin asking for another tenant's view", async () => {
    expect(await f.call('GET', '/modules/tasks')).toMatchObject(denied);
    expect(await f.call('GET', '/modules/tasks?tenant=globex', 'acme-admin')).toMatchObject(denied);
  });
});

describe('PUT /modules/:name/status', () => {
  const f = fixture();
  it('success: an operator gates a module to a tenant, then its tenant admin turns it off and on', async () => {
    const gated = await f.call('PUT', '/modules/reports/status', 'operator-token', { enabled: true, tenant: 'acme' });
    expect(gated).toMatchObject({
      status: 200,
      body: { module: 'reports', before: { access: 'host', enabled: false }, after: { access: 'tenants', enabled: true } },
    });
    expect(f.host.isEnabled('reports', 'acme')).toBe(true);
    expect(f.host.isEnabled('reports', 'globex')).toBe(false);
    expect(await f.call('PUT', '/modules/reports/status', 'acme-admin', { enabled: false, tenant: 'acme' })).toMatchObject({
      status: 200,
      body: { after: { enabled: false } },
    });
    expect(f.host.isEnabled('reports', 'acme')).toBe(false);
    expect((await f.call('PUT', '/modules/reports/status', 'acme-admin', { enabled: true, tenant: 'acme' })).status).toBe(200);
    expect(f.host.isEnabled('reports', 'acme')).toBe(true);
  });
  it('bad input: a body that does not fit is 400 with the path; an unknown module 404', async () => {
    const shape = await f.call('PUT', '/modules/reports/status', 'operator-token', { enabled: 'yes' });
    expect(shape).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT', issues: [expect.objectContaining({ path: ['enabled'] })] } });
    expect(await f.call('PUT', '/modules/reports/status', 'operator-token', { enabled: true, tenant: '../x' })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_ARGUMENT' },
    });
    expect(await f.call('PUT', '/modules/ghost/status', 'operator-token', { enabled: false })).toMatchObject({
      status: 404,
      body: { code: 'MODULE_NOT_FOUND' },
    });
  });
  it('forbidden: a viewer, a tenant admin host-wide, and a tenant admin for another tenant', async () => {
    expect(await f.call('PUT', '/modules/tasks/status', 'viewer-token', { enabled: false })).toMatchObject(denied);
    expect(await f.call('PUT', '/modules/tasks/status', 'acme-admin', { enabled: false })).toMatchObject(denied);
    expect(f.host.isEnabled('tasks', undefined)).toBe(true);
    expect(await f.call('PUT', '/modules/reports/status', 'acme-admin', { enabled: true, tenant: 'globex' })).toMatchObject(denied);
    expect(f.host.isEnabled('reports', 'globex')).toBe(false);
  });
  it('conflict: a second change to the module while the first is held is 409', async () => {
    const gate = hold(f.host, 'enable');
    const first = f.call('PUT', '/modules/reports/status', 'operator-token', { enabled: true, tenant: 'globex' });
    try {
      await gate.entered;
      expect(await f.call('PUT', '/modules/reports/status', 'operator-token', { enabled: false, tenant: 'acme' })).toMatchObject(conflict);
      expect(refusedWith409(f.audit, 'modules.status')).toBe(true);
      expect(f.host.isEnabled('reports', 'acme')).toBe(true);
    } finally {
      gate.release();
    }
    expect(await first).toMatchObject({ status: 200, body: { after: { enabled: true } } });
    expect(f.host.isEnabled('reports', 'globex')).toBe(true);
  });
});

describe('PUT /modules/:name/config', () => {
  const f = fixture();
  it("success: values (and a preset) merged into a tenant's layer, masked before and after", async () => {
    const ok = await f.call('PUT', '/modules/tasks/config', 'acme-admin', { values: { maxTasks: 3, apiKey: 'sk-live-123' }, tenant: 'acme' });
    expect(ok).toMatchObject({ status: 200, body: { module: 'tasks', after: { maxTasks: 3, apiKey: '[redacted]' } } });
    expect(JSON.stringify(ok.body)).not.toContain('sk-live-123');
    expect((await f.host.registry.getConfig('tasks', { tenant: 'acme' })).values).toMatchObject({ maxTasks: 3 });
    expect(await f.call('PUT', '/modules/tasks/config', 'operator-token', { preset: 'small' })).toMatchObject({
      status: 200,
      body: { before: { maxTasks: 10 }, after: { maxTasks: 2 } },
    });
  });
  it('bad input: 400 for a body that does not fit or an unknown preset, 422 CONFIG_INVALID, 404 for an unknown module', async () => {
    expect(await f.call('PUT', '/modules/tasks/config', 'operator-token', { value: {} })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_ARGUMENT', issues: expect.arrayContaining([expect.objectContaining({ path: ['values'] })]) },
    });
    expect(await f.call('PUT', '/modules/tasks/config', 'operator-token', { preset: 'huge' })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_ARGUMENT' },
    });
    expect(await f.call('PUT', '/modules/tasks/config', 'operator-token', { values: { maxTasks: -1 } })).toMatchObject({
      status: 422,
      body: { code: 'CONFIG_INVALID' },
    });
    expect((await f.host.registry.getConfig('tasks')).values).toMatchObject({ maxTasks: 2 });
    expect(await f.call('PUT', '/modules/ghost/config', 'operator-token', { values: { a: 1 } })).toMatchObject({
      status: 404,
      body: { code: 'MODULE_NOT_FOUND' },
    });
  });
  it('forbidden: a viewer, a tenant admin host-wide, and a tenant admin for another tenant', async () => {
    expect(await f.call('PUT', '/modules/tasks/config', 'viewer-token', { values: { maxTasks: 7 } })).toMatchObject(denied);
    expect(await f.call('PUT', '/modules/tasks/config', 'acme-admin', { values: { maxTasks: 7 } })).toMatchObject(denied);
    expect(await f.call('PUT', '/modules/tasks/config', 'acme-admin', { values: { maxTasks: 7 }, tenant: 'globex' })).toMatchObject(denied);
    expect((await f.host.registry.getConfig('tasks', { tenant: 'globex' })).values).toMatchObject({ maxTasks: 2 });
  });
  it('conflict: a second config change to the module while the first is held is 409', async () => {
    const gate = hold(f.host, 'configure');
    const first = f.call('PUT', '/modules/tasks/config', 'operator-token', { values: { maxTasks: 5 } });
    try {
      await gate.entered;
      expect(await f.call('PUT', '/modules/tasks/config', 'operator-token', { values: { maxTasks: 6 }, tenant: 'acme' })).toMatchObject(conflict);
      expect(refusedWith409(f.audit, 'modules.config')).toBe(true);
    } finally {
      gate.release();
    }
    expect(await first).toMatchObject({ status: 200, body: { after: { maxTasks: 5 } } });
    expect((await f.host.registry.getConfig('tasks', { tenant: 'acme' })).values).toMatchObject({ maxTasks: 3 });
  });
});

describe('POST /modules/:name/config/rollback', () => {
  const f = fixture();
  it('success: restores an earlier version of the layer', async () => {
    expect((await f.call('PUT', '/modules/tasks/config', 'operator-token', { values: { maxTasks: 4 } })).status).toBe(200);
    expect((await f.call('PUT', '/modules/tasks/config', 'operator-token', { values: { maxTasks: 5 } })).status).toBe(200);
    const first = (await f.host.registry.configHistory('tasks')).find((h) => h.values.maxTasks === 4)?.version;
    expect(first).toBeTypeOf('number');
    const back = await f.call('POST', '/modules/tasks/config/rollback', 'operator-token', { to: first });
    expect(back).toMatchObject({ status: 200, body: { module: 'tasks', before: { maxTasks: 5 }, after: { maxTasks: 4 } } });
    expect((await f.host.registry.getConfig('tasks')).values).toMatchObject({ maxTasks: 4 });
  });
  it('bad input: 400 for a body that does not fit, 404 for a version or a module that does not exist', async () => {
    expect(await f.call('POST', '/modules/tasks/config/rollback', 'operator-token', { to: 'one' })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_ARGUMENT', issues: [expect.objectContaining({ path: ['to'] })] },
    });
    expect(await f.call('POST', '/modules/tasks/config/rollback', 'operator-token', { to: 99 })).toMatchObject({
      status: 404,
      body: { code: 'CONFIG_VERSION_NOT_FOUND' },
    });
    expect(await f.call('POST', '/modules/ghost/config/rollback', 'operator-token', { to: 1 })).toMatchObject({
      status: 404,
      body: { code: 'MODULE_NOT_FOUND' },
    });
  });
  it('forbidden: a viewer, and a tenant admin for another tenant', async () => {
    expect(await f.call('POST', '/modules/tasks/config/rollback', 'viewer-token', { to: 1 })).toMatchObject(denied);
    expect(await f.call('POST', '/modules/tasks/config/rollback', 'acme-admin', { to: 1 })).toMatchObject(denied);
    expect(await f.call('POST', '/modules/tasks/config/rollback', 'acme-admin', { to: 1, tenant: 'globex' })).toMatchObject(denied);
    expect((await f.host.registry.getConfig('tasks')).values).toMatchObject({ maxTasks: 4 });
  });
  it('conflict: a second rollback while the first is held is 409', async () => {
    const gate = hold(f.host, 'configure');
    const first = f.call('POST', '/modules/tasks/config/rollback', 'operator-token', { to: 2 });
    try {
      await gate.entered;
      expect(await f.call('POST', '/modules/tasks/config/rollback', 'operator-token', { to: 1 })).toMatchObject(conflict);
      expect(refusedWith409(f.audit, 'modules.config.rollback')).toBe(true);
    } finally {
      gate.release();
    }
    expect(await first).toMatchObject({ status: 200, body: { after: { maxTasks: 5 } } });
  });
});

/** Registers `tasks@version` whose health gate waits until `release()`, and starts an upgrade to it. */
async function heldUpgrade(f: Fixture, version: string) {
  let open = false;
  let release: (ok: boolean) => void = () => {};
  const gate = new Promise<boolean>((r) => (release = r));
  await f.host.registry.register(tasks(version, () => (open ? true : gate)));
  const upgrade = f.call('POST', '/modules/tasks/upgrade', 'operator-token', { version });
  let status = '';
  for (let i = 0; i < 500 && status !== 'UPDATING'; i++) {
    status = (await f.call('GET', '/modules/tasks', 'viewer-token')).body.status;
    if (status !== 'UPDATING') await new Promise((r) => setImmediate(r));
  }
  expect(status).toBe('UPDATING');
  return {
    upgrade,
    release: () => {
      open = true;
      release(true);
    },
  };
}

describe('POST /modules/:name/upgrade', () => {
  const f = fixture();
  beforeAll(async () => {
    await f.host.registry.register(tasks('1.1.0'));
    await f.host.registry.register(tasks('1.2.0', () => false));
  });
  it('success: hot swap through the health gate', async () => {
    const up = await f.call('POST', '/modules/tasks/upgrade', 'operator-token', { version: '1.1.0' });
    expect(up).toMatchObject({ status: 200, body: { outcome: 'switched', from: '1.0.0', to: '1.1.0' } });
    expect((await f.call('GET', '/modules/tasks', 'viewer-token')).body).toMatchObject({ version: '1.1.0', status: 'ENABLED' });
  });
  it('bad input: 400 without a version, 404 for an unknown module, 422 HEALTH_CHECK_FAILED for an unhealthy one', async () => {
    expect(await f.call('POST', '/modules/tasks/upgrade', 'operator-token', {})).toMatchObject({
      status: 400,
      body: { code: 'INVALID_ARGUMENT', issues: [expect.objectContaining({ path: ['version'] })] },
    });
    expect(await f.call('POST', '/modules/ghost/upgrade', 'operator-token', { version: '1.0.0' })).toMatchObject({
      status: 404,
      body: { code: 'MODULE_NOT_FOUND' },
    });
    expect(await f.call('POST', '/modules/tasks/upgrade', 'operator-token', { version: '1.2.0' })).toMatchObject({
      status: 422,
      body: { code: 'HEALTH_CHECK_FAILED' },
    });
    expect((await f.call('GET', '/modules/tasks', 'viewer-token')).body.version).toBe('1.1.0');
  });
  it('forbidden: a viewer, and a tenant admin (upgrades are host-wide)', async () => {
    expect(await f.call('POST', '/modules/tasks/upgrade', 'viewer-token', { version: '1.0.0' })).toMatchObject(denied);
    expect(await f.call('POST', '/modules/tasks/upgrade', 'acme-admin', { version: '1.0.0' })).toMatchObject(denied);
    expect((await f.call('GET', '/modules/tasks', 'viewer-token')).body.version).toBe('1.1.0');
  });
  it('conflict: a second upgrade while the first waits on its health gate is 409', async () => {
    const held = await heldUpgrade(f, '1.3.0');
    try {
      expect(await f.call('POST', '/modules/tasks/upgrade', 'operator-token', { version: '1.0.0' })).toMatchObject(conflict);
      expect(refusedWith409(f.audit, 'modules.upgrade')).toBe(true);
    } finally {
      held.release();
    }
    expect(await held.upgrade).toMatchObject({ status: 200, body: { outcome: 'switched', to: '1.3.0' } });
  });
  // The answer is built after the change: it says what serves now (this was a bug: it said UPDATING).
  it('success: the answer to a finished upgrade says ENABLED, not UPDATING', async () => {
    await f.host.registry.register(tasks('1.4.0'));
    const up = await f.call('POST', '/modules/tasks/upgrade', 'operator-token', { version: '1.4.0' });
    expect(up).toMatchObject({ status: 200, body: { outcome: 'switched', to: '1.4.0', status: 'ENABLED' } });
  });
});

describe('POST /modules/:name/rollback', () => {
  const f = fixture();
  beforeAll(async () => {
    await f.host.registry.register(tasks('1.1.0'));
    await f.host.registry.register(tasks('1.2.0'));
  });
  it('success: back to the warm previous version', async () => {
    expect((await f.call('POST', '/modules/tasks/upgrade', 'operator-token', { version: '1.1.0' })).status).toBe(200);
    const back = await f.call('POST', '/modules/tasks/rollback', 'operator-token');
    expect(back).toMatchObject({ status: 200, body: { outcome: 'rolled-back', from: '1.1.0', to: '1.0.0' } });
    expect((await f.call('GET', '/modules/tasks', 'viewer-token')).body).toMatchObject({ version: '1.0.0', status: 'ENABLED' });
  });
  it('bad input: 422 with nothing to roll back to, 404 for an unknown module', async () => {
    expect(await f.call('POST', '/modules/tasks/rollback', 'operator-token')).toMatchObject({ status: 422, body: { code: 'ROLLBACK_FAILED' } });
    expect((await f.call('GET', '/modules/tasks', 'viewer-token')).body.version).toBe('1.0.0');
    expect(await f.call('POST', '/modules/ghost/rollback', 'operator-token')).toMatchObject({ status: 404, body: { code: 'MODULE_NOT_FOUND' } });
  });
  it('forbidden: a viewer, and a tenant admin (rollbacks are host-wide)', async () => {
    // A version rolled back from is rejected, so the warm previous version for this and the next case comes from 1.2.0.
    expect((await f.call('POST', '/modules/tasks/upgrade', 'operator-token', { version: '1.2.0' })).status).toBe(200);
    expect(await f.call('POST', '/modules/tasks/rollback', 'viewer-token')).toMatchObject(denied);
    expect(await f.call('POST', '/modules/tasks/rollback', 'acme-admin')).toMatchObject(denied);
    expect((await f.call('GET', '/modules/tasks', 'viewer-token')).body.version).toBe('1.2.0');
  });
  it('conflict: a second rollback while the first is held is 409', async () => {
    const gate = hold(f.host, 'rollback');
    const first = f.call('POST', '/modules/tasks/rollback', 'operator-token');
    try {
      await gate.entered;
      expect((await f.call('GET', '/modules/tasks', 'viewer-token')).body.status).toBe('UPDATING');
      expect(await f.call('POST', '/modules/tasks/rollback', 'operator-token')).toMatchObject(conflict);
      expect(refusedWith409(f.audit, 'modules.rollback')).toBe(true);
    } finally {
      gate.release();
    }
    expect(await first).toMatchObject({ status: 200, body: { outcome: 'rolled-back', from: '1.2.0', to: '1.0.0' } });
  });
  it('success: the answer to a finished rollback says ENABLED, not UPDATING', async () => {
    await f.host.registry.register(tasks('1.3.0'));
    expect((await f.call('POST', '/modules/tasks/upgrade', 'operator-token', { version: '1.3.0' })).status).toBe(200);
    expect(await f.call('POST', '/modules/tasks/rollback', 'operator-token')).toMatchObject({
      status: 200,
      body: { outcome: 'rolled-back', to: '1.0.0', status: 'ENABLED' },
    });
  });
});

describe('DELETE /modules/:name', () => {
  const scratch = defineModule({ name: 'scratch', version: '1.0.0' });
  const scratchUi = defineModule({ name: 'scratch-ui', version: '1.0.0', dependencies: { scratch: '^1.0.0' } });
  const f = fixture([scratch, scratchUi]);
  it('success: removes a module and, with ?cascade=true, what depends on it', async () => {
    expect(names(await f.call('GET', '/modules', 'viewer-token'))).toEqual(['reports', 'scratch', 'scratch-ui', 'tasks']);
    expect(await f.call('DELETE', '/modules/scratch?cascade=true', 'admin-token')).toMatchObject({
      status: 200,
      body: { module: 'scratch', removed: true },
    });
    expect(names(await f.call('GET', '/modules', 'viewer-token'))).toEqual(['reports', 'tasks']);
  });
  it('bad input: 404 for an unknown module, 409 MODULE_IN_USE while others depend on it', async () => {
    expect(await f.call('DELETE', '/modules/ghost', 'admin-token')).toMatchObject({ status: 404, body: { code: 'MODULE_NOT_FOUND' } });
    expect(await f.call('DELETE', '/modules/tasks', 'admin-token')).toMatchObject({ status: 409, body: { code: 'MODULE_IN_USE' } });
    expect(names(await f.call('GET', '/modules', 'viewer-token'))).toEqual(['reports', 'tasks']);
  });
  it('forbidden: an operator, and a tenant admin (removing is host-wide)', async () => {
    expect(await f.call('DELETE', '/modules/reports', 'operator-token')).toMatchObject(denied);
    expect(await f.call('DELETE', '/modules/reports', 'acme-admin')).toMatchObject(denied);
    expect(names(await f.call('GET', '/modules', 'viewer-token'))).toEqual(['reports', 'tasks']);
  });
  it('conflict: a second removal while the first is held is 409, and so is a cascading one', async () => {
    const gate = hold(f.host, 'uninstall');
    const first = f.call('DELETE', '/modules/reports', 'admin-token');
    try {
      await gate.entered;
      expect((await f.call('GET', '/modules/reports', 'viewer-token')).body.status).toBe('REMOVING');
      expect(await f.call('DELETE', '/modules/reports', 'admin-token')).toMatchObject(conflict);
      expect(await f.call('DELETE', '/modules/tasks?cascade=true', 'admin-token')).toMatchObject(conflict);
      expect(refusedWith409(f.audit, 'modules.uninstall')).toBe(true);
    } finally {
      gate.release();
    }
    expect(await first).toMatchObject({ status: 200, body: { module: 'reports', removed: true } });
    expect(names(await f.call('GET', '/modules', 'viewer-token'))).toEqual(['tasks']);
  });
});

describe('POST /modules (folder)', () => {
  const f = fixture();
  const writeModule = (name: string, manifest: Record<string, unknown> = {}) => {
    const dir = join(f.installRoot, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'modhost.json'),
      JSON.stringify({ name, version: '0.1.0', permissions: ['routes:mount'], isolation: 'in-process', routes: [{ method: 'GET', path: '/' }], ...manifest }),
    );
    writeFileSync(join(dir, 'index.mjs'), 'export default { routes: [{ method: "GET", path: "/", handler: () => ({ body: "hi" }) }] };');
    return dir;
  };
  it('success: installs from a folder inside an install root', async () => {
    const installed = await f.call('POST', '/modules', 'admin-token', { path: writeModule('greeter') });
    expect(installed).toMatchObject({ status: 201, body: { name: 'greeter', version: '0.1.0', status: 'ENABLED' } });
    expect(names(await f.call('GET', '/modules', 'viewer-token'))).toContain('greeter');
  });
  it('bad input: 400 without a path, 422 MANIFEST_INVALID for a bad manifest', async () => {
    expect(await f.call('POST', '/modules', 'admin-token', {})).toMatchObject({
      status: 400,
      body: { code: 'INVALID_ARGUMENT', issues: [expect.objectContaining({ path: ['path'] })] },
    });
    expect(await f.call('POST', '/modules', 'admin-token', { path: writeModule('broken', { version: 'one' }) })).toMatchObject({
      status: 422,
      body: { code: 'MANIFEST_INVALID' },
    });
    expect(names(await f.call('GET', '/modules', 'viewer-token'))).not.toContain('broken');
  });
  it('forbidden: an operator, a tenant admin, and a folder outside the install roots', async () => {
    const dir = writeModule('sneaky');
    expect(await f.call('POST', '/modules', 'operator-token', { path: dir })).toMatchObject(denied);
    expect(await f.call('POST', '/modules', 'acme-admin', { path: dir })).toMatchObject(denied);
    expect(await f.call('POST', '/modules', 'admin-token', { path: f.work })).toMatchObject(denied);
    expect(names(await f.call('GET', '/modules', 'viewer-token'))).not.toContain('sneaky');
  });
  it('conflict: an install runs alone: a second install, or another change, while it is held is 409', async () => {
    const gate = hold(f.host, 'install');
    const first = f.call('POST', '/modules', 'admin-token', { path: writeModule('hello') });
    try {
      await gate.entered;
      expect(await f.call('POST', '/modules', 'admin-token', { path: writeModule('other') })).toMatchObject(conflict);
      expect(await f.call('PUT', '/modules/tasks/config', 'operator-token', { values: { maxTasks: 3 } })).toMatchObject(conflict);
      expect(refusedWith409(f.audit, 'modules.install')).toBe(true);
    } finally {
      gate.release();
    }
    expect(await first).toMatchObject({ status: 201, body: { name: 'hello' } });
    expect(names(await f.call('GET', '/modules', 'viewer-token'))).not.toContain('other');
  });
});

describe('POST /modules/validate', () => {
  const f = fixture();
  it('success: ok for a good manifest, every problem at its path for a bad one', async () => {
    expect(await f.call('POST', '/modules/validate', 'viewer-token', { manifest: { name: 'ok', version: '1.0.0' } })).toMatchObject({
      status: 200,
      body: { ok: true, issues: [] },
    });
    const bad = await f.call('POST', '/modules/validate', 'viewer-token', { manifest: { name: 'Bad Name', version: '1', permissions: [7] } });
    expect(bad).toMatchObject({ status: 200, body: { ok: false } });
    expect(bad.body.issues.map((i: { path: unknown[] }) => i.path.join('.'))).toEqual(expect.arrayContaining(['name', 'version', 'permissions.0']));
    expect(names(await f.call('GET', '/modules', 'viewer-token'))).toEqual(['reports', 'tasks']);
  });
  it('bad input: a body without a manifest, or with more, is 400', async () => {
    expect(await f.call('POST', '/modules/validate', 'viewer-token', {})).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT' } });
    expect(await f.call('POST', '/modules/validate', 'viewer-token', { manifest: {}, install: true })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_ARGUMENT' },
    });
  });
  it('forbidden: anonymous', async () => {
    expect(await f.call('POST', '/modules/validate', undefined, { manifest: { name: 'ok', version: '1.0.0' } })).toMatchObject(denied);
  });
});

describe('GET /plan', () => {
  const f = fixture();
  it('success: what starting or rescanning would change', async () => {
    expect(await f.call('GET', '/plan', 'viewer-token')).toMatchObject({ status: 200, body: { ok: true } });
  });
  it('bad input: an invalid tenant id is 400 TENANT_INVALID', async () => {
    expect(await f.call('GET', '/plan?tenant=..', 'viewer-token')).toMatchObject({ status: 400, body: { code: 'TENANT_INVALID' } });
  });
  it('forbidden: anonymous, and a tenant admin (the plan is host-wide)', async () => {
    expect(await f.call('GET', '/plan')).toMatchObject(denied);
    expect(await f.call('GET', '/plan', 'acme-admin')).toMatchObject(denied);
  });
});

describe('GET /audit', () => {
  const f = fixture();
  it("success: the changes made through the API, filtered; a tenant admin sees its tenant's", async () => {
    expect((await f.call('PUT', '/modules/tasks/config', 'operator-token', { values: { maxTasks: 3 }, tenant: 'acme' })).status).toBe(200);
    expect((await f.call('PUT', '/modules/tasks/config', 'operator-token', { values: { maxTasks: 4 }, tenant: 'globex' })).status).toBe(200);
    const trail = await f.call('GET', '/audit?module=tasks&action=modules.config', 'viewer-token');
    expect(trail.status).toBe(200);
    expect(trail.body.records.map((r: ManagementAuditRecord) => `${r.tenant} ${r.principal} ${r.outcome}`)).toEqual(['acme ops ok', 'globex ops ok']);
    const acme = await f.call('GET', '/audit?tenant=acme', 'acme-admin');
    expect(acme.status).toBe(200);
    expect(acme.body.records.map((r: ManagementAuditRecord) => r.tenant)).toEqual(['acme']);
    const limited = await f.call('GET', '/audit?limit=1', 'viewer-token');
    expect(limited.body.records.map((r: ManagementAuditRecord) => r.tenant)).toEqual(['globex']);
  });
  it('bad input: a limit or after that is not a whole number is 400; an invalid tenant 400', async () => {
    expect(await f.call('GET', '/audit?limit=abc', 'viewer-token')).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT' } });
    expect(await f.call('GET', '/audit?after=-1', 'viewer-token')).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT' } });
    expect(await f.call('GET', '/audit?tenant=../x', 'viewer-token')).toMatchObject({ status: 400, body: { code: 'TENANT_INVALID' } });
  });
  it("forbidden: anonymous, a tenant admin host-wide, and a tenant admin for another tenant's records", async () => {
    expect(await f.call('GET', '/audit')).toMatchObject(denied);
    expect(await f.call('GET', '/audit', 'acme-admin')).toMatchObject(denied);
    expect(await f.call('GET', '/audit?tenant=globex', 'acme-admin')).toMatchObject(denied);
  });
});

describe('GET /ui/navigation', () => {
  const f = fixture();
  it('success: entries of the modules serving the caller, permission-gated ones only for those who may see them', async () => {
    const admin = await f.call('GET', '/ui/navigation', 'acme-admin');
    expect(admin.status).toBe(200);
    expect(admin.body.entries.map((e: { label: string }) => e.label)).toEqual(['Reports', 'Tasks', 'Task admin']);
    const viewer = await f.call('GET', '/ui/navigation', 'viewer-token');
    expect(viewer.body.entries.map((e: { label: string }) => e.label)).toEqual(['Reports', 'Tasks']);
  });
  it('bad input: an invalid tenant id is 400 TENANT_INVALID', async () => {
    expect(await f.call('GET', '/ui/navigation?tenant=../x', 'viewer-token')).toMatchObject({ status: 400, body: { code: 'TENANT_INVALID' } });
  });
  it("forbidden: anonymous, and a tenant admin asking for another tenant's navigation", async () => {
    expect(await f.call('GET', '/ui/navigation')).toMatchObject(denied);
    expect(await f.call('GET', '/ui/navigation?tenant=globex', 'acme-admin')).toMatchObject(denied);
  });
});

describe('POST /tenants/apply', () => {
  const f = fixture();
  const changes = { tenants: { initech: { modules: ['tasks'] } } };
  it('success: a dry run changes nothing, the real run enables', async () => {
    const dry = await f.call('POST', '/tenants/apply', 'admin-token', { changes, dryRun: true });
    expect(dry).toMatchObject({
      status: 200,
      body: { ok: true, dryRun: true, changes: [expect.objectContaining({ tenant: 'initech', module: 'tasks', action: 'enable' })] },
    });
    expect(await f.host.registry.listEnabled('initech')).toEqual([]);
    expect(await f.call('POST', '/tenants/apply', 'admin-token', { changes })).toMatchObject({ status: 200, body: { ok: true, dryRun: false } });
    expect((await f.host.registry.listEnabled('initech')).map((e) => e.name)).toEqual(['tasks']);
  });
  it('bad input: 400 without changes, and for changes that are not a tenant map', async () => {
    expect(await f.call('POST', '/tenants/apply', 'admin-token', { dryRun: true })).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT' } });
    expect(await f.call('POST', '/tenants/apply', 'admin-token', { changes: 5 })).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT' } });
    expect(await f.host.registry.listTenants()).toEqual(['initech']);
  });
  it('forbidden: an operator, and a tenant admin', async () => {
    const mine = { tenants: { acme: { modules: ['tasks'] } } };
    expect(await f.call('POST', '/tenants/apply', 'operator-token', { changes: mine })).toMatchObject(denied);
    expect(await f.call('POST', '/tenants/apply', 'acme-admin', { changes: mine })).toMatchObject(denied);
    expect(await f.host.registry.listEnabled('acme')).toEqual([]);
  });
  it('conflict: a bulk change runs alone: a second apply, or a module change, while it is held is 409', async () => {
    const gate = hold(f.host.tenants, 'apply');
    const first = f.call('POST', '/tenants/apply', 'admin-token', { changes: { tenants: { hooli: { modules: ['tasks'] } } } });
    try {
      await gate.entered;
      expect(await f.call('POST', '/tenants/apply', 'admin-token', { changes: { tenants: { acme: { modules: ['tasks'] } } } })).toMatchObject(conflict);
      expect(await f.call('PUT', '/modules/tasks/status', 'operator-token', { enabled: true, tenant: 'acme' })).toMatchObject(conflict);
      expect(refusedWith409(f.audit, 'tenants.apply')).toBe(true);
    } finally {
      gate.release();
    }
    expect(await first).toMatchObject({ status: 200, body: { ok: true } });
    expect((await f.host.registry.listEnabled('hooli')).map((e) => e.name)).toEqual(['tasks']);
    expect(await f.host.registry.listEnabled('acme')).toEqual([]);
  });
});
