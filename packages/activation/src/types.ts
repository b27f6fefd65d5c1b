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
  /** Listens to rollbacks, automatic ones included: `on(event, fn)` returns `off`. */
  on: Emitter<ActivatorEvents>['on'];
}

/** What an activator tells listeners. `reason` says why the rollback happened (by hand, or failed health probes). */
export interface ActivatorEvents extends Record<string, unknown> {
  /** Traffic went back to the warm previous version. */
  'rolled-back': UpgradeReport & { readonly reason: string };
  /** A rollback could not happen (its state could not be handed back, or the warm version failed): the newer version serves on. */
  'rollback-refused': UpgradeReport & { readonly reason: string };
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
