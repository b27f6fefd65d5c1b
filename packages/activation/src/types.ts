// The public option and report types of the activation engine. Internal types (a running version, a start
// failure, a warm version) live with the code that owns them, in version-runner.ts.
import type { Clock, Emitter, Issue, Logger, Registry, RouteRequest, RouteResponse, StorageAdapter, Telemetry } from '@modhost/core';
import type { Plan } from '@modhost/resolver';
import type { HealthGateOptions } from './health.js';
import type { JobEvent } from './jobs.js';
import type { ContextFactory } from './module-context.js';
import type { Router } from './router.js';

/** Per-phase timeouts in ms. `Infinity` disables one. */
export interface PhaseTimeouts {
  /** Getting the module's definition (default 30 s). */
  load: number;
  /** Running the version's pending migrations (default 120 s). */
  migrate: number;
  /** `activate(ctx)` (default 30 s). */
  start: number;
  /** The whole health gate (default 60 s). */
  verify: number;
  /** `deactivate(ctx)` and draining (default 30 s). */
  stop: number;
}

/** Options for {@link createActivator}. */
export interface ActivatorOptions {
  registry: Registry;
  /** Time for every timeout and timing. Default: the system clock; tests pass the testkit's fake clock. */
  clock?: Clock;
  /** How many modules may be loading or starting at once. Default 4. */
  slots?: number;
  timeouts?: Partial<PhaseTimeouts>;
  health?: HealthGateOptions;
  /** The whole activation must finish within this (ms), else it aborts. Default 10 minutes. */
  progressDeadlineMs?: number;
  /** Modules whose failure aborts (and rolls back) the whole activation instead of blocking only dependents. */
  required?: readonly string[];
  /** Host services modules may use (`ctx.services`). Ignored when `contextFactory` builds the context. */
  services?: Readonly<Record<string, unknown>>;
  /**
   * Builds each module version's `ctx` (default: `createModuleContext`, everything handed over). Pass
   * `sandbox.contextFor` from `@modhost/sandbox` to hand each module only what it was granted. The `revoke` it
   * returns runs when the version stops, so a module that kept its ctx cannot use it afterwards.
   */
  contextFactory?: ContextFactory;
  /** Where modules' own storage lives. Default: an in-memory adapter. */
  storage?: StorageAdapter;
  /** Key prefix for modules' storage. Default `"modhost"`. */
  namespace?: string;
  /** The logger a module gets. Default: console with the module's name. */
  logger?: (module: string) => Logger;
  /** Where module routes are mounted and swapped. Without one, routes are not served. */
  router?: Router<BoundHandler>;
  /** Told where activations, phases, upgrades and rollbacks start and end (default: nothing is recorded). */
  telemetry?: Telemetry;
  /** The prefix a module's routes live under. Default `/<name>`. */
  routePrefix?: (name: string) => string;
  /** How long an upgraded module's previous version stays warm for a rollback, ms. Default 0. */
  rollbackWindowMs?: number;
  /** Names this host in the migration lock. Default: a random id. */
  hostId?: string;
  /** Told about every job run (and skipped tick). */
  onJobEvent?: (module: string, event: JobEvent) => void;
  /**
   * How the health monitor probes active modules once started (`activator.monitor.start()`): period, timeout,
   * thresholds, the policy for a module that fails, per-module overrides. See {@link HealthMonitorOptions}.
   */
  healthMonitor?: HealthMonitorOptions;
}

/** What happened to one module. */
export interface ModuleOutcome {
  readonly name: string;
  readonly version: string;
  readonly state: 'active' | 'already-active' | 'failed' | 'blocked' | 'stopped';
  readonly phase?: 'load' | 'migrate' | 'start' | 'verify';
  readonly error?: { readonly code: string; readonly message: string; readonly timedOut: boolean };
  /** For `blocked`: the failed module it depends on (directly or through others), or why the activation aborted. */
  readonly blockedBy?: string;
  /** Milliseconds spent in each phase, from the injected clock. */
  readonly timings: { readonly load?: number; readonly migrate?: number; readonly start?: number; readonly verify?: number };
}

