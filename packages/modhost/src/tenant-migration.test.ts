import { defineModule, memoryStorage, type StorageAdapter } from '@modhost/core';
import { createFakeClock, silentLogger } from '@modhost/testkit';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createHost, type Host } from './host.js';
import type { TenantChanges } from './tenant-types.js';

const billing = defineModule({
  name: 'billing',
  version: '1.0.0',
  config: {
    schema: z.object({ currency: z.enum(['EUR', 'USD']), apiKey: z.string().startsWith('sk_').optional() }),
    defaults: { currency: 'EUR' },
    sensitive: ['apiKey'],
  },
});
const reports = defineModule({ name: 'reports', version: '1.0.0' });
const notes = (version: string) => defineModule({ name: 'notes', version });

const hosts: Host[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.stop();
});

/** A started host on `storage`, with billing, reports and notes 1 and 2 registered. */
async function started(storage: StorageAdapter = memoryStorage()) {
  const host = createHost({
    version: '1.0.0',
    storage,
    modules: [billing, reports, notes('1.0.0'), notes('2.0.0')],
    clock: createFakeClock({ now: Date.UTC(2025, 0, 2) }),
    logger: silentLogger,
    instanceId: 'web-1',
  });
  hosts.push(host);
  await host.start();
  return host;
}

/** A memory storage whose writes to keys `failOn` matches fail, as a backend that is down for them. */
function flakyStorage(map = new Map<string, string>()) {
  const inner = memoryStorage({ map });
  const control = { failOn: (_key: string) => false };
  const storage: StorageAdapter = {
    ...inner,
    compareAndSet: (key, expected, next) => {
      if (control.failOn(key)) throw new Error('connection reset');
      return inner.compareAndSet(key, expected, next);
    },
  };
  return { storage, control, map };
}

/**
 * Everything a tenant move can change, read back: each tenant's modules and billing config layer (in clear), and
 * whether each module serves requests with no tenant (what its access means to a request).
 */
async function stateOf(host: Host, tenants: readonly string[]) {
  const out: Record<string, unknown> = {};
  for (const tenant of tenants) {
    const config = await host.registry.getConfig('billing', { tenant, reveal: true });
    out[tenant] = {
      enabled: await host.registry.listEnabled(tenant).then((l) => l.map((e) => `${e.name}${e.range ? `@${e.range}` : ''}`)),
      config: config.layers.tenant,
    };
  }
  for (const name of ['billing', 'reports', 'notes']) out[name] = { hostWide: host.isEnabled(name, undefined) };
  return out;
}

