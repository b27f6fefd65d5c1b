import { hostname } from 'node:os';
import { type BoundHandler, createActivator, createRouter } from '@modhost/activation';
import {
  type AnyModuleDefinition,
  childLogger,
  combineTelemetry,
  createEmitter,
  createJsonLogger,
  createRegistry,
  ModhostError,
  memoryStorage,
  systemClock,
  type Telemetry,
} from '@modhost/core';
import { createAuditLog, createSandbox, type ServiceFactory, storageAuditSink } from '@modhost/sandbox';
import semver from 'semver';
import { previewPlan } from './activation-policy.js';
import { DEV_DEBOUNCE_MS } from './dev-mode.js';
import { createFolderSync } from './folder-sync.js';
import type { ModulesOf, TypedHost } from './host-modules.js';
import type { Host, HostEvents, HostOptions } from './host-types.js';
import { createInstalledFolders } from './installed-folders.js';
import { createInstanceSync } from './instance-sync.js';
import { instrumentStorage } from './instrument-storage.js';
import { assertTierOptions, minimumTier } from './isolation-policy.js';
import { createModuleActions } from './module-actions.js';
import { createModuleCatalog } from './module-catalog.js';
import { type ModuleStatus, readModuleStatus } from './module-status.js';
import { stopHost } from './stop-host.js';
import { createTenantMigration } from './tenant-migration.js';

export type {
  FleetInstance,
  FolderProblem,
  Host,
  HostEventSource,
  HostEvents,
  HostHealth,
  HostOptions,
  HostPlan,
  HostUpgradeOptions,
  StopReport,
} from './host-types.js';

/**
 * Creates a host: registry, resolver, activation and sandbox wired with sensible defaults. Given `modules` as
 * definitions, the host knows them by name and type: `configure('tasks', values)` checks `values` against the tasks
 * schema and `api('tasks')` returns its API type (see {@link TypedHost}).
 */
