import type {
  ActivationReport,
  BoundHandler,
  HealthGateOptions,
  HealthMonitorOptions,
  ModuleHealth,
  ModuleHealthEvent,
  PhaseTimeouts,
  Router,
  UpgradeOptions,
  UpgradeReport,
} from '@modhost/activation';
import type { AnyModuleDefinition, Clock, Emitter, Logger, Registry, StorageAdapter, Telemetry } from '@modhost/core';
import type { AuditLog, AuditRetention, PermissionPolicy, RestartPolicy, Sandbox, ServiceFactory, TrustedKeys } from '@modhost/sandbox';
import type { IsolationTier, MinimumIsolation } from './isolation-policy.js';
import type { IsolatedLimits } from './load-folder.js';
import type { ModuleStatus } from './module-status.js';
import type { HostTenants } from './tenant-types.js';

/** Options for {@link createHost}. Everything but `version` has a default. */
export interface HostOptions {
  /** The host application's version (modules' `engines.host` is checked against it). */
  version: string;
  /** Default: `memoryStorage()`, the embedded storage. */
  storage?: StorageAdapter;
  /** Modules defined in code. */
  modules?: readonly AnyModuleDefinition[];
  /** A folder of module folders (`<dir>/<module>/modhost.json`), scanned at start. */
  modulesDir?: string;
  /** Watch `modulesDir`: install new folders, hot-swap changed versions, deactivate removed ones. Default false (true with `dev`). */
  watch?: boolean;
  /** How long the watcher waits for a folder to settle, ms (default 300; 50 in development mode). */
  debounceMs?: number;
  /**
   * Development mode (default false; never in production): the watcher is on (unless `watch: false`, debounce 50 ms),
   * and a folder whose files change without a new version is reloaded in place through the health gate (a fresh
   * instance of the edited code starts beside the old one and takes over; an edit that fails leaves the previous
   * code serving, as a problem in `status()` and a `module:reload-failed` event). Integrity is recorded per reload
   * marked as development (`dev: true`), and a host not in development mode refuses such a version with
   * `INTEGRITY_MISMATCH` until it gets a new version or `forgetDevVersions(storage)` forgets it. `rollbackWindowMs`
   * defaults to 0. See docs/development.md.
   */
  dev?: boolean;
  /** Which requested permissions are granted (default: none). */
  policy?: PermissionPolicy;
  /** Host services modules may use, each method behind a permission. */
  services?: Readonly<Record<string, ServiceFactory>>;
  trustedKeys?: TrustedKeys;
  requireSigned?: boolean;
  /** Loading slots (default 4). */
  slots?: number;
  timeouts?: Partial<PhaseTimeouts>;
  /** The health gate: probe period, thresholds (see `@modhost/activation`). */
  health?: HealthGateOptions;
  /**
   * Keeps probing every active module's `health(ctx)` from `start()` to `stop()`, on one timer: `periodMs` (default
   * 10,000), `timeoutMs` (5,000), `failureThreshold` (3), `successThreshold` (1), `policy` for a module that fails
   * (`'none'` default, `'restart'`, `'rollback'`, `'unroute'`) and per-module overrides in `modules`. `false` turns it
   * off. Its verdict shows in `status()` and `health()`, and as `module:health` events. See docs/operations.md.
   */
  healthMonitor?: false | HealthMonitorOptions;
  clock?: Clock;
  /**
   * Where log records go: a {@link Logger} (records get `module` and `version`, and while a module serves a request
   * its `requestId` and `tenant`; `fromPino(pino())` from `@modhost/core` hands them to pino), or a function that
   * makes one per module. Default: `createJsonLogger()`, JSON lines on stdout at level `info`.
   */
  logger?: Logger | ((module: string) => Logger);
  /**
   * Where activations, phases, upgrades, rollbacks, requests, calls into guests and storage operations are reported:
   * `openTelemetry()` from `@modhost/opentelemetry` (traces), `metrics.telemetry` from `@modhost/http/metrics`
   * (Prometheus), or both in an array. Default: nothing is recorded. See docs/operations.md.
   */
  telemetry?: Telemetry | readonly Telemetry[];
  /** How long a replaced version stays warm for `rollback()`, ms (default 60,000). */
  rollbackWindowMs?: number;
  /** Isolation for folder modules whose manifest does not say (default `worker`). */
  defaultIsolation?: IsolationTier;
  /**
   * The weakest tier a folder module may run in, for all, by module or by trust (see {@link MinimumIsolation}).
   * A manifest may ask for a stronger tier, never a weaker one. Default: `defaultIsolation`, so a manifest that
   * asks for `in-process` runs in a worker unless the host allows it. Modules passed as code in `modules` are the
   * app's own and always run in process.
   */
  minimumIsolation?: MinimumIsolation;
  /** Call and resource limits of worker, sandboxed and process guests: call timeout, caps, heap (see `@modhost/sandbox`). */
  limits?: { readonly worker?: IsolatedLimits; readonly sandboxed?: IsolatedLimits; readonly process?: IsolatedLimits };
  /** How often a crashed guest is restarted before it fails for good (see `@modhost/sandbox` `RestartPolicy`). */
  restart?: RestartPolicy;
  /**
   * This instance's id among the hosts sharing `storage` (default: generated from the machine name, the process id
   * and a random part). Lifecycle state is kept per instance; a restart with the same id starts from the desired
   * state. See docs/fleet.md.
   */
  instanceId?: string;
  /**
   * The prefix of every key the host writes (default `modhost`): two apps sharing one database each take their own
   * (`createHost({ namespace: 'billing-app' })`), and see nothing of the other's modules, tenants or audit trail.
   * Letters, digits, `.`, `_` and `-`.
   */
  namespace?: string;
  /**
   * How long the permission audit trail in storage is kept, and how many records (default 90 days and 100,000;
   * `false` keeps everything). Older records are deleted in the background, never on a request's path.
   */
  auditRetention?: AuditRetention | false;
  /** How long this instance's lease lasts without renewal, ms (default 30,000; renewed every third of it). */
  leaseMs?: number;
  /** How long a stopped or crashed instance stays in `fleet()` before a starting instance forgets it, ms (default a day). */
  forgetInstancesAfterMs?: number;
}