/** The result of an activation. */
export interface ActivationReport {
  /** True when every module in the plan is active. */
  readonly ok: boolean;
  /** Set when a required module failed or the progress deadline passed: everything started was rolled back. */
  readonly aborted?: { readonly reason: string };
  /** Every module of the plan, in plan order. */
  readonly modules: readonly ModuleOutcome[];
  /** The most modules that were loading or starting at once (never above `slots`). */
  readonly peakConcurrency: number;
}

/** A route handler bound to one module version's context. */
export type BoundHandler = (req: RouteRequest) => RouteResponse | Promise<RouteResponse>;

/** Options for one upgrade. */
export interface UpgradeOptions {
  /** How long the old version stays warm for a rollback, ms. Default: the activator's `rollbackWindowMs` (0). */
  rollbackWindowMs?: number;
  /**
   * Move traffic in steps instead of all at once: each step sends `percent` of request keys to the new version
   * for `stepMs` while its health is probed; a failing step sends everything back. Only for `stateless` modules
   * with routes and a router (state that lives in the process cannot be split between two versions).
   */
  canary?: { readonly steps: readonly number[]; readonly stepMs: number };
  /**
   * Whether a version that fails its gate here is marked rejected for everyone (default true). An instance following
   * another's upgrade passes false: its own failure may be local, and must not roll the fleet back.
   */
  rejectOnFailure?: boolean;
}

/** What an upgrade (or a rollback) did. The previous version serves in every outcome but `switched`. */
export interface UpgradeReport {
  readonly ok: boolean;
  readonly module: string;
  readonly from: string;
  readonly to: string;
  /**
   * `switched`: the new version serves. `unchanged`: it already did. `refused`: the change would break a
   * dependent (or was rejected before); nothing started. `failed`: the new version did not pass its health
   * gate; it was discarded and marked rejected. `rolled-back`: after the switch, traffic went back to the old one.
   * For a rollback, `refused` means the newer version keeps serving: its state could not be handed back (see
   * `error`), or the warm version failed.
   */
  readonly outcome: 'switched' | 'unchanged' | 'refused' | 'failed' | 'rolled-back';
  readonly phase?: 'load' | 'migrate' | 'start' | 'verify' | 'switch' | 'serve';
  readonly error?: { readonly code: string; readonly message: string; readonly timedOut: boolean };
  /** When refused for compatibility: the resolver's explanation. */
  readonly explanation?: string;
  /** While the old version is warm: until when (injected clock time) a rollback can point back at it. */
  readonly rollbackUntil?: number;
  /**
   * For a switch: milliseconds from "the new version passed its gate (and took the state)" to "it serves",
   * measured with the high-resolution timer.
   */
  readonly switchMs?: number;
}

