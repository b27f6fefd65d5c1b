import { dirname } from 'node:path';
import {
  type AnyModuleDefinition,
  type Clock,
  type ConfigDefinition,
  type HealthResult,
  isModhostError,
  ModhostError,
  type ModuleContext,
  noopTelemetry,
  type Registry,
  type RouteRequest,
  systemClock,
} from '@modhost/core';
import type { AuditLog } from './audit.js';
import { type GuestChannel, spawnProcessGuest, spawnWorkerGuest, type WorkerLimits } from './guest-channel.js';
import { nodePermissionFlags } from './node-permissions.js';
import type { Sandbox } from './sandbox.js';
import { type CallLimits, createSupervisor, type RestartPolicy, type Supervisor, type SupervisorEvent, type SupervisorStatus } from './supervisor.js';

/**
 * How a module is isolated: `worker` (a thread: crashes and quotas), `sandboxed` (a worker whose module code runs in
 * a Hardened JavaScript Compartment: ctx is its only power) or `process` (the OS enforces file access).
 */
export type Isolation = 'worker' | 'sandboxed' | 'process';

/** Options for {@link loadIsolatedModule}. */
export interface IsolatedModuleOptions {
  /** The module's entry file (ESM or CJS; its default export is the module definition). */
  entry: string;
  isolation: Isolation;
  /** The module's folder (default: the entry's folder). */
  root?: string;
  /** Grants, audit, integrity checks. Without one, the module gets no permissions and nothing is audited. */
  sandbox?: Sandbox;
  /** When given with a sandbox, the folder is checked against the integrity recorded for this name@version before every start. */
  expect?: { name: string; version: string };
  limits?: CallLimits & WorkerLimits;
  restart?: RestartPolicy;
  clock?: Clock;
  /** A host-side config schema (schemas cannot cross to the guest; config values do). */
  config?: ConfigDefinition<never>;
  /** When given, a module that fails for good is recorded as `failed` (phase `serve`) with its error. */
  registry?: Registry;
  /** Told about crashes, restarts, give-ups and the guest's log lines. */
  onEvent?: (event: SupervisorEvent) => void;
}

/** What the guest reports about the module's definition (its data, not its code). */
export interface GuestDescription {
  readonly name: string;
  readonly version: string;
  readonly permissions: string[];
  readonly dependencies: Record<string, string>;
  readonly optionalDependencies: Record<string, string>;
  readonly engines?: { host?: string };
  readonly stateMode?: 'stateless' | 'snapshot' | 'quiesce';
  readonly hooks: string[];
  readonly routes: { method: string; path: string; permission?: string; accepts?: string | string[] }[];
  readonly storageScope?: 'module' | 'tenant';
  readonly jobs: { name: string; schedule: string | { everyMs: number }; timeout?: number; retries?: number }[];
  readonly migrations: { name: string; down: boolean }[];
}

/** An isolated module: a definition to register (its hooks call into the guest) and its supervisor. */
export interface IsolatedModule {
  readonly definition: AnyModuleDefinition;
  readonly description: GuestDescription;
  /** The supervisor of the running guest, once activated. */
  status(): SupervisorStatus | undefined;
  /** Stops the guest (deactivate does this too). */
  stop(): Promise<void>;
}

/** A failure as a span records it: its code and message. */
const errorOf = (e: unknown) => ({
  code: isModhostError(e) ? e.code : e instanceof Error ? e.name : 'Error',
  message: e instanceof Error ? e.message : String(e),
});

/** `value` if it can be structured-cloned to a guest, else `undefined`. */
function crossable(value: unknown): unknown {
  try {
    return structuredClone(value);
  } catch {
    return undefined;
  }
}

const CTX_ROOTS = new Set(['storage', 'services', 'deps', 'net', 'fs']);

