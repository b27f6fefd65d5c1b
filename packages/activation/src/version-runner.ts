// One module version's life: start (load → config → ctx → migrate → activate → health gate), stop and retire,
// and how a version is wired to its routes, jobs and migrations. The activation scheduler, deactivation and
// upgrades all work through the runner that createActivator makes; it also owns what runs now.
import {
  type AnyModuleDefinition,
  type Clock,
  childLogger,
  createEmitter,
  type Emitter,
  isModhostError,
  type Logger,
  ModhostError,
  type ModuleContext,
  noopTelemetry,
  type Registry,
  type RouteRequest,
  type SpanParent,
  type StorageAdapter,
  summarizeCause,
  type Telemetry,
  type TelemetrySpan,
} from '@modhost/core';
import { healthGate } from './health.js';
import { compileSchedules, createJobRunner, type JobRunner } from './jobs.js';
import { markServed as markMigrationsServed, migrate, undoBatch } from './migrations.js';
import { type ContextParts, createModuleContext, createModuleStorage } from './module-context.js';
import { inRequest, requestAwareLogger } from './request-scope.js';
import { createRouteTable, type RouteTable } from './route-table.js';
import { createTenantContexts } from './tenant-context.js';
import { timeoutError, withTimeout } from './timeouts.js';
import type { ActivatorEvents, ActivatorOptions, BoundHandler, PhaseTimeouts, UpgradeReport } from './types.js';

/** The phases of a start. @internal */
type Phase = 'load' | 'migrate' | 'start' | 'verify';
/** Milliseconds spent in each phase of a start. @internal */
type Timings = { load?: number; migrate?: number; start?: number; verify?: number };

/** Why a version did not reach `ready`. @internal */
export interface StartFailure {
  readonly phase: Phase;
  readonly timings: Timings;
  readonly error: unknown;
  readonly summary: { readonly code: string; readonly message: string; readonly timedOut: boolean };
}

/** Where a start's `modhost.module.start` span hangs, and why the version starts. @internal */
interface StartTrace {
  readonly parent?: SpanParent;
  readonly reason?: 'activate' | 'upgrade' | 'restart';
}

/** What {@link VersionRunner.startVersion} returns: the version at `ready`, or why it is not. @internal */
type StartResult = { readonly ok: true; readonly instance: Running; readonly timings: Timings } | { readonly ok: false; readonly failure: StartFailure };

/** A running module instance. @internal */
export interface Running {
  readonly name: string;
  readonly version: string;
  readonly def: AnyModuleDefinition;
  readonly ctx: ModuleContext;
  api: unknown;
  /** Its route table, when it has routes and the host gave a router. */
  table?: RouteTable<BoundHandler>;
  /** Its jobs, when it declares any. */
  jobs?: JobRunner;
  /** The migration batch this version ran, if any: undone if it never serves. */
  batch?: number;
  /** Revokes what its context handed out (from the context factory). */
  revoke?: () => void;
  /** The config `ctx.config` reads: replaced (never mutated) when the config changes while it runs. */
  readonly config: { value: Record<string, unknown> };
  /** Throws when the version may not serve a request now (its `routes:mount` was revoked host-wide). */
  readonly checkServe?: (() => void) | undefined;
  /** Its context bound to a tenant (made on that tenant's first request, revoked with the version); checks it may serve. */
  readonly tenantContext: (tenant: string) => Promise<ModuleContext>;
  /** Re-reads the config of every tenant context made so far (after a config change). */
  readonly refreshTenants: () => Promise<void>;
}

/** An upgrade inside its rollback window. @internal */
export interface WarmState {
  readonly previous: Running;
  readonly next: Running;
  readonly timers: unknown[];
  readonly until: number;
  /** Settles when the upgrade's bookkeeping after the switch is done: a rollback waits for it. */
  readonly recorded: Promise<void>;
  /** The rollback under way, if one is: a second one (by hand, or the automatic one) shares its outcome. */
  rolling?: Promise<UpgradeReport> | undefined;
  /** The upgrade's span: the drain at the window's end is one of its steps. */
  readonly span?: TelemetrySpan;
}