/** The activation engine: starts planned modules and stops them again. */
export interface Activator {
  /** Activates every module of the plan: dependencies first, in parallel up to `slots`, each through the health gate. */
  activate(plan: Plan): Promise<ActivationReport>;
  /**
   * Stops modules (all active ones by default) dependents first. Refuses with `MODULE_IN_USE` to stop a module
   * that active modules depend on, unless `cascade` stops those too.
   */
  deactivate(names?: readonly string[], options?: { cascade?: boolean }): Promise<ModuleOutcome[]>;
  /** The public API of an active module (what its `activate` returned). */
  api(name: string): unknown;
  /** The version of `name` that serves now (after upgrades and rollbacks, automatic ones included), if any. */
  versionOf(name: string): string | undefined;
  /** Names of active modules. */
  readonly active: readonly string[];
  /**
   * Upgrades (or downgrades) a running module without a restart: the new version starts beside the old one,
   * passes the health gate, then takes over in one switch; the old one drains. See {@link UpgradeReport}.
   */
  upgrade(name: string, version: string, options?: UpgradeOptions): Promise<UpgradeReport>;
  /** Points a module back at the version it replaced, while that version is still warm. */
  rollback(name: string): Promise<UpgradeReport>;
  /**
   * Gives a running module its current effective config (after `registry.configure`, here or on another instance):
   * `ctx.config` holds the new values from now on and its `reconfigure` hook is told. Schema-rejected values are refused.
   */
  reconfigure(name: string): Promise<ReconfigureReport>;
  /**
   * Runs the health gate on the version of `name` that serves now: resolves when it passes, rejects with
   * `HEALTH_CHECK_FAILED` (or `ACTIVATION_TIMEOUT`) when it does not. What re-enabling a module host-wide goes through.
   */
  probe(name: string): Promise<void>;
  /**
   * Restarts the version of `name` that serves now: a fresh instance starts beside it through the health gate and
   * takes over (state handed over for `snapshot`/`quiesce` modules); if the fresh one fails, a stateless module falls
   * back to stop then start (unless `options.fallback` is `'none'`: the old instance then serves on). Rejects with
   * `MODULE_NOT_FOUND` when it does not run. See {@link RestartReport}.
   */
  restart(name: string, options?: RestartOptions): Promise<RestartReport>;
  /** What the health monitor says of an active module now (`undefined` when it is not monitored: not started, not active). */
  health(name: string): ModuleHealth | undefined;
  /** The health monitor: probes every active module's `health(ctx)` on one timer while started. */
  readonly monitor: HealthMonitor;
  /** Listens to rollbacks (automatic ones included) and health changes: `on(event, fn)` returns `off`. */
  on: Emitter<ActivatorEvents>['on'];
}

/** What an activator tells listeners. `reason` says why the rollback happened (by hand, or failed health probes). */
export interface ActivatorEvents extends Record<string, unknown> {
  /** Traffic went back to the warm previous version. */
  'rolled-back': UpgradeReport & { readonly reason: string };
  /** A rollback could not happen (its state could not be handed back, or the warm version failed): the newer version serves on. */
  'rollback-refused': UpgradeReport & { readonly reason: string };
  /** A monitored module's health status changed (or its policy's action finished). */
  'module:health': ModuleHealthEvent;
}

/** What `activator.reconfigure` did. */
export interface ReconfigureReport {
  readonly ok: boolean;
  readonly module: string;
  /** `applied`: `ctx.config` holds the new values; `unchanged`: they were the same; `refused`: the schema rejects them. */
  readonly outcome: 'applied' | 'unchanged' | 'refused' | 'not-running';
  readonly issues?: readonly Issue[];
  /** The module's `reconfigure` hook threw or timed out (the new values are in `ctx.config` anyway). */
  readonly hookError?: string;
}

/** A monitored module's health: `ok`; `degraded` (failing probes below the threshold, its own `{ status: 'degraded' }`, or a failing dependency); `fail`. */
export type HealthStatus = 'ok' | 'degraded' | 'fail';

/**
 * What a module that reaches `fail` gets. `none`: reported only. `restart`: a fresh instance through the health gate
 * (see {@link Activator.restart}). `rollback`: back to the warm previous version while an upgrade's rollback window is
 * open (otherwise reported only, and the event says so). `unroute`: its routes answer 503 `MODULE_UNHEALTHY` until it
 * passes again.
 */
export type HealthPolicy = 'none' | 'restart' | 'rollback' | 'unroute';

/** What a policy did, on a `module:health` event. */
export type HealthAction =
  | 'restart'
  | 'restarted'
  | 'restart-failed'
  | 'rollback'
  | 'rolled-back'
  | 'rollback-refused'
  | 'rollback-unavailable'
  | 'unrouted'
  | 'rerouted';

/** Probe settings and policy of one module (each field overrides the monitor-wide one). */
export interface ModuleHealthSettings extends HealthGateOptions {
  policy?: HealthPolicy;
}

/**
 * Options of the health monitor. Defaults: `periodMs` 10,000, `timeoutMs` 5,000, `failureThreshold` 3,
 * `successThreshold` 1, `policy` `'none'`, `historyLimit` 10, `resolutionMs` 100.
 */