/** Finds the function a guest's ctx call names, walking only own properties of the host ctx. */
function ctxTarget(ctx: ModuleContext, path: string): ((...args: unknown[]) => unknown) | undefined {
  const parts = path.split('.');
  if (!CTX_ROOTS.has(parts[0] ?? '')) return undefined;
  let v: unknown = ctx;
  for (const part of parts) {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function') || !Object.hasOwn(v as object, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return typeof v === 'function' ? (v as (...args: unknown[]) => unknown) : undefined;
}

/** Describes the host ctx's capabilities (names only) so the guest can build the same shape. */
function describeCaps(ctx: ModuleContext) {
  const c = ctx as unknown as Record<string, unknown>;
  const names = (o: unknown) => (o && typeof o === 'object' ? Object.keys(o).filter((k) => typeof (o as Record<string, unknown>)[k] === 'function') : []);
  return {
    storage: 'storage' in c,
    net: 'net' in c,
    fs: 'fs' in c,
    services: Object.fromEntries(Object.keys(ctx.services).map((s) => [s, names(ctx.services[s])])),
    deps: Object.fromEntries(Object.keys(ctx.deps).map((d) => [d, names(ctx.deps[d])])),
  };
}

/** Serialises a fetch Response for the trip back to the guest. */
async function plainResponse(r: Response) {
  const headers: Record<string, string> = {};
  r.headers.forEach((value, key) => {
    headers[key] = value;
  });
  return { status: r.status, headers, body: await r.text() };
}

/**
 * Loads a module's code into an isolated guest, reads its description, and returns a definition whose hooks,
 * routes, jobs and API run in a fresh guest started at activation (and restarted on crashes). Register the
 * definition like any other; give the activator `sandbox.contextFor` so the ctx the guest reaches is attenuated.
 */
export async function loadIsolatedModule(options: IsolatedModuleOptions): Promise<IsolatedModule> {
  const clock = options.clock ?? systemClock;
  const root = options.root ?? dirname(options.entry);
  const { sandbox } = options;
  const audit: AuditLog | undefined = sandbox?.audit;
  const verify = async () => {
    if (sandbox && options.expect) await sandbox.verify({ ...options.expect, root });
  };
  const spawn = (grantedOf: () => ReturnType<Sandbox['grants']['cells']>): GuestChannel =>
    options.isolation !== 'process'
      ? spawnWorkerGuest(options.limits, { sandboxed: options.isolation === 'sandboxed' })
      : spawnProcessGuest({
          execArgv: nodePermissionFlags({
            root,
            granted: grantedOf()
              .filter((c) => c.active)
              .map((c) => c.permission),
            ...(options.limits?.maxOldGenerationSizeMb !== undefined ? { maxOldGenerationSizeMb: options.limits.maxOldGenerationSizeMb } : {}),
          }),
        });

  // Describe: load the code once in a short-lived guest with no ctx, read its data, stop it.
  await verify();
  let description: GuestDescription | undefined;
  const probe = createSupervisor({
    module: options.entry,
    clock,
    spawn: () => spawn(() => []),
    boot: async (call) => {
      description = (await call('init', [{ entry: options.entry, root, ...(options.expect ? { module: options.expect.name } : {}) }])) as GuestDescription;
    },
    onCtxCall: () => {
      throw new Error('no ctx while loading');
    },
    limits: { callTimeoutMs: options.limits?.callTimeoutMs ?? 30_000 },
  });
  try {
    await probe.start();
  } catch (e) {
    throw new ModhostError(
      'MANIFEST_INVALID',
      `${options.entry}: could not load the module in a ${options.isolation} guest: ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
        details: { entry: options.entry },
      },
    );
  } finally {
    await probe.stop();
  }
  // A folder module's entry may leave identity to its manifest: `expect` fills it in.
  const described = description as GuestDescription;
  const d: GuestDescription = { ...described, name: described.name ?? options.expect?.name, version: described.version ?? options.expect?.version };
  if (options.expect && (d.name !== options.expect.name || d.version !== options.expect.version)) {
    throw new ModhostError(
      'MANIFEST_INVALID',
      `${options.entry} defines ${d.name}@${d.version}, but ${options.expect.name}@${options.expect.version} was expected`,
      {
        details: { entry: options.entry, expected: options.expect, found: { name: d.name, version: d.version } },
      },
    );
  }

  let supervisor: Supervisor | undefined;
  let hostCtx: ModuleContext | undefined;
  // Tenant contexts of requests in flight, by the scope id the guest echoes on its ctx calls.
  const requests = new Map<number, ModuleContext>();
  let lastScope = 0;
  let apiShape: { methods: string[]; data: unknown } | undefined;
  const telemetry = options.sandbox?.telemetry ?? noopTelemetry;
  const call = async (op: string, args: unknown[] = [], parent?: string) => {
    if (!supervisor) throw new ModhostError('MODULE_CRASHED', `${d.name}: its guest is not running (activate it first)`, { details: { module: d.name } });
    // A health probe outside any request is routine (the monitor probes every period): not a trace of its own.
    if (parent === undefined && (op === 'health' || op === 'ping')) return supervisor.call(op, args);
    const span = telemetry.startSpan('modhost.guest.call', { module: d.name, version: d.version, tier: options.isolation, method: op }, parent);
    try {
      const value = await supervisor.call(op, args);
      span.end();
      return value;
    } catch (e) {
      span.end({ error: errorOf(e) });
      throw e;
    }
  };

  // Starts the guest on first use (migrations run before activate) and binds it to the host ctx.
  const ensureStarted = async (ctx: ModuleContext) => {
    if (supervisor && hostCtx === ctx && supervisor.status().state !== 'stopped') return;
    await supervisor?.stop();
    hostCtx = ctx;
    const tenant = ctx.tenant;
    const s = createSupervisor({
      module: d.name,
      tenant,
      clock,
      ...(audit ? { audit } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.restart ? { restart: options.restart } : {}),
      spawn: async () => {
        await verify();
        return spawn(() => sandbox?.grants.cells(d.name, tenant) ?? []);
      },
      boot: async (bootCall) => {
        await bootCall('init', [{ entry: options.entry, root, module: d.name, version: d.version, tenant, config: ctx.config, caps: describeCaps(ctx) }]);
        // After a crash, the restarted guest is activated again before it takes calls.
        if (apiShape !== undefined) await bootCall('activate');
      },
      onCtxCall: async (path, args, scope, trace) => {
        // A call made while serving a tenant's request goes through that tenant's ctx (its grants, its storage).
        const target = scope === undefined ? ctx : requests.get(scope);
        const fn = target ? ctxTarget(target, path) : undefined;
        // The guest names the path: only one its ctx has becomes an attribute, so values stay bounded.
        const span = telemetry.startSpan('modhost.ctx.call', { module: d.name, tier: options.isolation, capability: fn ? path : 'unknown' }, trace);
        try {
          if (!target)
            throw new ModhostError('PERMISSION_DENIED', `${d.name}: ctx call "${path}" belongs to a request that has ended`, {
              details: { module: d.name, path, reason: 'request-ended' },
            });
          if (!fn)
            throw new ModhostError('PERMISSION_DENIED', `${d.name}: its ctx has no "${path}"; it was not granted`, { details: { module: d.name, path } });
          const value = await fn(...args);
          span.end();
          return path === 'net.fetch' ? plainResponse(value as Response) : value;
        } catch (e) {
          span.end({ error: errorOf(e) });
          throw e;
        }
      },
    });
    s.onAny((_, e) => options.onEvent?.(e));
    s.on('log', (e) => ctx.logger[e.level](e.message, e.fields));
    s.on('gave-up', (e) => void options.registry?.transition(d.name, d.version, 'failed', { phase: 'serve', error: e.error }).catch(() => {}));
    supervisor = s;
    // A revoked context (the version stopped, or its start failed or timed out) stops its guest with it, so a
    // guest whose activate never returned does not keep running.
    ctx.signal?.addEventListener('abort', () => void s.stop(), { once: true });
    await s.start();
  };

  const has = (hook: string) => d.hooks.includes(hook);
  const definition: Record<string, unknown> = {
    name: d.name,
    version: d.version,
    permissions: d.permissions,
    dependencies: d.dependencies,
    optionalDependencies: d.optionalDependencies,
    ...(d.engines ? { engines: d.engines } : {}),
    ...(d.stateMode ? { stateMode: d.stateMode } : {}),
    ...(d.storageScope ? { storageScope: d.storageScope } : {}),
    ...(options.config ? { config: options.config } : {}),
    routes: d.routes.map((r, i) => ({
      method: r.method,
      path: r.path,
      ...(r.permission ? { permission: r.permission } : {}),
      ...(r.accepts ? { accepts: r.accepts } : {}),
      handler: async (route: RouteRequest, ctx: ModuleContext) => {
        // The app's principal crosses as data only (a class instance as its fields; one holding functions not at all).
        const req = { ...route, ...(route.principal !== undefined ? { principal: crossable(route.principal) } : {}) };
        if (ctx.tenant === undefined) return call('route', [i, req], route.traceparent);
        const scope = ++lastScope;
        requests.set(scope, ctx);
        try {
          return await call('route', [i, req, { id: scope, tenant: ctx.tenant, config: ctx.config }], route.traceparent);
        } finally {
          requests.delete(scope);
        }
      },
    })),
    jobs: d.jobs.map((j, i) => ({ ...j, run: () => call('job', [i]) })),
    migrations: d.migrations.map((m, i) => ({
      name: m.name,
      up: async (ctx: ModuleContext) => {
        await ensureStarted(ctx);
        await call('migrateUp', [i]);
      },
      ...(m.down
        ? {
            down: async (ctx: ModuleContext) => {
              await ensureStarted(ctx);
              await call('migrateDown', [i]);
            },
          }
        : {}),
    })),
    async activate(ctx: ModuleContext) {
      await ensureStarted(ctx);
      apiShape = (await call('activate')) as { methods: string[]; data: unknown };
      const shape = apiShape;
      if (shape.methods.length === 0) return shape.data;
      const entries: Record<string, unknown> = { ...(shape.data && typeof shape.data === 'object' ? shape.data : {}) };
      // Defined, not assigned: a method named `__proto__` must not set the API object's prototype.
      for (const m of shape.methods)
        Object.defineProperty(entries, m, { value: (...args: unknown[]) => call('api', [m, args]), enumerable: true, configurable: true, writable: true });
      return Object.freeze(entries);
    },
    async deactivate(ctx: ModuleContext) {
      // The guest serves one instance at a time: a restart of the same version binds it to the fresh instance's
      // ctx, and the replaced instance's stop must not stop the guest now serving.
      if (hostCtx !== undefined && ctx !== hostCtx) return;
      try {
        if (has('deactivate') && supervisor?.status().state === 'running') await call('deactivate');
      } finally {
        await supervisor?.stop();
        apiShape = undefined;
      }
    },
    async health(): Promise<HealthResult> {
      const st = supervisor?.status();
      if (st?.state !== 'running')
        return {
          status: 'fail',
          detail: `its ${options.isolation} guest is ${st?.state ?? 'not started'}${st?.lastCrash ? ` (last crash: ${st.lastCrash.kind}: ${st.lastCrash.detail})` : ''}`,
        };
      return has('health') ? ((await call('health')) as HealthResult) : true;
    },
    // The guest keeps its own copy of the config: every change is sent to it (and to its reconfigure hook).
    reconfigure: (config: unknown) => call('reconfigure', [config]),
    ...(has('exportState') ? { exportState: () => call('exportState') } : {}),
    ...(has('importState') ? { importState: (state: unknown, from: string) => call('importState', [state, from]) } : {}),
  };

  return {
    definition: definition as unknown as AnyModuleDefinition,
    description: d,
    status: () => supervisor?.status(),
    stop: async () => {
      await supervisor?.stop();
    },
  };
}
