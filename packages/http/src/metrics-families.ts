// Every metric family, registered once on the app's prom-client registry. Names, types and labels here are the ones
// the operations guide lists: change them together.
import { ModhostError } from '@modhost/core';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Histogram buckets (seconds) by what they time; each has a default sized for its work. */
export interface MetricsBuckets {
  /** Activations, module starts and their phases, upgrades and their steps. */
  readonly lifecycle?: readonly number[];
  /** The hot swap's switch: one assignment on a route slot, so microseconds. */
  readonly switch?: readonly number[];
  /** Requests served by modules. */
  readonly request?: readonly number[];
  /** Calls into guests and guests' calls to their ctx. */
  readonly call?: readonly number[];
  /** Storage adapter operations. */
  readonly storage?: readonly number[];
}

const DEFAULT_BUCKETS: Required<MetricsBuckets> = {
  lifecycle: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  switch: [0.000_001, 0.000_01, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
  request: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  call: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  storage: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
};

/** The metric objects, by what they count. */
export type MetricFamilies = ReturnType<typeof createFamilies>;

/** Registers every family on `registry` under `prefix`; `collect` runs once per scrape, before the gauges are read. */
export function createFamilies(registry: Registry, prefix: string, buckets: MetricsBuckets, collect: () => Promise<void>) {
  const b = { ...DEFAULT_BUCKETS, ...buckets };
  const registers = [registry];
  const guarded = <M>(name: string, make: () => M): M => {
    if (registry.getSingleMetric(`${prefix}${name}`) !== undefined)
      throw new ModhostError(
        'INVALID_ARGUMENT',
        `createMetrics: the registry already has a metric named ${prefix}${name}; call createMetrics once per registry, or give each a different prefix`,
        { details: { argument: 'registry' } },
      );
    return make();
  };
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    guarded(name, () => new Counter<L>({ name: `${prefix}${name}`, help, labelNames, registers }));
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], bounds: readonly number[]) =>
    guarded(name, () => new Histogram<L>({ name: `${prefix}${name}`, help, labelNames, buckets: [...bounds], registers }));
  // Gauges filled at scrape time: the first one read starts the collection, the others wait for the same one.
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    guarded(name, () => new Gauge<L>({ name: `${prefix}${name}`, help, labelNames, registers, collect }));

  return {
    modules: gauge('modules', 'Modules by lifecycle state (of the version host.status() shows)', ['state']),
    modulesByHealth: gauge('modules_by_health', 'Modules by health: ok, degraded, fail, unknown', ['health']),
    moduleInfo: gauge('module_info', 'One series per module, value 1: its shown version, state, health and isolation tier', [
      'module',
      'version',
      'state',
      'health',
      'isolation',
    ]),
    activationDuration: histogram(
      'activation_duration_seconds',
      'Activations (host start, installs): seconds from plan to done; outcome failed when a module of the plan failed',
      ['outcome'],
      b.lifecycle,
    ),
    activationModules: counter('activation_modules_total', 'Modules that activations started, by result (activated, failed)', ['result']),
    moduleStartDuration: histogram(
      'module_start_duration_seconds',
      'Starts of a module version (activate, upgrade, restart): seconds, by outcome',
      ['module', 'reason', 'outcome'],
      b.lifecycle,
    ),
    modulePhaseDuration: histogram(
      'module_phase_duration_seconds',
      'Phases of a module start (load, migrate, start, verify = the health gate): seconds, by outcome',
      ['module', 'phase', 'outcome'],
      b.lifecycle,
    ),
    upgrades: counter('upgrades_total', 'Upgrades by outcome (switched, refused, failed, rolled-back, unchanged)', ['module', 'outcome']),
    upgradeDuration: histogram('upgrade_duration_seconds', 'Upgrades: seconds from start to outcome', ['module', 'outcome'], b.lifecycle),
    upgradeStepDuration: histogram(
      'upgrade_step_duration_seconds',
      'Steps of an upgrade (start-beside, gate, handoff, canary, switch, drain): seconds',
      ['module', 'step'],
      b.lifecycle,
    ),
    switchDuration: histogram(
      'hot_swap_switch_seconds',
      "Hot swaps: seconds the switch took (traffic moving to the new version's routes)",
      ['module'],
      b.switch,
    ),
    rollbacks: counter('rollbacks_total', 'Rollbacks by reason (manual, health) and outcome (rolled-back, refused)', ['module', 'reason', 'outcome']),
    versionsRejected: counter('versions_rejected_total', 'Versions an upgrade refused or that failed (host event module:upgrade-failed), by error code', [
      'module',
      'code',
    ]),
    moduleEvents: counter('module_events_total', 'Host lifecycle events (installed, activated, failed, upgraded, upgrade-failed, rolled-back, …)', [
      'module',
      'event',
    ]),
    requests: counter('http_requests_total', 'Requests served by modules, by route pattern, method and status code', ['module', 'route', 'method', 'status']),
    requestDuration: histogram(
      'http_request_duration_seconds',
      'Requests served by modules: seconds, by route pattern, method and status class',
      ['module', 'route', 'method', 'status_class'],
      b.request,
    ),
    permissionDenials: counter('permission_denials_total', 'Permission checks a module failed (audit records with decision deny)', ['module']),
    quotaExceeded: counter('quota_exceeded_total', 'Limits isolated modules hit: call-timeout, queue, heap', ['module', 'quota']),
    guestCrashes: counter('guest_crashes_total', 'Crashes of isolated modules (worker or process guests)', ['module']),
    guestRestarts: counter('guest_restarts_total', 'Restarts of crashed isolated modules', ['module']),
    storageDuration: histogram(
      'storage_operation_duration_seconds',
      "Operations on the host's storage adapter: seconds, by outcome",
      ['operation', 'adapter', 'outcome'],
      b.storage,
    ),
    storageErrors: counter('storage_errors_total', "Operations on the host's storage adapter that failed", ['operation', 'adapter']),
    guestCallDuration: histogram(
      'guest_call_duration_seconds',
      'Calls from the host into worker or process guests: seconds, by outcome',
      ['module', 'tier', 'method', 'outcome'],
      b.call,
    ),
    ctxCallDuration: histogram(
      'ctx_call_duration_seconds',
      'Calls from worker or process guests to their ctx (storage, deps, services…): seconds, by outcome',
      ['module', 'tier', 'capability', 'outcome'],
      b.call,
    ),
    fleetAlive: gauge('fleet_instance_alive', 'Instances sharing the storage: 1 while its lease is live, 0 once it expired or it stopped', ['host_instance']),
    fleetLeaseAge: gauge('fleet_instance_lease_age_seconds', 'Seconds since each instance last renewed its lease', ['host_instance']),
    fleetDiverged: gauge('fleet_instance_diverged_modules', 'Modules a live instance does not serve at their desired version (0 when it has converged)', [
      'host_instance',
    ]),
    fleetLag: gauge(
      'fleet_convergence_lag_seconds',
      'Seconds a live instance has been out of step with the desired state, as seen by this scraper (0 when converged)',
      ['host_instance'],
    ),
    labelOverflow: counter('metrics_label_overflow_total', 'Label values reported as "other" because the label reached its cap of distinct values', ['label']),
    // Read after the scrape's collection, so a failed one is counted in the same scrape.
    collectErrors: guarded(
      'metrics_collect_errors_total',
      () =>
        new Counter({
          name: `${prefix}metrics_collect_errors_total`,
          help: 'Scrapes whose host.status() or host.fleet() failed (their gauges are left empty)',
          registers,
          collect,
        }),
    ),
  };
}