/** What the runner is built from: the activator's options with their defaults applied. @internal */
export interface RunnerSettings {
  readonly registry: Registry;
  readonly clock: Clock;
  readonly timeouts: PhaseTimeouts;
  readonly options: ActivatorOptions;
  readonly storage: StorageAdapter;
  readonly namespace: string;
  readonly loggerFor: (module: string) => Logger;
  /** Names this host in the migration lock. */
  readonly hostId: string;
}

/** Starts, wires and stops module versions, and keeps what runs. @internal */
export interface VersionRunner extends RunnerSettings {
  /** The version of each module that serves now. */
  readonly running: Map<string, Running>;
  /** Names of active modules in activation order: a module moves to the end each time it is activated. */
  readonly activeOrder: Set<string>;
  /** Upgraded modules inside their rollback window: the previous version is kept warm here. */
  readonly warm: Map<string, WarmState>;
  /** Where rollbacks are told (the activator hands out `on`). */
  readonly events: Emitter<ActivatorEvents>;
  /**
   * Takes one version from `resolved` through load, start and the health gate to `ready`. On failure it undoes
   * what the module did, records the failure in the registry and returns it.
   */
  startVersion(name: string, version: string, depNames: readonly string[], trace?: StartTrace): Promise<StartResult>;
  /** Where spans go (the activator's `telemetry`, or a no-op). */
  readonly telemetry: Telemetry;
  /** Runs a version's `deactivate` (bounded by the stop timeout) and, unless `keepContext`, revokes its context. */
  stopOne(r: Running, keepContext?: boolean): Promise<{ error?: ModhostError }>;
  /** Compiles a version's routes, each handler bound to that version's context. */
  tableOf(r: Running): RouteTable<BoundHandler>;
  prefixOf(name: string): string;
  /** Starts a running version's jobs (after it became active). */
  startJobs(r: Running): void;
  /** Stops a version's jobs, waiting for a run in progress. */
  stopJobs(r: Running): Promise<void>;
  /** Records that a version serves: its migration batch becomes permanent. */
  markServed(r: Running): Promise<void>;
  /** Points the module's route slot at this version. */
  switchRoutes(r: Running): void;
  /** Stops a version for good (jobs, routes if `unmount`, in-flight requests, deactivate). */
  retire(r: Running, unmount: boolean): Promise<{ error?: ModhostError }>;
}