export function createHost<const Ms extends readonly AnyModuleDefinition[] = readonly AnyModuleDefinition[]>(
  options: HostOptions & { readonly modules?: Ms },
): TypedHost<ModulesOf<Ms>> {
  if (!semver.valid(options.version))
    throw new ModhostError('INVALID_ARGUMENT', `createHost: version "${options.version}" is not semver; pass your app's version, e.g. "1.0.0"`, {
      details: { argument: 'version' },
    });
  assertTierOptions(options);
  const clock = options.clock ?? systemClock;
  const given = options.logger;
  const log = typeof given === 'function' ? given('modhost') : (given ?? createJsonLogger());
  const loggerFor = typeof given === 'function' ? given : (module: string) => childLogger(log, { module });
  const telemetry = combineTelemetry(...(Array.isArray(options.telemetry) ? options.telemetry : [options.telemetry as Telemetry | undefined]));
  const storage = instrumentStorage(options.storage ?? memoryStorage(), telemetry);
  const events = createEmitter<HostEvents>();
  const instanceId = options.instanceId ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const satisfies = (v: string, r: string) => semver.satisfies(v, r, { includePrerelease: true });
  const namespace = options.namespace ?? 'modhost';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(namespace))
    throw new ModhostError(
      'INVALID_ARGUMENT',
      `createHost: namespace ${JSON.stringify(namespace)} is not one; use 1 to 64 letters, digits, ".", "_" or "-", e.g. "billing-app"`,
      {
        details: { argument: 'namespace' },
      },
    );
  const registry = createRegistry({ storage, clock, instanceId, satisfies, namespace });
  const audit = createAuditLog({
    clock,
    sink: storageAuditSink(storage, { namespace, ...(options.auditRetention !== undefined ? { retention: options.auditRetention } : {}) }),
  });
  const tenantService: ServiceFactory = (caller) => ({
    config: async (tenant?: string) => (await registry.getConfig(caller.module, { ...(tenant ? { tenant } : {}), reveal: true })).values,
  });
  const sandbox = createSandbox({
    clock,
    audit,
    storage,
    namespace,
    services: { tenant: tenantService, ...options.services },
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.trustedKeys ? { trustedKeys: options.trustedKeys } : {}),
    ...(options.requireSigned ? { requireSigned: true } : {}),
    ...(options.dev ? { dev: true } : {}),
    telemetry,
  });
  const router = createRouter<BoundHandler>();
  const activator = createActivator({
    registry,
    clock,
    storage,
    router,
    contextFactory: sandbox.contextFor,
    namespace,
    telemetry,
    rollbackWindowMs: options.rollbackWindowMs ?? (options.dev ? 0 : 60_000),
    ...(options.slots ? { slots: options.slots } : {}),
    ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    ...(options.health ? { health: options.health } : {}),
    ...(options.healthMonitor ? { healthMonitor: options.healthMonitor } : {}),
    logger: loggerFor,
  });
  const catalog = createModuleCatalog(registry, activator);
  // The health monitor runs from start() to stop(); its changes are host events too.
  activator.on('module:health', (e) => events.emit('module:health', e));
  let started = false;
  const serving = (name: string) => activator.versionOf(name) !== undefined;

  const { activateAll, swap, rollback } = createModuleActions({ hostVersion: options.version, registry, activator, catalog, emit: events.emit });
  const healthNow = async () =>
    Object.fromEntries(
      await Promise.all(
        activator.active.map(async (n) => [
          `${n}@${activator.versionOf(n)}`,
          (await readModuleStatus({ registry, activator, folderOf: folders.folderOf }, n)).health.status,
        ]),
      ),
    );
  const sync = createInstanceSync({
    ...{ registry, storage, namespace, clock, activator, catalog, swap, emit: events.emit },
    leaseMs: options.leaseMs ?? 30_000,
    forgetAfterMs: options.forgetInstancesAfterMs ?? 86_400_000,
    health: healthNow,
  });
  const folders = createFolderSync({
    modulesDir: options.modulesDir,
    watch: options.watch ?? options.dev ?? false,
    debounceMs: options.debounceMs ?? (options.dev ? DEV_DEBOUNCE_MS : 300),
    dev: options.dev === true,
    // A reload that fails keeps the old instance serving: no stop-then-start fallback.
    restart: (name) => activator.restart(name, { fallback: 'none' }),
    clock,
    sandbox,
    load: {
      ...(options.defaultIsolation ? { defaultIsolation: options.defaultIsolation } : {}),
      minimumIsolation: (request) => minimumTier(options.minimumIsolation, options.defaultIsolation ?? 'worker', request),
      isolated: { clock, registry, ...(options.restart ? { restart: options.restart } : {}) },
      ...(options.limits ? { limits: options.limits } : {}),
    },
    catalog,
    registry,
    installed: createInstalledFolders(storage, namespace),
    activator,
    emit: events.emit,
    activateAll,
    swap,
  });

  const host: Host = {
    registry,
    sandbox,
    audit,
    router,
    namespace,
    log,
    telemetry,
    events: { on: events.on, once: events.once, off: events.off, onAny: events.onAny },
    instanceId,
    async start() {
      // From the desired state, whatever this instance's old records say (a kill -9 leaves them behind).
      await sync.begin();
      for (const def of options.modules ?? []) {
        // Uninstalled (here or on another instance) and not installed again: the app's code does not bring it back.
        if (await registry.wasUninstalled(def.name)) {
          const message = `${def.name} was uninstalled, so this instance does not start it; host.install() installs it again`;
          events.emit('module:failed', { name: def.name, version: def.version, code: 'MODULE_NOT_FOUND', message });
        } else await catalog.register(def);
      }
      await folders.loadAll();
      const report = await activateAll();
      folders.watch();
      await sync.follow();
      if (options.healthMonitor !== false) activator.monitor.start();
      started = true;
      return report;
    },
    stop: () => {
      started = false;
      activator.monitor.stop();
      return stopHost({ activator, folders, audit, end: sync.end });
    },
    health: () => ({ started, monitoring: activator.monitor.running, modules: activator.monitor.all() }),
    async install(source) {
      const def = typeof source === 'string' ? (await folders.install(source)).definition : source;
      await registry.clearUninstalled(def.name);
      await catalog.register(def);
      events.emit('module:installed', { name: def.name, version: def.version, ...(typeof source === 'string' ? { dir: source } : {}) });
      if (serving(def.name)) await swap(def.name, def.version);
      else await activateAll();
      // Its folder is where its code comes from after a restart, unless an older version kept serving.
      const now = activator.versionOf(def.name);
      if (typeof source === 'string' && (now === undefined || now === def.version)) await folders.remember(def.name, source);
      return (await host.status()).modules.find((m) => m.name === def.name) as ModuleStatus;
    },
    async uninstall(name, opts = {}) {
      const version = activator.versionOf(name);
      if (version !== undefined) await activator.deactivate([name], { cascade: opts.cascade ?? false });
      await registry.unregister(name, undefined, { cascade: opts.cascade ?? false });
      catalog.forget(name);
      await folders.drop(name);
      events.emit('module:removed', { name, version: version ?? '' });
    },
    async enable(name, opts = {}) {
      if (opts.tenant === undefined) {
        // Coming back host-wide after being disabled host-wide goes through the health gate first: a module that fails
        // it stays disabled (HEALTH_CHECK_FAILED), and its tenants keep what they had.
        if ((await registry.getModule(name))?.access === 'tenants' && serving(name)) await activator.probe(name);
        await registry.enable(name);
      } else await registry.enable(name, { tenant: opts.tenant });
      await sync.changed(name, opts.tenant);
    },
    async disable(name, opts = {}) {
      await registry.disable(name, opts);
      await sync.changed(name, opts.tenant);
    },
    async configure(name, values, opts = {}) {
      await registry.configure(name, values, opts);
      await sync.reconfigure(name);
    },
    upgrade: async (name, version, opts) => folders.unavailable(name, version) ?? swap(name, version, opts),
    rollback,
    isEnabled: (name, tenant) => serving(name) && sync.serves(name, tenant),
    async status(page = {}) {
      // A page reads the module names from their keys and the records of that page only.
      const paged = page.limit !== undefined || page.after !== undefined;
      const names = paged
        ? await registry.moduleNames({ ...page, ...(page.limit !== undefined ? { limit: page.limit + 1 } : {}) })
        : [...new Set((await registry.list()).map((r) => r.name))].sort();
      const shown = page.limit !== undefined ? names.slice(0, page.limit) : names;
      const modules = await Promise.all(shown.map((name) => readModuleStatus({ registry, activator, folderOf: folders.folderOf }, name)));
      const next = names.length > shown.length ? shown.at(-1) : undefined;
      return { instance: { id: instanceId }, modules, problems: folders.problems(), ...(next !== undefined ? { next } : {}) };
    },
    plan: async () => previewPlan({ host: options.version, catalog: catalog.entries(), pending: await folders.pending(), serving: catalog.serving() }),
    rescan: () => folders.rescan(),
    fleet: () => sync.fleet(),
    api: <T>(name: string) => activator.api(name) as T | undefined,
    tenants: createTenantMigration({
      ...{ registry, storage, namespace, clock, satisfies, emit: events.emit },
      changed: (name, tenant) => sync.changed(name, tenant),
      reconfigure: (name) => sync.reconfigure(name),
    }),
  };

  return host as TypedHost<ModulesOf<Ms>>;
}