describe('host.tenants.apply', () => {
  it('a dry run lists every change and every problem, and writes nothing', async () => {
    const map = new Map<string, string>();
    const host = await started(memoryStorage({ map }));
    await host.enable('reports', { tenant: 'acme' });
    await host.configure('billing', { currency: 'USD', apiKey: 'sk_live_1' }, { tenant: 'acme' });
    const before = new Map(map);
    const changes: TenantChanges = {
      tenants: {
        acme: { modules: { billing: { config: { currency: 'EUR' } }, notes: { range: '^2.0.0' } } },
        globex: { modules: ['reports', 'ghost'] },
        initech: { modules: { notes: { range: '^9.0.0' }, billing: { config: { currency: 'GBP' } } } },
      },
    };
    const report = await host.tenants.apply(changes, { dryRun: true });
    expect(report).toMatchObject({ ok: false, dryRun: true, rolledBack: false, progress: { done: 0, total: 3 } });
    expect(report.snapshotId).toBeUndefined();
    expect(report.changes).toEqual([
      { tenant: 'acme', module: 'reports', action: 'disable', before: { enabled: true }, after: { enabled: false } },
      {
        tenant: 'acme',
        module: 'billing',
        action: 'enable',
        before: { enabled: false },
        after: { enabled: true },
        note: "billing's first tenant: from now on it serves only the tenants it is enabled for, and requests with no tenant no longer reach it",
      },
      {
        tenant: 'acme',
        module: 'notes',
        action: 'enable',
        before: { enabled: false },
        after: { enabled: true, range: '^2.0.0' },
        note: expect.stringContaining("notes's first tenant"),
      },
      // Replace mode: the layer becomes exactly what is given, so the key goes; it reads masked.
      { tenant: 'acme', module: 'billing', action: 'configure', before: { currency: 'USD', apiKey: '[redacted]' }, after: { currency: 'EUR' } },
      { tenant: 'globex', module: 'reports', action: 'enable', before: { enabled: false }, after: { enabled: true } },
      { tenant: 'initech', module: 'billing', action: 'enable', before: { enabled: false }, after: { enabled: true } },
      { tenant: 'initech', module: 'notes', action: 'enable', before: { enabled: false }, after: { enabled: true, range: '^9.0.0' } },
    ]);
    expect(report.problems.map(({ tenant, module, path, code }) => ({ tenant, module, path, code }))).toEqual([
      { tenant: 'globex', module: 'ghost', path: ['tenants', 'globex', 'modules', 1], code: 'MODULE_NOT_FOUND' },
      { tenant: 'initech', module: 'notes', path: ['tenants', 'initech', 'modules', 'notes', 'range'], code: 'DEPENDENCY_UNSATISFIED' },
      { tenant: 'initech', module: 'billing', path: ['tenants', 'initech', 'modules', 'billing', 'config'], code: 'CONFIG_INVALID' },
    ]);
    expect(report.problems[1]?.message).toContain('registered: 1.0.0, 2.0.0');
    expect(JSON.stringify(report)).not.toContain('sk_live_1');
    expect(map).toEqual(before);

    // A real run with problems writes nothing either.
    const real = await host.tenants.apply(changes);
    expect(real).toMatchObject({ ok: false, dryRun: false, changes: [], rolledBack: false });
    expect(real.problems).toHaveLength(3);
    expect(map).toEqual(before);
  });

  it('applies tenant by tenant after a snapshot, reports progress, and the host serves the new state at once', async () => {
    const host = await started();
    await host.enable('notes', { tenant: 'acme' });
    const progress: unknown[] = [];
    host.events.on('tenants:progress', (p) => progress.push(p));
    const report = await host.tenants.apply({
      tenants: {
        acme: { modules: { billing: { config: { currency: 'USD', apiKey: 'sk_acme' } } }, mode: 'merge' },
        globex: { modules: ['reports', 'notes'] },
      },
    });
    expect(report).toMatchObject({ ok: true, dryRun: false, problems: [], rolledBack: false, progress: { done: 2, total: 2 } });
    expect(report.changes.map((c) => `${c.tenant} ${c.action} ${c.module}`)).toEqual([
      'acme enable billing',
      'acme configure billing',
      'globex enable notes',
      'globex enable reports',
    ]);
    expect(JSON.stringify(report)).not.toContain('sk_acme');
    const id = report.snapshotId as string;
    expect(progress).toEqual([
      { snapshotId: id, tenant: 'acme', done: 1, total: 2 },
      { snapshotId: id, tenant: 'globex', done: 2, total: 2 },
    ]);
    expect(await host.tenants.snapshots()).toEqual([{ id, at: Date.UTC(2025, 0, 2), tenants: ['acme', 'globex'], status: 'applied' }]);
    // Merge mode kept acme's notes; the enablement cache serves the change without waiting for a notification.
    expect(await stateOf(host, ['acme', 'globex'])).toMatchObject({
      acme: { enabled: ['billing', 'notes'], config: { currency: 'USD', apiKey: 'sk_acme' } },
      globex: { enabled: ['notes', 'reports'] },
    });
    expect([host.isEnabled('reports', 'globex'), host.isEnabled('reports', 'acme'), host.isEnabled('reports', undefined)]).toEqual([true, false, false]);
    expect((await host.registry.getConfig('billing', { tenant: 'acme' })).values).toEqual({ currency: 'USD', apiKey: '[redacted]' });
  });

  it('a step that fails rolls every tenant back to exactly the state before the run', async () => {
    const { storage, control } = flakyStorage();
    const host = await started(storage);
    await host.enable('reports', { tenant: 't1' });
    await host.configure('billing', { currency: 'USD', apiKey: 'sk_one' }, { tenant: 't1' });
    await host.enable('billing', { tenant: 't2' });
    await host.enable('reports', { tenant: 't3' });
    const tenants = ['t1', 't2', 't3'];
    const before = await stateOf(host, tenants);
    // t3's first step (disabling reports) works; its second (enabling notes) meets a storage failure.
    control.failOn = (key) => key === 'modhost:t:t3:notes';
    const report = await host.tenants.apply({
      tenants: {
        t1: { modules: { billing: { config: { currency: 'EUR' } }, notes: {} } },
        t2: { modules: ['reports'] },
        t3: { modules: ['notes'] },
      },
    });
    expect(report).toMatchObject({ ok: false, rolledBack: true, progress: { done: 2, total: 3 } });
    expect(report.problems).toEqual([
      {
        tenant: 't3',
        module: 'notes',
        path: ['tenants', 't3', 'modules', 0],
        code: 'STORAGE_ADAPTER_FAILED',
        message: expect.stringContaining('connection reset'),
      },
    ]);
    expect(report.changes.map((c) => `${c.tenant} ${c.action} ${c.module}`)).toEqual([
      't1 disable reports',
      't1 enable billing',
      't1 enable notes',
      't1 configure billing',
      't2 disable billing',
      't2 enable reports',
      't3 disable reports',
    ]);
    expect(await stateOf(host, tenants)).toEqual(before);
    expect(before).toMatchObject({ t1: { enabled: ['reports'], config: { currency: 'USD', apiKey: 'sk_one' } }, t3: { enabled: ['reports'] } });
    expect((await host.tenants.snapshots()).map((s) => s.status)).toEqual(['rolled-back']);
    expect([host.isEnabled('reports', 't1'), host.isEnabled('reports', 't2'), host.isEnabled('billing', 't2')]).toEqual([true, false, true]);
  });

  it("onFailure 'stop' keeps what was applied; rollback(snapshotId) undoes it by hand", async () => {
    const { storage, control } = flakyStorage();
    const host = await started(storage);
    await host.enable('reports', { tenant: 't1' });
    await host.enable('reports', { tenant: 't2' });
    const before = await stateOf(host, ['t1', 't2']);
    control.failOn = (key) => key === 'modhost:t:t2:notes';
    const changes: TenantChanges = { tenants: { t1: { modules: ['notes'] }, t2: { modules: ['notes'] } } };
    const report = await host.tenants.apply(changes, { onFailure: 'stop' });
    expect(report).toMatchObject({ ok: false, rolledBack: false, progress: { done: 1, total: 2 }, problems: [{ tenant: 't2', module: 'notes' }] });
    expect(await stateOf(host, ['t1', 't2'])).toMatchObject({ t1: { enabled: ['notes'] }, t2: { enabled: [] } });
    expect((await host.tenants.snapshots()).map((s) => s.status)).toEqual(['stopped']);

    control.failOn = () => false;
    const undo = await host.tenants.rollback(report.snapshotId as string);
    expect(undo).toMatchObject({ ok: true, rolledBack: true, problems: [], progress: { done: 2, total: 2 }, snapshotId: report.snapshotId });
    expect(undo.changes.map((c) => `${c.tenant} ${c.action} ${c.module}`)).toEqual(['t1 disable notes', 't1 enable reports', 't2 enable reports']);
    expect(await stateOf(host, ['t1', 't2'])).toEqual(before);
  });

  it('a rollback that fails too is reported, keeps its snapshot, and can be run again', async () => {
    const { storage, control } = flakyStorage();
    const host = await started(storage);
    await host.enable('reports', { tenant: 't1' });
    const before = await stateOf(host, ['t1', 't2']);
    // t1's notes is written once (the run), then its undo fails; t2's notes fails the run.
    let written = false;
    control.failOn = (key) => {
      if (key === 'modhost:t:t2:notes') return true;
      if (key !== 'modhost:t:t1:notes') return false;
      if (written) return true;
      written = true;
      return false;
    };
    const report = await host.tenants.apply({ tenants: { t1: { modules: ['notes'] }, t2: { modules: ['notes'] } } });
    expect(report).toMatchObject({ ok: false, rolledBack: false });
    expect(report.problems.map((p) => `${p.tenant} ${p.module} ${p.code}`)).toEqual(['t2 notes STORAGE_ADAPTER_FAILED', 't1 notes STORAGE_ADAPTER_FAILED']);
    expect(report.problems[1]?.message).toContain(`restoring snapshot ${report.snapshotId} (notes) failed`);
    expect((await host.tenants.snapshots()).map((s) => s.status)).toEqual(['rollback-failed']);

    control.failOn = () => false;
    expect(await host.tenants.rollback(report.snapshotId as string)).toMatchObject({ ok: true, rolledBack: true });
    expect(await stateOf(host, ['t1', 't2'])).toEqual(before);
    expect((await host.tenants.snapshots()).map((s) => s.status)).toEqual(['rolled-back']);
  });

  it('rolls back by snapshot id after a restart: a new host on the same storage', async () => {
    const map = new Map<string, string>();
    const first = await started(memoryStorage({ map }));
    await first.configure('billing', { currency: 'USD', apiKey: 'sk_kept' }, { tenant: 'acme' });
    await first.enable('billing', { tenant: 'acme' });
    const before = await stateOf(first, ['acme', 'globex']);
    const report = await first.tenants.apply({
      tenants: { acme: { modules: { billing: { config: { currency: 'EUR', apiKey: 'sk_new' } } } }, globex: { modules: ['billing', 'reports'] } },
    });
    expect(report.ok).toBe(true);
    await first.stop();
    hosts.splice(hosts.indexOf(first), 1);

    const again = await started(memoryStorage({ map }));
    expect((await again.tenants.snapshots()).map((s) => [s.id, s.status])).toEqual([[report.snapshotId, 'applied']]);
    const undo = await again.tenants.rollback(report.snapshotId as string);
    expect(undo).toMatchObject({ ok: true, rolledBack: true });
    expect(await stateOf(again, ['acme', 'globex'])).toEqual(before);
    // The layer went back by version: the history shows it, and the secret is back in clear for the module only.
    expect((await again.registry.configHistory('billing', { tenant: 'acme' })).map((v) => [v.version, v.reason])).toEqual([
      [1, 'set'],
      [2, 'set'],
      [3, 'rollback'],
    ]);
    const missing = await again.tenants.rollback('nope').catch((e) => e);
    expect(missing).toMatchObject({ code: 'INVALID_ARGUMENT', details: { argument: 'snapshotId' } });
  });

  it('gives a module back its host-wide access when a rollback takes away the tenant the run gave it', async () => {
    const { storage, control } = flakyStorage();
    const host = await started(storage);
    expect(host.isEnabled('reports', undefined)).toBe(true);
    control.failOn = (key) => key === 'modhost:t:b:notes';
    const report = await host.tenants.apply({ tenants: { a: { modules: ['reports'] }, b: { modules: ['notes'] } } });
    expect(report).toMatchObject({ ok: false, rolledBack: true });
    expect(report.changes[0]).toMatchObject({ tenant: 'a', module: 'reports', action: 'enable', note: expect.stringContaining('first tenant') });
    expect([host.isEnabled('reports', undefined), host.isEnabled('reports', 'a')]).toEqual([true, true]);
    expect(await host.registry.listTenants()).toEqual([]);
  });

  it('refuses malformed changes with every issue and its path, and changes nothing', async () => {
    const host = await started();
    const err = await host.tenants
      .apply({
        tenants: {
          'bad id!': { modules: [] },
          acme: { modules: ['billing', 'billing', 'Not A Name'], mode: 'all', extra: 1 },
          globex: { modules: { billing: { enabled: 'yes', range: 'one', config: [] }, reports: { enabled: false, range: '^1.0.0' } } },
          initech: { modules: 'billing' },
        },
        dryRun: true,
      } as unknown as TenantChanges)
      .catch((e) => e);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('Nothing was changed');
    expect(err.details.issues.map((i: { path: unknown[] }) => i.path.join('.'))).toEqual([
      'dryRun',
      'tenants.bad id!',
      'tenants.acme.extra',
      'tenants.acme.mode',
      'tenants.acme.modules.1',
      'tenants.acme.modules.2',
      'tenants.globex.modules.billing.enabled',
      'tenants.globex.modules.billing.range',
      'tenants.globex.modules.billing.config',
      'tenants.globex.modules.reports.range',
      'tenants.initech.modules',
    ]);
    expect(await host.tenants.snapshots()).toEqual([]);
  });
});