/** What {@link Host.stop} did: it stops everything it can, then reports what failed. */
export interface StopReport {
  readonly ok: boolean;
  readonly problems: readonly { readonly name?: string; readonly version?: string; readonly code: string; readonly message: string }[];
}

/** A folder that could not be loaded, kept so `status()` and `doctor` can show it. */
export interface FolderProblem {
  readonly dir: string;
  readonly code: string;
  readonly message: string;
  readonly hint: string | undefined;
}

/** What {@link Host.plan} says would change. */
export interface HostPlan {
  readonly ok: boolean;
  readonly start: readonly { readonly name: string; readonly version: string }[];
  readonly upgrade: readonly { readonly name: string; readonly from: string; readonly to: string }[];
  readonly keep: readonly string[];
  /** Waves of the full plan, when it resolves. */
  readonly waves?: readonly (readonly string[])[];
  /** Why it does not resolve. */
  readonly explanation?: string;
}

/**
 * Options for {@link Host.upgrade}: the activator's. `canary` moves traffic in steps (only for `stateless` modules with
 * routes); `rollbackWindowMs` keeps the old version warm for that long instead of the host's default.
 */
export type HostUpgradeOptions = Pick<UpgradeOptions, 'canary' | 'rollbackWindowMs'>;

/** The events a host emits. */
export interface HostEvents extends Record<string, unknown> {
  'module:installed': { name: string; version: string; dir?: string };
  'module:activated': { name: string; version: string };
  'module:failed': { name: string; version: string; code: string; message: string };
  'module:upgraded': { name: string; from: string; to: string };
  'module:upgrade-failed': { name: string; from: string; to: string; code: string; message: string };
  /** Traffic went back to the warm previous version: by `host.rollback`, or after the new one failed its health probes. */
  'module:rolled-back': { name: string; from: string; to: string };
  /** A running module got new config values (`ctx.config` holds them; its `reconfigure` hook was told). */
  'module:reconfigured': { name: string; hookError?: string };
  /** A rollback could not hand the state back (or the warm version failed): `from` keeps serving. */
  'module:rollback-refused': { name: string; from: string; to: string; code: string; message: string };
  'module:removed': { name: string; version: string };
  /** The health monitor saw a module's health change (`ok`, `degraded`, `fail`), or its policy's action finished. */
  'module:health': ModuleHealthEvent;
  'folder:error': FolderProblem;
  'watch:error': { message: string };
  /** Development mode: a version's edited files serve now, after `ms` (from the scan that saw them until the switch). */
  'module:reloaded': { name: string; version: string; dir: string; ms: number };
  /** Development mode: a version's edited files did not load or pass the gate; the previous code keeps serving. */
  'module:reload-failed': { name: string; version: string; dir: string; code: string; message: string };
  /** `host.tenants.apply` (or `rollback`) finished a tenant: `done` of `total`, under snapshot `snapshotId`. */
  'tenants:progress': { snapshotId: string; tenant: string; done: number; total: number };
}

/**
 * The batteries-included host. `createHost({ modules })` returns a `TypedHost`: this, typed by the modules it was
 * given as definitions.
 */
