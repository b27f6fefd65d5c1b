import type { Activator, UpgradeOptions, UpgradeReport } from '@modhost/activation';
import type { Clock, Registry, StorageAdapter, TimerHandle } from '@modhost/core';
import type { FleetInstance, HostEvents } from './host-types.js';
import type { ModuleCatalog } from './module-catalog.js';

/** What {@link createInstanceSync} works with. */
export interface InstanceSyncOptions {
  readonly registry: Registry;
  readonly storage: StorageAdapter;
  readonly namespace: string;
  readonly clock: Clock;
  readonly leaseMs: number;
  readonly activator: Pick<Activator, 'versionOf' | 'active' | 'reconfigure' | 'deactivate'>;
  readonly catalog: ModuleCatalog;
  readonly swap: (name: string, version: string, options?: UpgradeOptions) => Promise<UpgradeReport>;
  readonly emit: <K extends keyof HostEvents>(event: K, payload: HostEvents[K]) => void;
  /** How long a stopped or expired instance stays in the fleet view before it is forgotten, ms. */
  readonly forgetAfterMs: number;
  /** This instance's health of each module it serves, published with its lease for the fleet view. */
  readonly health: () => Promise<Record<string, string>>;
}

/**
 * One host instance among others on a shared storage: its lease, the tenant-enablement cache every request reads,
 * and convergence on the desired state. Other instances' changes arrive through the storage's `watch` (a hint) and
 * through a full re-read each lease period (so a lost notification delays convergence, never loses it).
 */
