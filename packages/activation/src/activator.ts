import {
  type AnyModuleDefinition,
  type Clock,
  isModhostError,
  type LifecycleState,
  type Logger,
  ModhostError,
  type ModuleContext,
  memoryStorage,
  type Registry,
  type RouteRequest,
  type RouteResponse,
  type StorageAdapter,
  summarizeCause,
  systemClock,
} from '@modhost/core';
import type { Plan } from '@modhost/resolver';
import { type HealthGateOptions, healthGate } from './health.js';
import { compileSchedules, createJobRunner, type JobEvent, type JobRunner } from './jobs.js';
import { markServed as markMigrationsServed, migrate, undoBatch } from './migrations.js';
import { type ContextFactory, type ContextParts, consoleLogger, createModuleContext, createModuleStorage } from './module-context.js';
import { recordIfAllowed } from './record-state.js';
import { createRouteTable, type RouteTable } from './route-table.js';
import type { Router } from './router.js';
import { timeoutError, withTimeout } from './timeouts.js';
import { finishWarm, rollbackModule, type UpgradeOptions, type UpgradeReport, upgradeModule } from './upgrade.js';

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
   * Builds each module version's `ctx` (default: {@link createModuleContext}, everything handed over). Pass
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

type Phase = 'load' | 'migrate' | 'start' | 'verify';
type Timings = { load?: number; migrate?: number; start?: number; verify?: number };

/** A route handler bound to one module version's context. */
export type BoundHandler = (req: RouteRequest) => RouteResponse | Promise<RouteResponse>;

/** Why a version did not reach `ready`. @internal */
export interface StartFailure {
  readonly phase: Phase;
  readonly timings: Timings;
  readonly error: unknown;
  readonly summary: { readonly code: string; readonly message: string; readonly timedOut: boolean };
}

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
}

/** What upgrades need from the activator. @internal */
export interface Engine {
  readonly registry: Registry;
  readonly clock: Clock;
  readonly timeouts: PhaseTimeouts;
  readonly options: ActivatorOptions;
  readonly running: Map<string, Running>;
  startVersion(name: string, version: string, depNames: readonly string[]): Promise<{ instance: Running; timings: Timings }>;
  stopOne(r: Running): Promise<{ error?: ModhostError }>;
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
}

const DEFAULT_TIMEOUTS: PhaseTimeouts = { load: 30_000, migrate: 120_000, start: 30_000, verify: 60_000, stop: 30_000 };

/** Walks the lifecycle table from wherever the version is to `to`, through the states in `via`. */
async function moveTo(registry: Registry, name: string, version: string, via: readonly LifecycleState[]): Promise<void> {
  const current = (await registry.get(name, version))?.status;
  const start = current === undefined ? 0 : via.indexOf(current) + 1;
  for (const s of via.slice(start)) await registry.transition(name, version, s);
}

/**
 * Creates the activation engine.
 *
 * Scheduling is event-driven: a module enters the ready queue when its last dependency becomes active, and a
 * slot is filled the moment one frees up; no timer polls. The queue serves the module with the longest chain of
 * modules waiting on it first (the plan's `longestPath`), which shortens the total time.
 */
