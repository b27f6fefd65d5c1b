import { isModhostError, ModhostError } from '@modhost/core';
import { assertTenant } from '@modhost/core/internal';
import { parseTenantChanges } from './tenant-changes.js';
import { planTenants } from './tenant-plan.js';
import { createSnapshotStore, restoreSnapshot, type TenantSnapshot } from './tenant-snapshot.js';
import { createTenantWriter, type TenantDeps } from './tenant-state.js';
import type { HostTenants, TenantApplyOptions, TenantApplyReport, TenantChanges, TenantModuleChange, TenantProblem, TenantStep } from './tenant-types.js';

/**
 * `host.tenants`: bulk tenant changes, checked first, applied tenant by tenant after a stored snapshot, and rolled
 * back to it on a failed step or by hand. Runs on one host are queued, so two of them never interleave their steps.
 */
export function createTenantMigration(deps: TenantDeps): HostTenants {
  const { registry } = deps;
  const snapshots = createSnapshotStore(deps.storage, deps.namespace);
  const write = createTenantWriter(deps);
  let last: Promise<unknown> = Promise.resolve();
  const queued = <T>(run: () => Promise<T>): Promise<T> => {
    const next = last.then(run, run);
    last = next.catch(() => {});
    return next;
  };
  const progress = (snapshotId: string) => (tenant: string, done: number, total: number) => deps.emit('tenants:progress', { snapshotId, tenant, done, total });
  // The status is for people reading `snapshots()`; the snapshot itself is what a rollback needs.
  const mark = (id: string, status: TenantSnapshot['status']) => snapshots.setStatus(id, status).catch(() => {});

  const apply = async (changes: TenantChanges, options: TenantApplyOptions): Promise<TenantApplyReport> => {
    const wanted = parseTenantChanges(changes);
    const plan = await planTenants(deps, wanted);
    const todo = plan.tenants.filter((t) => t.steps.length > 0);
    const report = { dryRun: options.dryRun === true, rolledBack: false, progress: { done: 0, total: todo.length } };
    if (report.dryRun || plan.problems.length > 0 || todo.length === 0) {
      const steps = report.dryRun ? todo.flatMap((t) => t.steps.map((s) => s.step)) : [];
      return { ok: plan.problems.length === 0, ...report, changes: steps, problems: plan.problems };
    }

    const snapshot = await snapshots.take(plan, deps.clock.now());
    const applied: TenantStep[] = [];
    const tell = progress(snapshot.id);
    let failure: TenantProblem | undefined;
    let done = 0;
    for (const t of todo) {
      for (const s of t.steps) {
        const { step } = s;
        try {
          if (step.action === 'configure') await write.configure(t.tenant, step.module, s.values ?? {});
          else if (step.action === 'enable') await write.enable(t.tenant, step.module, step.after.range);
          else await write.disable(t.tenant, step.module);
          applied.push(step);
        } catch (e) {
          const code = isModhostError(e) ? e.code : e instanceof Error ? e.name : 'Error';
          const message = `${step.action} ${step.module} for tenant "${t.tenant}" failed: ${e instanceof Error ? e.message : String(e)}`;
          failure = { tenant: t.tenant, module: step.module, path: s.path, code, message };
          break;
        }
      }
      if (failure) break;
      tell(t.tenant, ++done, todo.length);
    }
    const base = { ...report, changes: applied, progress: { done, total: todo.length }, snapshotId: snapshot.id };
    if (!failure) {
      await mark(snapshot.id, 'applied');
      return { ok: true, ...base, problems: [] };
    }
    if (options.onFailure === 'stop') {
      await mark(snapshot.id, 'stopped');
      return { ok: false, ...base, problems: [failure] };
    }
    const undo = await restoreSnapshot(deps, write, snapshot);
    const rolledBack = undo.problems.length === 0;
    await mark(snapshot.id, rolledBack ? 'rolled-back' : 'rollback-failed');
    return { ok: false, ...base, rolledBack, problems: [failure, ...undo.problems] };
  };

  return {
    apply: (changes, options = {}) => queued(() => apply(changes, options)),

    rollback: (snapshotId) =>
      queued(async () => {
        const snapshot = typeof snapshotId === 'string' && snapshotId !== '' ? await snapshots.read(snapshotId) : undefined;
        if (!snapshot)
          throw new ModhostError(
            'INVALID_ARGUMENT',
            `tenants.rollback: there is no tenant snapshot ${JSON.stringify(snapshotId)}; host.tenants.snapshots() lists them`,
            {
              details: { argument: 'snapshotId' },
            },
          );
        const undo = await restoreSnapshot(deps, write, snapshot, progress(snapshot.id));
        const ok = undo.problems.length === 0;
        await mark(snapshot.id, ok ? 'rolled-back' : 'rollback-failed');
        const { changes, problems, done } = undo;
        return { ok, dryRun: false, changes, problems, progress: { done, total: snapshot.tenants.length }, rolledBack: ok, snapshotId: snapshot.id };
      }),

    async export(only) {
      const tenants = only ? [...only] : await registry.listTenants();
      for (const t of tenants) assertTenant(t);
      const names = [...new Set((await registry.list()).map((r) => r.name))];
      const configurable: string[] = [];
      for (const name of names) if ((await registry.getModule(name))?.hasConfig) configurable.push(name);
      const out: Record<string, { modules: Record<string, TenantModuleChange> }> = {};
      for (const tenant of tenants) {
        const modules: Record<string, TenantModuleChange> = {};
        for (const e of await registry.listEnabled(tenant)) modules[e.name] = e.range === undefined ? {} : { range: e.range };
        // A tenant's config layer of a module it does not have enabled is kept too, so the export is the whole state.
        for (const name of configurable) {
          const layer = (await registry.getConfig(name, { tenant })).layers.tenant;
          if (Object.keys(layer).length > 0) modules[name] = { ...(modules[name] ?? { enabled: false }), config: layer };
        }
        out[tenant] = { modules: Object.fromEntries(Object.entries(modules).sort(([a], [b]) => (a < b ? -1 : 1))) };
      }
      return { tenants: out };
    },

    async snapshots() {
      return (await snapshots.list()).map((s) => ({ id: s.id, at: s.at, tenants: s.tenants.map((t) => t.tenant), status: s.status }));
    },
  };
}