export interface Host {
  readonly registry: Registry;
  readonly sandbox: Sandbox;
  readonly audit: AuditLog;
  readonly router: Router<BoundHandler>;
  /** The prefix of the keys it writes in its storage (its `namespace` option, default `modhost`). */
  readonly namespace: string;
  /** The host's own logger (its `logger` option): `@modhost/http` logs request failures here, with the request id. */
  readonly log: Logger;
  /** What the host reports spans to (its `telemetry` option, combined): `@modhost/http` reports each request here. */
  readonly telemetry: Telemetry;
  /** Listen with `on(event, fn)` (returns `off`), `once`, `onAny`. The host alone emits. */
  readonly events: HostEventSource;
  /** Loads `modules` and `modulesDir`, activates everything that resolves, starts the watcher. */
  start(): Promise<ActivationReport>;
  /**
   * Stops the watcher and every module, dependents first, and every guest. Best effort: a module that fails to
   * stop never keeps the others running; what failed is in the report. Never rejects.
   */
  stop(): Promise<StopReport>;
  /** Registers and activates a definition or a module folder. */
  install(source: AnyModuleDefinition | string): Promise<ModuleStatus>;
  /** Deactivates and unregisters a module (and, with `cascade`, the modules that depend on it). */
  uninstall(name: string, options?: { cascade?: boolean }): Promise<void>;
  /**
   * Lets a tenant use a module (requests with that tenant reach its routes), or with no tenant lets every request
   * reach it. A module is host-wide until it is first enabled for a tenant; from then on it serves only the tenants it
   * is enabled for, and a request with no tenant never reaches it, until `enable(name)` makes it host-wide again:
   * that runs the module through its health gate first, and a module that fails it stays as it was
   * (`HEALTH_CHECK_FAILED`).
   */
  enable(name: string, options?: { tenant?: string }): Promise<void>;
  /**
   * Stops serving a tenant from a module (it keeps running for the others), or with no tenant takes away its
   * host-wide access: it then serves only the tenants it is enabled for.
   */
  disable(name: string, options?: { tenant?: string }): Promise<void>;
  /** Sets a config layer: host-wide, or with `tenant` that tenant's; checked by the module's schema (`CONFIG_INVALID`). */
  configure(name: string, values: Readonly<Record<string, unknown>>, options?: { tenant?: string }): Promise<void>;
  /** Hot-swaps a module to a registered version through the health gate. */
  upgrade(name: string, version: string, options?: HostUpgradeOptions): Promise<UpgradeReport>;
  /** Points a module back at the version it replaced, while that is warm. */
  rollback(name: string): Promise<UpgradeReport>;
  /**
   * True when `name` serves `tenant` (`undefined`: a request with no tenant): it is active, and it is host-wide or
   * enabled for that tenant. See {@link Host.enable}.
   */
  isEnabled(name: string, tenant: string | undefined): boolean;
  /**
   * What the health monitor says now, read from memory (no storage): whether the host has started (and not stopped),
   * whether the monitor runs, and each active module's health. What `/readyz` from `@modhost/http/health` reads.
   */
  health(): HostHealth;
  /** This instance's view: its id, every module (what serves here), folders that could not load. */
  /**
   * Every module's status, sorted by name; with `limit` (and `after`, the last name of the previous page) one page,
   * and `next` (the name to pass as `after`) while more remain.
   */
  status(page?: { readonly limit?: number; readonly after?: string }): Promise<{
    instance: { readonly id: string };
    modules: ModuleStatus[];
    problems: FolderProblem[];
    next?: string;
  }>;
  /** Every instance sharing the storage, live or expired, with the versions and states each observed. */
  fleet(): Promise<FleetInstance[]>;
  /** This instance's id. */
  readonly instanceId: string;
  /** What `start()` or a rescan would change, before changing it. */
  plan(): Promise<HostPlan>;
  /** Scans `modulesDir` now and applies what changed (the watcher calls this after its debounce). */
  rescan(): Promise<void>;
  /** The public API of an active module (`undefined` when it is not active), as the type you name (default `unknown`). */
  api<T = unknown>(name: string): T | undefined;
  /**
   * Many tenants at once: `apply` sets the enabled modules and config of each tenant listed (checked first, with a
   * dry run; a snapshot first, with rollback), `export` reads them in the same shape, `rollback` goes back to a
   * snapshot. See docs/hosting.md, "Moving tenants in bulk".
   */
  readonly tenants: HostTenants;
}

/** What {@link Host.health} says. */
export interface HostHealth {
  readonly started: boolean;
  readonly monitoring: boolean;
  readonly modules: readonly ModuleHealth[];
}

/** The listening side of the host's events: a listener that throws never breaks the host. */
export type HostEventSource = Pick<Emitter<HostEvents>, 'on' | 'once' | 'off' | 'onAny'>;

/** One instance in the fleet view. */
export interface FleetInstance {
  readonly id: string;
  /** False once its lease expired without renewal (it crashed, or lost the storage): its states are stale. */
  readonly alive: boolean;
  /** True when it stopped cleanly; its states are its last observations. */
  readonly stopped: boolean;
  readonly startedAt: number;
  readonly renewedAt: number;
  readonly expiresAt: number;
  /** What it observed of each module version it touched. */
  readonly modules: readonly {
    readonly name: string;
    readonly version: string;
    readonly state: string;
    /** Its health on that instance when it last renewed its lease (`ok`, `degraded`, `fail`), for what it serves. */
    readonly health?: string;
    /** How long each phase of its last start on that instance took, ms. */
    readonly timings?: Readonly<Record<string, number>>;
    readonly error?: string;
  }[];
}