export interface HealthMonitorOptions extends ModuleHealthSettings {
  /** Per-module overrides, by module name. */
  modules?: Readonly<Record<string, ModuleHealthSettings>>;
  /** How many status changes each module keeps in its `history`. */
  historyLimit?: number;
  /** Probe and timeout times are rounded up to this (ms), so modules due close together share one wake-up. */
  resolutionMs?: number;
}

/** One status change of a monitored module. */
export interface HealthChange {
  /** Clock time of the change. */
  readonly at: number;
  readonly status: HealthStatus;
  readonly previous: HealthStatus;
  readonly detail?: string;
  readonly action?: HealthAction;
}

/** What the health monitor says of one module. */
export interface ModuleHealth {
  readonly name: string;
  readonly version: string;
  readonly status: HealthStatus;
  /** Why it is not `ok`: the module's own detail string, `health() returned false`, `dependency X`, a timeout. */
  readonly detail?: string;
  /** Clock time since which it has this status. */
  readonly since: number;
  /** The last status changes, oldest first (at most `historyLimit`). */
  readonly history: readonly HealthChange[];
  readonly policy: HealthPolicy;
  /** True while its routes answer 503 (`unroute` policy). */
  readonly unrouted: boolean;
  /** Probes done on the version that serves now. */
  readonly probes: number;
}

/** The payload of `module:health` (activator and host event). */
export interface ModuleHealthEvent {
  readonly name: string;
  readonly version: string;
  readonly status: HealthStatus;
  readonly previous: HealthStatus;
  readonly detail?: string;
  readonly action?: HealthAction;
}

/** Counters of the health monitor, for tests and benchmarks. */
export interface HealthMonitorStats {
  /** Modules watched now (every active module; only those with `health()` are probed). */
  readonly monitored: number;
  /** `health()` calls made. */
  readonly probes: number;
  /** Due probes not started because the previous one had not answered yet (once past its timeout, each counts as a failure). */
  readonly skipped: number;
  /** Probes that ran past `timeoutMs`. */
  readonly timedOut: number;
  /** Clock timers created since the monitor was made: one per wake-up, never one per module. */
  readonly timersCreated: number;
  /** Clock timers pending now: 0 or 1. */
  readonly pendingTimers: number;
}

/** The health monitor of an activator. */
export interface HealthMonitor {
  /** Starts probing (again) every active module; `options` replace the activator's `healthMonitor` option. */
  start(options?: HealthMonitorOptions): void;
  /** Stops probing, clears its timer and forgets what it saw; routes it took off serve again. */
  stop(): void;
  readonly running: boolean;
  health(name: string): ModuleHealth | undefined;
  /** Every monitored module, by name. */
  all(): ModuleHealth[];
  stats(): HealthMonitorStats;
}

/** Options for `activator.restart`. */
export interface RestartOptions {
  /**
   * What a stateless module does when the fresh instance fails beside the old one: `'stop-start'` (default) stops
   * the old one and starts a fresh one once more; `'none'` keeps the old instance serving (a development reload of
   * edited code that fails must not take down the code that works).
   */
  readonly fallback?: 'stop-start' | 'none';
}

/** What `activator.restart` did. */
export interface RestartReport {
  readonly ok: boolean;
  readonly module: string;
  readonly version: string;
  /**
   * `restarted`: a fresh instance serves. `failed`: it did not pass its gate (the old instance serves on when `mode` is
   * `beside`; after a `stop-start` the module no longer runs). `refused`: an upgrade's rollback window is open
   * (roll back instead). A restart asked for while one is under way shares its outcome.
   */
  readonly outcome: 'restarted' | 'failed' | 'refused';
  /** `beside`: the fresh instance started next to the old one; `stop-start`: the old one stopped first. */
  readonly mode?: 'beside' | 'stop-start';
  readonly error?: { readonly code: string; readonly message: string; readonly timedOut: boolean };
}
