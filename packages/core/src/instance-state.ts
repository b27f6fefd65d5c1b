import type { Clock } from './clock.js';
import { ModhostError } from './errors.js';
import { assertTransition, type LifecycleState } from './lifecycle.js';
import { KEYS, KIND } from './registry-internals.js';
import type { InstanceLease, ModuleErrorRecord, ModuleVersionRecord, ObservedState } from './registry-types.js';
import type { Store } from './store.js';

/**
 * What one host instance owns on a shared storage: its observed lifecycle state of each version
 * (`<ns>:o:<instance>:<name>:<version>`) and its lease (`<ns>:i:<instance>`). Other instances' records never make
 * this instance's moves illegal, and a restarted instance can drop its old observations and start afresh.
 */
export function createInstanceState(input: { store: Store; clock: Pick<Clock, 'now'>; instance: string | undefined; historyLimit: number }) {
  const { store, clock, instance } = input;
  const observedKey = (name: string, version: string) => store.key(...KEYS.observed(instance as string, name, version));
  /** What an instance that has not touched a version sees: registered, with nothing since. */
  const fresh = (shared: ModuleVersionRecord): ObservedState => ({
    status: 'registered',
    history: [{ from: null, to: 'registered', at: shared.registeredAt }],
    historyDropped: 0,
    updatedAt: shared.registeredAt,
  });
  const needsId = (what: string) =>
    new ModhostError('INVALID_ARGUMENT', `${what}: this registry has no instanceId; pass one to createRegistry`, { details: { argument: 'instanceId' } });

  /** The shared record with the lifecycle fields of an observed state. */
  const merge = (shared: ModuleVersionRecord, own: ObservedState): ModuleVersionRecord => {
    const { lastError: _shared, ...base } = shared;
    return {
      ...base,
      status: own.status,
      history: own.history,
      historyDropped: own.historyDropped,
      updatedAt: own.updatedAt,
      ...(own.lastError ? { lastError: own.lastError } : {}),
    };
  };

  return {
    /** The shared record as this instance sees it: lifecycle fields from its own observed state. */
    async withObserved(shared: ModuleVersionRecord | undefined): Promise<ModuleVersionRecord | undefined> {
      if (!shared || instance === undefined) return shared;
      return merge(shared, (await store.read<ObservedState>(observedKey(shared.name, shared.version), KIND.observed)) ?? fresh(shared));
    },

    /** Moves this instance's observed state of a version (compare-and-set); returns where it came from and the record as this instance now sees it. */
    async transition(
      shared: ModuleVersionRecord,
      to: LifecycleState,
      at: number,
      reason: string | undefined,
      error: ModuleErrorRecord | undefined,
      timings?: Readonly<Record<string, number>>,
    ) {
      let from: LifecycleState = 'registered';
      const state = await store.update<ObservedState>(observedKey(shared.name, shared.version), KIND.observed, (current) => {
        const now = current ?? fresh(shared);
        assertTransition(now.status, to, `${shared.name}@${shared.version}`);
        from = now.status;
        const history = [...now.history, reason === undefined ? { from: now.status, to, at } : { from: now.status, to, at, reason }];
        const overflow = Math.max(0, history.length - input.historyLimit);
        const { lastError, ...rest } = now;
        const next: ObservedState = { ...rest, status: to, history: history.slice(overflow), historyDropped: now.historyDropped + overflow, updatedAt: at };
        const kept = error ?? lastError;
        const withTimings = timings ? { ...next, timings } : next;
        return kept ? { ...withTimings, lastError: kept } : withTimings;
      });
      return { from, record: merge(shared, state as ObservedState) };
    },

    async resetObserved() {
      if (instance === undefined) return 0;
      const keys = await store.keys('o', instance);
      for (const k of keys) await store.remove(k);
      return keys.length;
    },

    /** Drops this instance's observations of one module (it was uninstalled). */
    async forgetObserved(name: string) {
      if (instance === undefined) return;
      for (const k of await store.keys('o', instance, name)) await store.remove(k);
    },

    async observedBy(other: string) {
      const out: Record<string, ObservedState> = {};
      for (const k of await store.keys('o', other)) {
        const [, , name, version] = store.segments(k);
        const state = await store.read<ObservedState>(k, KIND.observed);
        if (state && name !== undefined && version !== undefined) out[`${name}@${version}`] = state;
      }
      return out;
    },

    async renewLease(ttlMs: number, meta?: Record<string, unknown>): Promise<InstanceLease> {
      if (instance === undefined) throw needsId('renewLease');
      const now = clock.now();
      return (await store.update<InstanceLease>(store.key(...KEYS.lease(instance)), KIND.lease, (cur) => {
        const kept = meta ?? cur?.meta;
        // A new start after a clean stop begins a new lease.
        const startedAt = cur && !cur.ended ? cur.startedAt : now;
        return { instanceId: instance, startedAt, renewedAt: now, expiresAt: now + ttlMs, ...(kept ? { meta: kept } : {}) };
      })) as InstanceLease;
    },

    /** A clean stop: the lease ends now and says so, and the instance's last observations stay readable. */
    async endLease() {
      if (instance === undefined) return;
      const now = clock.now();
      await store.update<InstanceLease>(store.key(...KEYS.lease(instance)), KIND.lease, (cur) =>
        cur ? { ...cur, renewedAt: now, expiresAt: now, ended: true } : undefined,
      );
    },

    /** Forgets instances whose lease ended or expired more than `olderThanMs` ago: their lease and observations. */
    async pruneInstances(olderThanMs: number) {
      const now = clock.now();
      const gone: string[] = [];
      for (const k of await store.keys('i')) {
        const lease = await store.read<InstanceLease>(k, KIND.lease);
        if (!lease || lease.instanceId === instance || lease.expiresAt > now - olderThanMs) continue;
        for (const o of await store.keys('o', lease.instanceId)) await store.remove(o);
        await store.remove(k);
        gone.push(lease.instanceId);
      }
      return gone;
    },

    async instances() {
      const now = clock.now();
      const leases = await Promise.all((await store.keys('i')).map((k) => store.read<InstanceLease>(k, KIND.lease)));
      return leases.filter((l): l is InstanceLease => l !== undefined).map((l) => ({ ...l, alive: l.expiresAt > now }));
    },
  };
}