describe('host.tenants.export', () => {
  it('reads every tenant in the shape apply takes, secrets masked; applying it changes nothing', async () => {
    const host = await started();
    await host.registry.enable('notes', { tenant: 'acme', range: '^1.0.0' });
    await host.enable('billing', { tenant: 'acme' });
    await host.configure('billing', { currency: 'USD', apiKey: 'sk_acme' }, { tenant: 'acme' });
    await host.enable('reports', { tenant: 'globex' });
    await host.configure('billing', { currency: 'USD' }, { tenant: 'globex' });
    const exported = await host.tenants.export();
    expect(exported).toEqual({
      tenants: {
        acme: { modules: { billing: { config: { currency: 'USD', apiKey: '[redacted]' } }, notes: { range: '^1.0.0' } } },
        globex: { modules: { billing: { enabled: false, config: { currency: 'USD' } }, reports: {} } },
      },
    });
    expect(await host.tenants.export(['globex', 'nobody'])).toEqual({
      tenants: { globex: exported.tenants.globex, nobody: { modules: {} } },
    });
    const report = await host.tenants.apply(exported);
    expect(report).toEqual({ ok: true, dryRun: false, changes: [], problems: [], progress: { done: 0, total: 0 }, rolledBack: false });
    expect((await host.registry.getConfig('billing', { tenant: 'acme', reveal: true })).layers.tenant).toEqual({ currency: 'USD', apiKey: 'sk_acme' });
    expect(await host.tenants.snapshots()).toEqual([]);
  });

  it('apply(export()) changes nothing, whatever the enablement (property)', async () => {
    const tenantIds = ['t1', 't2', 't3'];
    const moduleState = fc.record({
      enabled: fc.boolean(),
      range: fc.constantFrom(undefined, '^1.0.0', '>=1.0.0', '^2.0.0'),
      config: fc.option(fc.record({ currency: fc.constantFrom('EUR', 'USD'), apiKey: fc.option(fc.constantFrom('sk_a', 'sk_b'), { nil: undefined }) }), {
        nil: undefined,
      }),
    });
    const tenantState = fc.record({ billing: moduleState, reports: moduleState, notes: moduleState });
    await fc.assert(
      fc.asyncProperty(fc.array(tenantState, { minLength: tenantIds.length, maxLength: tenantIds.length }), fc.boolean(), async (states, hostWide) => {
        const host = await started();
        for (const [i, state] of states.entries()) {
          const tenant = tenantIds[i] as string;
          for (const [name, s] of Object.entries(state)) {
            // Ranges only where a registered version satisfies them: billing and reports have 1.0.0 only.
            const range = name === 'notes' || s.range !== '^2.0.0' ? s.range : undefined;
            if (s.enabled) await host.registry.enable(name, { tenant, ...(range ? { range } : {}) });
            if (name === 'billing' && s.config) await host.configure('billing', JSON.parse(JSON.stringify(s.config)), { tenant });
          }
        }
        if (hostWide) await host.enable('reports');
        const before = await stateOf(host, tenantIds);
        const exported = await host.tenants.export();
        const report = await host.tenants.apply(exported);
        expect(report).toMatchObject({ ok: true, changes: [], problems: [] });
        expect(await stateOf(host, tenantIds)).toEqual(before);
        expect(await host.tenants.export()).toEqual(exported);
        await host.stop();
        hosts.splice(hosts.indexOf(host), 1);
      }),
      { numRuns: 40 },
    );
  });
});