/** Creates the runner that starts and stops versions for one activator. @internal */
export function createVersionRunner(settings: RunnerSettings): VersionRunner {
  const { registry, clock, timeouts, options, storage, loggerFor } = settings;
  const telemetry = options.telemetry ?? noopTelemetry;
  const running = new Map<string, Running>();
  // In a fleet, one instance runs a version's migrations; the others wait for it, bounded by the migrate timeout.
  const migrationStore = {
    storage,
    namespace: settings.namespace,
    clock,
    owner: settings.hostId,
    waitMs: Number.isFinite(timeouts.migrate) ? timeouts.migrate : 600_000,
  };

  const stopOne = async (r: Running, keepContext = false): Promise<{ error?: ModhostError }> => {
    try {
      if (r.def.deactivate)
        await withTimeout(
          clock,
          timeouts.stop,
          () => r.def.deactivate?.(r.ctx),
          () => timeoutError(r.name, 'stop', timeouts.stop),
        );
      return {};
    } catch (e) {
      return {
        error: isModhostError(e)
          ? e
          : new ModhostError('ROLLBACK_FAILED', `${r.name}: deactivate failed: ${summarizeCause(e)}`, { cause: e, details: { module: r.name } }),
      };
    } finally {
      if (!keepContext) r.revoke?.();
    }
  };

  const prefixOf = options.routePrefix ?? ((name: string) => `/${name}`);
  const tableOf = (r: Running) =>
    createRouteTable<BoundHandler>(
      { module: r.name, version: r.version },
      (r.def.routes ?? []).map((route) => {
        // A tenant's request runs with that tenant's ctx: its config, its grants (a tenant-scoped revoke holds), its storage.
        const serve = async (req: RouteRequest) => {
          if (req.tenant !== undefined) return route.handler(req, await r.tenantContext(req.tenant));
          r.checkServe?.();
          return route.handler(req, r.ctx);
        };
        return {
          method: route.method,
          path: route.path,
          permission: route.permission,
          accepts: typeof route.accepts === 'string' ? [route.accepts] : route.accepts,
          // The module's log records made while serving carry the request id and tenant.
          handler: (req: RouteRequest) => inRequest({ requestId: req.requestId, tenant: req.tenant }, () => serve(req)),
        };
      }),
    );
  /** Points a module's route slot at `r`'s table (mounting it the first time); a version without routes has none. */
  const switchRoutes = (r: Running) => {
    const router = options.router;
    if (!router) return;
    if ((r.def.routes?.length ?? 0) === 0) {
      router.unmount(prefixOf(r.name));
      return;
    }
    r.table ??= tableOf(r);
    const slot = router.slot(prefixOf(r.name));
    if (slot) slot.switchTo(r.table);
    else router.mount(prefixOf(r.name), r.table);
  };

  const startVersion = async (name: string, version: string, depNames: readonly string[], trace: StartTrace = {}): Promise<StartResult> => {
    const timings: Timings = {};
    let phase = 'load' as Phase;
    let instance: Running | undefined;
    let t = clock.now();
    const moduleSpan = telemetry.startSpan('modhost.module.start', { module: name, version, reason: trace.reason ?? 'activate' }, trace.parent);
    let phaseSpan: TelemetrySpan | undefined = telemetry.startSpan('modhost.module.phase', { module: name, version, phase }, moduleSpan);
    // A phase's span ends with its lap; the next one starts with the phase.
    const enter = (p: Phase) => {
      phase = p;
      phaseSpan = telemetry.startSpan('modhost.module.phase', { module: name, version, phase: p }, moduleSpan);
    };
    const lap = (p: Phase) => {
      const now = clock.now();
      timings[p] = now - t;
      t = now;
      phaseSpan?.end();
      phaseSpan = undefined;
    };
    try {
      await registry.transition(name, version, 'queued');
      await registry.transition(name, version, 'loading');
      const def = await withTimeout(
        clock,
        timeouts.load,
        () => registry.getDefinition(name, version),
        () => timeoutError(name, 'load', timeouts.load),
      );
      if (!def)
        throw new ModhostError('MODULE_NOT_FOUND', `${name}@${version} has no loaded code in this process; register its definition here`, {
          details: { module: name, version },
        });
      lap('load');
      // Config the schema rejects (or a storage failure) fails the version here, never a start on wrong values.
      const resolvedConfig = await registry.getConfig(name, { reveal: true });
      if (resolvedConfig.issues.length > 0) {
        throw new ModhostError(
          'CONFIG_INVALID',
          `${name}@${version}: its config does not pass its schema: ${resolvedConfig.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}. Fix it with registry.configure()`,
          { details: { module: name, version, issues: resolvedConfig.issues } },
        );
      }
      const cell = { value: Object.freeze({ ...resolvedConfig.values }) };
      const deps = new Map(depNames.map((d) => [d, () => running.get(d)?.api] as const));
      const parts: ContextParts = {
        module: name,
        version,
        config: cell.value,
        liveConfig: () => cell.value,
        // Every record names the module and version (and, while serving a request, the request and tenant).
        logger: requestAwareLogger(childLogger(loggerFor(name), { module: name, version })),
        storage: createModuleStorage(storage, settings.namespace, name),
        deps,
        services: options.services ?? {},
      };
      // One signal per version: it aborts when the context is revoked, so a guest or a long task can stop with it.
      const stopped = new AbortController();
      const withSignal = { ...parts, signal: stopped.signal };
      const built = options.contextFactory ? await options.contextFactory(withSignal, def) : { ctx: createModuleContext(withSignal) };
      const ctx = built.ctx;
      const tenants = createTenantContexts({
        parts: withSignal,
        def,
        registry,
        storage,
        namespace: settings.namespace,
        contextFactory: options.contextFactory,
      });
      const revoke = () => {
        stopped.abort();
        built.revoke?.();
        tenants.revoke();
      };
      const inst: Running = {
        ...{ name, version, def, ctx, api: undefined, revoke, config: cell },
        ...{ checkServe: built.checkServe, tenantContext: tenants.get, refreshTenants: tenants.refresh },
      };
      instance = inst;
      if ((def.migrations?.length ?? 0) > 0) {
        enter('migrate');
        await registry.transition(name, version, 'migrating');
        const result = await withTimeout(
          clock,
          timeouts.migrate,
          () => migrate(migrationStore, name, version, def.migrations ?? [], ctx),
          () => timeoutError(name, 'migrate', timeouts.migrate),
        );
        if (result.batch !== undefined) inst.batch = result.batch;
        lap('migrate');
      }
      enter('start');
      await registry.transition(name, version, 'starting');
      compileSchedules(name, def.jobs ?? []);
      inst.api = await withTimeout(
        clock,
        timeouts.start,
        () => def.activate?.(ctx),
        () => timeoutError(name, 'start', timeouts.start),
        // activate finished after its deadline: undo what it did.
        () => void stopOne(inst),
      );
      lap('start');
      enter('verify');
      await registry.transition(name, version, 'verifying');
      if (def.health) {
        const probe = def.health;
        await withTimeout(
          clock,
          timeouts.verify,
          () => healthGate(clock, name, () => probe(ctx), options.health),
          () => timeoutError(name, 'verify', timeouts.verify),
        );
      }
      lap('verify');
      await registry.transition(name, version, 'ready', { timings: { ...timings } });
      moduleSpan.end();
      return { ok: true, instance: inst, timings };
    } catch (e) {
      const code = isModhostError(e) ? e.code : e instanceof Error ? e.name : 'Error';
      const error = { code, message: e instanceof Error ? e.message : summarizeCause(e) };
      phaseSpan?.end({ error });
      lap(phase);
      moduleSpan.end({ error });
      const timedOut = isModhostError(e, 'ACTIVATION_TIMEOUT');
      // A module that started but failed its health gate is stopped again. One whose activate threw cleans up
      // after itself; one whose activate timed out is stopped when (if) it finishes.
      if (instance && phase === 'verify') await stopOne(instance, true);
      // A batch whose version never served is undone.
      if (instance?.batch !== undefined) {
        const inst = instance;
        await undoBatch(migrationStore, name, inst.batch as number, inst.def.migrations ?? [], inst.ctx).catch((err: unknown) =>
          loggerFor(name).error(`undoing migrations failed: ${summarizeCause(err)}`),
        );
      }
      // Its context dies with it, also when activate is still running past its deadline: whatever that late
      // activate does from now on is refused, and an isolated guest stops with the signal.
      instance?.revoke?.();
      // A throw while recording the failure (a storage error) rejects the start instead of returning it.
      await registry.transition(name, version, 'failed', { phase, error: e, timedOut });
      const failure: StartFailure = { phase, timings, error: e, summary: { code, message: e instanceof Error ? e.message : summarizeCause(e), timedOut } };
      return { ok: false, failure };
    }
  };

  const markServed = async (r: Running) => {
    if (r.batch !== undefined) await markMigrationsServed(migrationStore, r.name, r.batch);
  };
  const startJobs = (r: Running) => {
    if ((r.def.jobs?.length ?? 0) === 0) return;
    r.jobs ??= createJobRunner({
      module: r.name,
      clock,
      ctx: r.ctx,
      jobs: r.def.jobs ?? [],
      stopTimeoutMs: timeouts.stop,
      onEvent: (ev) => options.onJobEvent?.(r.name, ev),
    });
    r.jobs.start();
  };
  const stopJobs = async (r: Running) => {
    await r.jobs?.stop();
  };

  /**
   * Stops a version for good: its jobs, then (with `unmount`) its routes, then its requests in flight (bounded by the
   * stop timeout), then its `deactivate`. Upgrades pass `unmount: false`: the slot already points elsewhere.
   */
  const retire = async (r: Running, unmount: boolean) => {
    await stopJobs(r);
    if (r.table) {
      if (unmount) options.router?.unmount(prefixOf(r.name));
      await withTimeout(
        clock,
        timeouts.stop,
        () => r.table?.idle(),
        () => timeoutError(r.name, 'stop', timeouts.stop),
      ).catch(() => {});
    }
    return stopOne(r);
  };

  return {
    ...settings,
    running,
    activeOrder: new Set<string>(),
    warm: new Map<string, WarmState>(),
    events: createEmitter<ActivatorEvents>(),
    startVersion,
    telemetry,
    stopOne,
    tableOf,
    prefixOf,
    startJobs,
    stopJobs,
    markServed,
    switchRoutes,
    retire,
  };
}