export function createActivator(options: ActivatorOptions): Activator {
  const { registry } = options;
  const clock = options.clock ?? systemClock;
  const slots = Math.max(1, options.slots ?? 4);
  const timeouts: PhaseTimeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const required = new Set(options.required ?? []);
  const storage = options.storage ?? memoryStorage();
  const loggerFor = options.logger ?? consoleLogger;
  const running = new Map<string, Running>();
  let activeOrder: string[] = [];

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
  /** Compiles a version's routes, each handler bound to that version's context. */
  const tableOf = (r: Running) =>
    createRouteTable<BoundHandler>(
      { module: r.name, version: r.version },
      (r.def.routes ?? []).map((route) => ({ method: route.method, path: route.path, handler: (req) => route.handler(req, r.ctx) })),
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

  /**
   * Takes one version from `resolved` through load, start and the health gate to `ready`. On failure it undoes
   * what the module did, records the failure in the registry and throws a {@link StartFailure}.
   */
  const startVersion = async (name: string, version: string, depNames: readonly string[]): Promise<{ instance: Running; timings: Timings }> => {
    const timings: Timings = {};
    let phase: Phase = 'load';
    let instance: Running | undefined;
    let t = clock.now();
    const lap = (p: Phase) => {
      const now = clock.now();
      timings[p] = now - t;
      t = now;
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
      const config = resolvedConfig.values;
      const deps = new Map(depNames.map((d) => [d, () => running.get(d)?.api] as const));
      const parts: ContextParts = {
        module: name,
        version,
        config,
        logger: loggerFor(name),
        storage: createModuleStorage(storage, options.namespace ?? 'modhost', name),
        deps,
        services: options.services ?? {},
      };
      // One signal per version: it aborts when the context is revoked, so a guest or a long task can stop with it.
      const stopped = new AbortController();
      const withSignal = { ...parts, signal: stopped.signal };
      const built = options.contextFactory ? await options.contextFactory(withSignal, def) : { ctx: createModuleContext(withSignal) };
      const ctx = built.ctx;
      const revoke = () => {
        stopped.abort();
        built.revoke?.();
      };
      const inst: Running = { name, version, def, ctx, api: undefined, revoke };
      instance = inst;
      if ((def.migrations?.length ?? 0) > 0) {
        phase = 'migrate';
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
      phase = 'start';
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
      phase = 'verify';
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
      await registry.transition(name, version, 'ready');
      return { instance: inst, timings };
    } catch (e) {
      lap(phase);
      const code = isModhostError(e) ? e.code : e instanceof Error ? e.name : 'Error';
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
      await registry.transition(name, version, 'failed', { phase, error: e, timedOut });
      const failure: StartFailure = { phase, timings, error: e, summary: { code, message: e instanceof Error ? e.message : summarizeCause(e), timedOut } };
      throw failure;
    }
  };

  const migrationStore = {
    storage,
    namespace: options.namespace ?? 'modhost',
    clock,
    owner: options.hostId ?? `host-${Math.random().toString(36).slice(2, 10)}`,
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

  const engine: Engine = {
    registry,
    clock,
    timeouts,
    options,
    running,
    startVersion,
    stopOne,
    tableOf,
    prefixOf,
    startJobs,
    stopJobs,
    markServed,
    switchRoutes,
    retire,
  };

  const activator: Activator = {
    upgrade: (name, version, o) => upgradeModule(engine, name, version, o),
    rollback: (name) => rollbackModule(engine, name),
    get active() {
      return [...activeOrder];
    },
    api: (name) => running.get(name)?.api,
    versionOf: (name) => running.get(name)?.version,

    async activate(plan) {
      const outcomes = new Map<string, ModuleOutcome>();
      const order = [...plan.order];
      const index = new Map(order.map((n, i) => [n, i]));
      const waitingOn = new Map(order.map((n) => [n, plan.dependenciesOf(n).length]));
      const started: string[] = [];
      let aborted: string | undefined;
      let inFlight = 0;
      let peak = 0;

      // Ready queue: a binary heap, longest remaining path first, then plan order.
      const heap: string[] = [];
      const before = (a: string, b: string) => {
        const d = (plan.longestPath(b) ?? 0) - (plan.longestPath(a) ?? 0);
        return d !== 0 ? d < 0 : (index.get(a) as number) < (index.get(b) as number);
      };
      const push = (n: string) => {
        heap.push(n);
        for (let i = heap.length - 1; i > 0; ) {
          const p = (i - 1) >> 1;
          if (!before(heap[i] as string, heap[p] as string)) break;
          [heap[i], heap[p]] = [heap[p] as string, heap[i] as string];
          i = p;
        }
      };
      const pop = (): string | undefined => {
        const top = heap[0];
        const last = heap.pop();
        if (heap.length > 0 && last !== undefined) {
          heap[0] = last;
          for (let i = 0; ; ) {
            const l = 2 * i + 1;
            const r = l + 1;
            let m = i;
            if (l < heap.length && before(heap[l] as string, heap[m] as string)) m = l;
            if (r < heap.length && before(heap[r] as string, heap[m] as string)) m = r;
            if (m === i) break;
            [heap[i], heap[m]] = [heap[m] as string, heap[i] as string];
            i = m;
          }
        }
        return top;
      };

      // Plan everything first, so the registry shows what is coming.
      for (const name of order) {
        const version = plan.versionOf(name) as string;
        if (running.get(name)?.version === version) {
          outcomes.set(name, { name, version, state: 'already-active', timings: {} });
          continue;
        }
        if (!registry.getDefinition(name, version) && !(await registry.get(name, version))) {
          throw new ModhostError('MODULE_NOT_FOUND', `${name}@${version} is in the plan but not registered; register it before activating`, {
            details: { module: name, version },
          });
        }
        await moveTo(registry, name, version, ['resolved']);
      }

      let finish!: () => void;
      const done = new Promise<void>((resolve) => {
        finish = resolve;
      });
      const deadline = Number.isFinite(options.progressDeadlineMs ?? 600_000)
        ? clock.setTimeout(() => {
            aborted ??= `the progress deadline of ${options.progressDeadlineMs ?? 600_000} ms passed`;
            settle();
          }, options.progressDeadlineMs ?? 600_000)
        : undefined;

      /** Blocks everything that (transitively) depends on `failed`, so independent modules go on. */
      const blockDependents = async (failed: string) => {
        const queue = plan.dependentsOf(failed);
        for (let i = 0; i < queue.length; i++) {
          const d = queue[i] as string;
          if (outcomes.has(d)) continue;
          const version = plan.versionOf(d) as string;
          outcomes.set(d, { name: d, version, state: 'blocked', blockedBy: failed, timings: {} });
          await registry.transition(d, version, 'blocked', { reason: `dependency ${failed} failed` });
          queue.push(...plan.dependentsOf(d));
        }
      };

      const runOne = async (name: string): Promise<void> => {
        const version = plan.versionOf(name) as string;
        try {
          const { instance, timings } = await startVersion(name, version, plan.dependenciesOf(name));
          await registry.transition(name, version, 'active');
          // The desired state says what should run, so an upgrade that is rolled back has a version to fall back to.
          await registry.setDesiredVersion(name, version);
          running.set(name, instance);
          switchRoutes(instance);
          startJobs(instance);
          await markServed(instance);
          activeOrder = [...activeOrder.filter((n) => n !== name), name];
          started.push(name);
          outcomes.set(name, { name, version, state: 'active', timings });
        } catch (e) {
          const f = e as StartFailure;
          outcomes.set(name, { name, version, state: 'failed', phase: f.phase, error: f.summary, timings: f.timings });
          if (required.has(name)) aborted ??= `required module ${name} failed in ${f.phase}`;
          else await blockDependents(name);
        }
      };

      let settled = false;
      const settle = () => {
        if (!settled && inFlight === 0 && (heap.length === 0 || aborted !== undefined)) {
          settled = true;
          finish();
        }
      };
      const launch = () => {
        while (aborted === undefined && inFlight < slots && heap.length > 0) {
          const name = pop() as string;
          inFlight++;
          peak = Math.max(peak, inFlight);
          void runOne(name).then(async () => {
            inFlight--;
            if (outcomes.get(name)?.state === 'active') {
              for (const d of plan.dependentsOf(name)) {
                const left = (waitingOn.get(d) as number) - 1;
                waitingOn.set(d, left);
                if (left === 0 && !outcomes.has(d)) push(d);
              }
            }
            launch();
            settle();
          });
        }
      };
      for (const name of order) {
        if (outcomes.get(name)?.state === 'already-active') {
          for (const d of plan.dependentsOf(name)) waitingOn.set(d, (waitingOn.get(d) as number) - 1);
        }
      }
      for (const name of order) if (!outcomes.has(name) && waitingOn.get(name) === 0) push(name);
      launch();
      settle();
      await done;
      if (deadline !== undefined) clock.clearTimeout(deadline);

      if (aborted !== undefined) {
        // Roll back everything this activation started, dependents first; skip what never ran.
        for (const name of [...started].reverse()) {
          const r = running.get(name);
          if (!r) continue;
          await recordIfAllowed(registry, name, r.version, 'draining', { reason: aborted });
          await retire(r, true);
          running.delete(name);
          activeOrder = activeOrder.filter((n) => n !== name);
          await recordIfAllowed(registry, name, r.version, 'stopped', { reason: aborted });
          outcomes.set(name, { ...(outcomes.get(name) as ModuleOutcome), state: 'stopped', blockedBy: aborted });
        }
        for (const name of order) {
          if (outcomes.has(name)) continue;
          const version = plan.versionOf(name) as string;
          outcomes.set(name, { name, version, state: 'blocked', blockedBy: aborted, timings: {} });
          await registry.transition(name, version, 'blocked', { reason: aborted });
        }
      }
      const modules = order.map((n) => outcomes.get(n) as ModuleOutcome);
      return {
        ok: aborted === undefined && modules.every((m) => m.state === 'active' || m.state === 'already-active'),
        ...(aborted === undefined ? {} : { aborted: { reason: aborted } }),
        modules,
        peakConcurrency: peak,
      };
    },

    async deactivate(names, opts = {}) {
      const targets = new Set(names ?? activeOrder);
      for (const n of targets) if (!running.has(n)) throw new ModhostError('MODULE_NOT_FOUND', `${n} is not active`, { details: { module: n } });
      // Who depends on what among active modules: from each running module's declared dependencies.
      const dependentsOf = (n: string) => activeOrder.filter((m) => m !== n && Object.hasOwn(running.get(m)?.def.dependencies ?? {}, n));
      for (let grew = true; grew; ) {
        grew = false;
        for (const n of [...targets]) {
          const users = dependentsOf(n).filter((d) => !targets.has(d));
          if (users.length === 0) continue;
          if (!opts.cascade) {
            throw new ModhostError(
              'MODULE_IN_USE',
              `cannot stop ${n}: active module${users.length === 1 ? '' : 's'} ${users.join(', ')} depend${users.length === 1 ? 's' : ''} on it; stop them first or pass { cascade: true }`,
              {
                details: { module: n, dependents: users },
              },
            );
          }
          for (const u of users) targets.add(u);
          grew = true;
        }
      }
      const outcomes: ModuleOutcome[] = [];
      // Best effort: one module that fails to stop (or a storage error while recording it) never keeps the
      // others running; each failure is reported in its outcome.
      const failedOutcome = (name: string, version: string, e: unknown): ModuleOutcome => {
        const error = isModhostError(e)
          ? e
          : new ModhostError('ROLLBACK_FAILED', `${name}: stopping failed: ${summarizeCause(e)}`, { cause: e, details: { module: name } });
        return {
          name,
          version,
          state: 'failed',
          error: { code: error.code, message: error.message, timedOut: error.code === 'ACTIVATION_TIMEOUT' },
          timings: {},
        };
      };
      // A module still inside an upgrade's rollback window: its warm previous version stops first.
      for (const n of targets)
        await finishWarm(engine, n).catch((e: unknown) => loggerFor(n).error(`stopping its warm previous version failed: ${summarizeCause(e)}`));
      // Reverse activation order: dependents stop before what they depend on.
      for (const name of [...activeOrder].reverse()) {
        if (!targets.has(name)) continue;
        const r = running.get(name) as Running;
        running.delete(name);
        activeOrder = activeOrder.filter((n) => n !== name);
        try {
          // A version whose guest failed for good is `failed` already: it stops without draining.
          await recordIfAllowed(registry, name, r.version, 'draining');
          const { error } = await retire(r, true);
          if (error) {
            await recordIfAllowed(registry, name, r.version, 'failed', { phase: 'drain', error });
            outcomes.push(failedOutcome(name, r.version, error));
          } else {
            await recordIfAllowed(registry, name, r.version, 'stopped');
            outcomes.push({ name, version: r.version, state: 'stopped', timings: {} });
          }
        } catch (e) {
          r.revoke?.();
          outcomes.push(failedOutcome(name, r.version, e));
        }
      }
      return outcomes;
    },
  };
  return activator;
}
