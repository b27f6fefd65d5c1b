// What a host says outside spans: its lifecycle events and audit records become counters as they happen; its status
// and fleet view become gauges, read once per scrape.
import { type Clock, LIFECYCLE_STATES } from '@modhost/core';
import type { MetricFamilies } from './metrics-families.js';
import { codeLabel, type LabelGuard, OTHER, oneOf } from './metrics-labels.js';

/** The host events the metrics count: what `createHost()`'s host emits. */
export interface MetricsHostEvents {
  'module:installed': { name: string };
  'module:activated': { name: string };
  'module:failed': { name: string };
  'module:upgraded': { name: string };
  'module:upgrade-failed': { name: string; code: string };
  'module:rolled-back': { name: string };
  'module:rollback-refused': { name: string };
  'module:reconfigured': { name: string };
  'module:removed': { name: string };
}

/** An audit record as far as the metrics read it (`@modhost/sandbox`'s `AuditRecord`). */
interface AuditRecordLike {
  readonly kind: string;
  readonly module: string;
  readonly permission: string | undefined;
  readonly decision: string;
}

/** What {@link Metrics.observe} reads of a host: `createHost()`'s host fits. */
export interface MetricsHost {
  readonly events: { on<K extends keyof MetricsHostEvents>(event: K, listener: (payload: MetricsHostEvents[K]) => void): () => void };
  readonly audit: { on(event: 'record', listener: (record: AuditRecordLike) => void): () => void };
  readonly registry: { getModule(name: string): Promise<{ readonly desiredVersion: string | null } | undefined> };
  status(): Promise<{
    readonly modules: readonly {
      readonly name: string;
      readonly version: string;
      readonly state: string;
      readonly health: { readonly status: string };
      readonly isolation: string;
    }[];
  }>;
  fleet(): Promise<
    readonly {
      readonly id: string;
      readonly alive: boolean;
      readonly stopped: boolean;
      readonly renewedAt: number;
      readonly modules: readonly { readonly name: string; readonly version: string; readonly state: string }[];
    }[]
  >;
}

const EVENTS: readonly (keyof MetricsHostEvents)[] = [
  'module:installed',
  'module:activated',
  'module:failed',
  'module:upgraded',
  'module:upgrade-failed',
  'module:rolled-back',
  'module:rollback-refused',
  'module:reconfigured',
  'module:removed',
];
// The lifecycle's states, and the one status() shows for a module whose code is not loaded here.
const STATES: readonly string[] = [...LIFECYCLE_STATES, 'not-loaded'];
const HEALTH = ['ok', 'degraded', 'fail', 'unknown'];
const TIERS = ['in-process', 'worker', 'sandboxed', 'process'];
// The supervisor's quota records name the limit as `quota:<name>`; a heap crash is one too.
const QUOTAS = ['call-timeout', 'queue', 'heap'];

/** Subscribes to `host`'s events and audit, returns the unsubscribe and the scrape-time collection. */
export function observeHost(host: MetricsHost, families: MetricFamilies, label: LabelGuard, clock: Clock) {
  const f = families;
  const offs: (() => void)[] = [];
  for (const event of EVENTS) {
    const name = event.slice('module:'.length);
    offs.push(
      host.events.on(event, (payload) => {
        const module = label('module', payload.name);
        f.moduleEvents.inc({ module, event: name });
        if (event === 'module:upgrade-failed') f.versionsRejected.inc({ module, code: codeLabel((payload as MetricsHostEvents[typeof event]).code) });
      }),
    );
  }
  offs.push(
    host.audit.on('record', (r) => {
      // Never the permission text itself: a module can make up any permission string it asks for.
      const module = (): string => label('module', r.module);
      const quota = r.permission?.startsWith('quota:') ? oneOf(r.permission.slice('quota:'.length), QUOTAS) : undefined;
      if (r.kind === 'denial' && r.decision === 'deny') f.permissionDenials.inc({ module: module() });
      else if (r.kind === 'quota') f.quotaExceeded.inc({ module: module(), quota: quota ?? OTHER });
      else if (r.kind === 'crash') {
        f.guestCrashes.inc({ module: module() });
        if (quota !== undefined) f.quotaExceeded.inc({ module: module(), quota });
      } else if (r.kind === 'restart') f.guestRestarts.inc({ module: module() });
    }),
  );

  // When each live instance was first seen out of step, for the lag gauge.
  const outOfStepSince = new Map<string, number>();

  const collect = async () => {
    const [status, fleet] = await Promise.all([host.status(), host.fleet()]);
    f.modules.reset();
    f.modulesByHealth.reset();
    f.moduleInfo.reset();
    for (const state of STATES) f.modules.set({ state }, 0);
    for (const health of HEALTH) f.modulesByHealth.set({ health }, 0);
    for (const m of status.modules) {
      const state = oneOf(m.state, STATES);
      const health = oneOf(m.health.status, HEALTH);
      f.modules.inc({ state });
      f.modulesByHealth.inc({ health });
      f.moduleInfo.set({ module: label('module', m.name), version: label('version', m.version), state, health, isolation: oneOf(m.isolation, TIERS) }, 1);
    }

    const names = new Set(fleet.flatMap((i) => i.modules.map((m) => m.name)));
    const desired = new Map(await Promise.all([...names].map(async (n) => [n, (await host.registry.getModule(n))?.desiredVersion ?? null] as const)));
    const now = clock.now();
    for (const g of [f.fleetAlive, f.fleetLeaseAge, f.fleetDiverged, f.fleetLag]) g.reset();
    const listed = new Set<string>();
    for (const instance of fleet) {
      const id = label('host_instance', instance.id);
      listed.add(instance.id);
      f.fleetAlive.set({ host_instance: id }, instance.alive && !instance.stopped ? 1 : 0);
      f.fleetLeaseAge.set({ host_instance: id }, Math.max(0, now - instance.renewedAt) / 1000);
      // A stopped or expired instance's observations are its last ones: no convergence to speak of.
      if (!instance.alive || instance.stopped) continue;
      let diverged = 0;
      for (const name of new Set(instance.modules.map((m) => m.name))) {
        const want = desired.get(name);
        if (want === null || want === undefined) continue;
        if (!instance.modules.some((m) => m.name === name && m.version === want && m.state === 'active')) diverged++;
      }
      f.fleetDiverged.set({ host_instance: id }, diverged);
      if (diverged === 0) outOfStepSince.delete(instance.id);
      else if (!outOfStepSince.has(instance.id)) outOfStepSince.set(instance.id, now);
      f.fleetLag.set({ host_instance: id }, (now - (outOfStepSince.get(instance.id) ?? now)) / 1000);
    }
    for (const id of outOfStepSince.keys()) if (!listed.has(id)) outOfStepSince.delete(id);
  };

  return {
    collect,
    stop() {
      for (const off of offs.splice(0)) off();
    },
  };
}
