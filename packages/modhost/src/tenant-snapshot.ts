import { randomBytes } from 'node:crypto';
import { isModhostError, maskConfig, type StorageAdapter, type TenantEnablement } from '@modhost/core';
import { createStore, KEEP } from '@modhost/core/internal';
import type { AccessBefore, TenantPlan } from './tenant-plan.js';
import { enablementState, type TenantDeps, type TenantWriter, tenantCounts } from './tenant-state.js';
import type { TenantProblem, TenantSnapshotInfo, TenantStep } from './tenant-types.js';

/**
 * What a run changes, as it was before: stored under `<namespace>:tenant-snapshot:<id>` (an envelope of kind
 * `tenant-snapshot`) before the first write, so a rollback works after a crash, a restart or on another instance.
 * It holds no config values (only layer versions), so no secret.
 */
export interface TenantSnapshot {
  readonly id: string;
  readonly at: number;
  readonly status: TenantSnapshotInfo['status'];
  readonly tenants: readonly {
    readonly tenant: string;
    /** Every module the tenant had enabled, with its range. */
    readonly enabled: readonly { readonly name: string; readonly range?: string }[];
    /** The version of the tenant's config layer of each module the run configures (0: never set). */
    readonly config: Readonly<Record<string, number>>;
  }[];
  /** For each module whose enablement the run changes: who it served. */
  readonly access: Readonly<Record<string, AccessBefore>>;
}

const KIND = 'tenant-snapshot';

/** Snapshots in the host's storage, through core's storage helper (adapter errors arrive as `STORAGE_ADAPTER_FAILED`). */
export function createSnapshotStore(storage: StorageAdapter, namespace: string) {
  const store = createStore(storage, { namespace, owner: { label: 'tenant snapshot' } });
  const key = (id: string) => store.key(KIND, id);
  return {
    /** Stores the state `plan` is about to change, under a new id: time first, so ids sort by age. */
    async take(plan: TenantPlan, at: number): Promise<TenantSnapshot> {
      const id = `${new Date(at).toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`;
      const snapshot: TenantSnapshot = {
        id,
        at,
        status: 'applying',
        tenants: plan.tenants
          .filter((t) => t.steps.length > 0)
          .map((t) => ({
            tenant: t.tenant,
            enabled: t.enabled.map((e) => ({ name: e.name, ...(e.range === undefined ? {} : { range: e.range }) })),
            config: t.configVersions,
          })),
        access: plan.access,
      };
      await store.write(key(id), KIND, snapshot);
      return snapshot;
    },
    read: (id: string) => store.read<TenantSnapshot>(key(id), KIND),
    async setStatus(id: string, status: TenantSnapshot['status']) {
      await store.update<TenantSnapshot>(key(id), KIND, (cur) => (cur ? { ...cur, status } : KEEP));
    },
    async list(): Promise<TenantSnapshot[]> {
      const all = await Promise.all((await store.keys(KIND)).map((k) => store.read<TenantSnapshot>(k, KIND)));
      return all.filter((s): s is TenantSnapshot => s !== undefined).sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
    },
  };
}

/** What a restore changed, what it could not, and which tenants it finished. */
interface RestoreOutcome {
  readonly changes: TenantStep[];
  readonly problems: TenantProblem[];
  readonly done: number;
}

/**
 * Puts every tenant of `snapshot` back: its enabled modules and ranges, its config layers (by version), and who each
 * module serves. Only what differs is written, so a restore can be repeated. Best effort: a step that fails is a
 * problem and the others still run. `onTenant` is told after each tenant.
 */
export async function restoreSnapshot(
  deps: Pick<TenantDeps, 'registry'>,
  write: TenantWriter,
  snapshot: TenantSnapshot,
  onTenant: (tenant: string, done: number, total: number) => void = () => {},
): Promise<RestoreOutcome> {
  const { registry } = deps;
  const changes: TenantStep[] = [];
  const problems: TenantProblem[] = [];
  let done = 0;
  const attempt = async (tenant: string, module: string | undefined, fn: () => Promise<TenantStep | undefined>) => {
    try {
      const step = await fn();
      if (step) changes.push(step);
      return true;
    } catch (e) {
      const code = isModhostError(e) ? e.code : 'ROLLBACK_FAILED';
      const message = `restoring snapshot ${snapshot.id}${module ? ` (${module})` : ''} failed: ${e instanceof Error ? e.message : String(e)}`;
      problems.push({ tenant, ...(module ? { module } : {}), path: [], code, message });
      return false;
    }
  };

  for (const t of snapshot.tenants) {
    const { tenant } = t;
    let failed = false;
    const track = async (module: string | undefined, fn: () => Promise<TenantStep | undefined>) => {
      if (!(await attempt(tenant, module, fn))) failed = true;
    };
    let now = new Map<string, TenantEnablement>();
    await track(undefined, async () => {
      now = new Map((await registry.listEnabled(tenant)).map((e) => [e.name, e]));
      return undefined;
    });
    const want = new Map(t.enabled.map((e) => [e.name, e]));
    for (const [name, cur] of failed ? [] : now) {
      if (!want.has(name))
        await track(name, async () => {
          await write.disable(tenant, name);
          return { tenant, module: name, action: 'disable', before: enablementState(cur), after: { enabled: false } };
        });
    }
    for (const [name, w] of failed ? [] : want) {
      const cur = now.get(name);
      if (!cur || cur.range !== w.range)
        await track(name, async () => {
          await write.enable(tenant, name, w.range);
          return { tenant, module: name, action: 'enable', before: enablementState(cur), after: enablementState(w) };
        });
    }
    for (const [name, version] of Object.entries(t.config)) {
      await track(name, async () => {
        const cur = await registry.getConfig(name, { tenant });
        if (cur.versions.tenant === version) return undefined;
        const restored = await write.rollbackConfig(tenant, name, version);
        const sensitive = (await registry.getModule(name))?.sensitive ?? [];
        return { tenant, module: name, action: 'configure', before: cur.layers.tenant, after: maskConfig(restored.values, sensitive) };
      });
    }
    if (!failed) done++;
    onTenant(tenant, done, snapshot.tenants.length);
  }

  // Who each module serves: a module host-wide until its first tenant (access unset) is made host-wide again when
  // the restore left it with no tenant; otherwise a module gated by the run would serve nobody.
  let counts: Map<string, number> | undefined;
  for (const [name, before] of Object.entries(snapshot.access)) {
    // Reported with the first tenant: a problem always names one, and any of them needs this.
    await attempt(snapshot.tenants[0]?.tenant ?? '', name, async () => {
      counts ??= await tenantCounts(registry);
      const now = (await registry.getModule(name))?.access;
      const want = before.access ?? (!before.hadTenants && now === 'tenants' && !counts.get(name) ? 'host' : undefined);
      if (want !== undefined && now !== want) await write.setAccess(name, want);
      return undefined;
    });
  }
  return { changes, problems, done };
}