export function createInstanceSync(options: InstanceSyncOptions) {
  const { registry, clock, activator, catalog } = options;
  // Which tenants each module serves: a read-through cache of the registry's enablement, read on every request.
  const enabled = new Map<string, Set<string>>();
  // Who each module serves (its record's `access`): `host`, `tenants`, or unset.
  const access = new Map<string, 'host' | 'tenants'>();
  const readAccess = async (name: string) => {
    const a = (await registry.getModule(name))?.access;
    if (a) access.set(name, a);
    else access.delete(name);
  };
  let timer: TimerHandle | undefined;
  let unwatch: (() => unknown) | undefined;
  let stopped = true;
  let syncing: Promise<void> = Promise.resolve();
  // Desired versions this instance cannot load, already reported: reported again only when they change.
  const missing = new Map<string, string>();
  // Desired versions that failed their gate here: not retried every period.
  const refused = new Map<string, string>();

  const readEnablement = async () => {
    const next = new Map<string, Set<string>>();
    for (const tenant of await registry.listTenants()) {
      for (const e of await registry.listEnabled(tenant)) next.set(e.name, (next.get(e.name) ?? new Set<string>()).add(tenant));
    }
    enabled.clear();
    for (const [k, v] of next) enabled.set(k, v);
    for (const name of new Set((await registry.list()).map((r) => r.name))) await readAccess(name);
  };

  /** One tenant's enablement, re-read after another instance changed it. */
  const readTenant = async (tenant: string) => {
    const now = new Set((await registry.listEnabled(tenant)).map((e) => e.name));
    for (const [name, tenants] of enabled) if (!now.has(name)) tenants.delete(tenant);
    for (const name of now) enabled.set(name, (enabled.get(name) ?? new Set<string>()).add(tenant));
  };

  /** Serves the desired version of a running module (another instance upgraded or rolled back). */
  const followModule = async (name: string) => {
    await readAccess(name);
    const now = activator.versionOf(name);
    if (now === undefined) return;
    const record = await registry.getModule(name);
    if (!record?.versions.includes(now)) {
      // Uninstalled on another instance: it stops here too (with what depends on it), and is forgotten.
      await activator.deactivate([name], { cascade: true });
      catalog.forget(name);
      // Its versions are gone from the registry, so their stop could not be recorded: drop what this instance observed.
      await registry.forgetObserved(name);
      options.emit('module:removed', { name, version: now });
      return;
    }
    const want = record?.desiredVersion;
    if (!want || want === now || record.rejected.some((r) => r.version === want)) return;
    if (!catalog.has(name, want)) {
      // Another instance runs a version whose code this one does not have (its folder is missing here): say so once.
      if (missing.get(name) !== want) {
        missing.set(name, want);
        options.emit('module:upgrade-failed', {
          name,
          from: now,
          to: want,
          code: 'VERSION_UNAVAILABLE',
          message: `${name}@${want} is the desired version, but its code is not loaded on this instance (is its folder missing here?); ${now} keeps serving`,
        });
      }
      return;
    }
    missing.delete(name);
    if (refused.get(name) === want) return;
    // Following, not deciding: a failure here is this instance's, and must not reject the version fleet-wide. It is
    // tried again only when the desired version changes (or at the next start), not every period.
    const report = await options.swap(name, want, { rejectOnFailure: false });
    if (report.outcome === 'switched' || report.outcome === 'unchanged') refused.delete(name);
    else refused.set(name, want);
  };

  /** Runs one step of convergence after the previous one; a failure is reported and the next period retries. */
  const queue = (what: string, step: () => Promise<void>) => {
    syncing = syncing.then(async () => {
      if (stopped) return;
      try {
        await step();
      } catch (e) {
        // The storage may be down: modules keep serving; the next period re-reads everything.
        options.emit('watch:error', { message: `${what} failed: ${e instanceof Error ? e.message : String(e)}` });
      }
    });
    return syncing;
  };
  /** Hands a running module its current config (changed here or on another instance). */
  const reconfigure = async (name: string) => {
    const r = await activator.reconfigure(name);
    if (r.outcome === 'applied') options.emit('module:reconfigured', { name, ...(r.hookError ? { hookError: r.hookError } : {}) });
    else if (r.outcome === 'refused')
      options.emit('watch:error', { message: `${name}: its new config does not pass its schema, so it keeps the previous values` });
  };
  const reconcile = () =>
    queue('re-reading the desired state', async () => {
      await readEnablement();
      for (const name of [...activator.active]) {
        await followModule(name);
        await reconfigure(name);
      }
    });
  const prefix = `${encodeURIComponent(options.namespace)}:`;
  /** A watch notification names the key that changed: re-read just that (the periodic re-read covers the rest). */
  const onChange = (key: string) => {
    const [area, first] = key.slice(prefix.length).split(':').map(decodeURIComponent);
    if (area === 't' && first !== undefined) void queue(`re-reading tenant ${first}`, () => readTenant(first));
    else if (area === 'c' && first !== undefined) void queue(`reconfiguring ${first}`, () => reconfigure(first));
    else if (area === 'm' && first !== undefined) void queue(`following ${first}`, () => followModule(first));
    else void reconcile();
  };

  const renew = async () => {
    try {
      await registry.renewLease(options.leaseMs, { health: await options.health() });
    } catch (e) {
      options.emit('watch:error', { message: `renewing this instance's lease failed: ${e instanceof Error ? e.message : String(e)}` });
    }
  };
  const tick = () => {
    timer = clock.setTimeout(
      () => {
        if (stopped) return;
        void renew();
        void reconcile();
        tick();
      },
      Math.max(1, Math.floor(options.leaseMs / 3)),
    );
  };

  return {
    /** Starts from the desired state: drops this instance's old observations, takes its lease, reads enablement. */
    async begin() {
      stopped = false;
      await registry.resetObserved();
      await registry.renewLease(options.leaseMs, { health: {} });
      // Instances gone for a day (crashed, or stopped and not back) are forgotten, so they do not pile up.
      await registry.pruneInstances(options.forgetAfterMs);
      await readEnablement();
    },
    /** After the first activation: keeps the lease and follows the desired state. */
    async follow() {
      tick();
      // Module records (desired and rejected versions), tenant enablement and config: what other instances change.
      const watched = [`${prefix}m:`, `${prefix}t:`, `${prefix}c:`];
      if (options.storage.watch) {
        const offs = await Promise.all(watched.map((p) => options.storage.watch?.(p, (change) => onChange(change.key))));
        unwatch = () => Promise.all(offs.map((off) => off?.()));
      }
    },
    /** After a local enable or disable: this instance serves the change now, not at the next notification. */
    changed: (name: string, tenant: string | undefined) =>
      queue(`re-reading ${name}`, async () => {
        await readAccess(name);
        if (tenant !== undefined) await readTenant(tenant);
      }),
    /**
     * True when `name` serves `tenant` (or, for `undefined`, requests with no tenant): `host` access serves everyone,
     * `tenants` only the tenants it is enabled for. Unset, it is host-wide until it has a tenant (records written
     * before `access` existed keep a tenant-gated module gated).
     */
    serves(name: string, tenant: string | undefined) {
      const tenants = enabled.get(name);
      const a = access.get(name) ?? (tenants && tenants.size > 0 ? 'tenants' : 'host');
      if (a === 'host') return true;
      return tenant !== undefined && (tenants?.has(tenant) ?? false);
    },
    /** After a local `configure`: the module gets its new values now, not at the next notification. */
    reconfigure: (name: string) => queue(`reconfiguring ${name}`, () => reconfigure(name)),
    reconcile,
    /** Every instance on this storage, live or not, with what it observed. */
    async fleet(): Promise<FleetInstance[]> {
      const out: FleetInstance[] = [];
      for (const lease of await registry.instances()) {
        const observed = await registry.observedBy(lease.instanceId);
        const health = (lease.meta?.health ?? {}) as Record<string, string>;
        const modules = Object.entries(observed).map(([key, s]) => {
          const at = key.lastIndexOf('@');
          const name = key.slice(0, at);
          // Health is published for the version each instance serves, by name@version.
          const served = health[key];
          return {
            name,
            version: key.slice(at + 1),
            state: s.status,
            ...(served ? { health: served } : {}),
            ...(s.timings ? { timings: s.timings } : {}),
            ...(s.lastError ? { error: `${s.lastError.code}: ${s.lastError.message}` } : {}),
          };
        });
        out.push({
          id: lease.instanceId,
          alive: lease.alive,
          stopped: lease.ended === true,
          startedAt: lease.startedAt,
          renewedAt: lease.renewedAt,
          expiresAt: lease.expiresAt,
          modules,
        });
      }
      return out.sort((a, b) => (a.id < b.id ? -1 : 1));
    },
    /** Stops following and ends the lease (a clean stop): the others see this instance gone at once. */
    async end() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      await unwatch?.();
      await syncing.catch(() => {});
      await registry.endLease();
    },
  };
}
