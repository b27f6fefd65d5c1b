import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ActivationReport,
  type BoundHandler,
  createActivator,
  createRouter,
  type HealthGateOptions,
  type PhaseTimeouts,
  type Router,
  type UpgradeReport,
} from '@modhost/activation';
import {
  type AnyModuleDefinition,
  type Clock,
  createEmitter,
  createRegistry,
  type Emitter,
  type LifecycleState,
  type Logger,
  ModhostError,
  memoryStorage,
  type Registry,
  type StorageAdapter,
  summarizeCause,
  systemClock,
} from '@modhost/core';
import { type CatalogEntry, type ResolveResult, resolve } from '@modhost/resolver';
import {
  type AuditLog,
  createAuditLog,
  createSandbox,
  type PermissionPolicy,
  type Sandbox,
  type ServiceFactory,
  storageAuditSink,
  type TrustedKeys,
} from '@modhost/sandbox';
import semver from 'semver';
import { recoveryHint } from './hints.js';
import { type FolderModule, loadModuleFolder, readManifest } from './load-folder.js';
import { createFolderWatcher, type FolderWatcher } from './watch.js';

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
  /** Watch `modulesDir`: install new folders, hot-swap changed versions, deactivate removed ones. Default false. */
  watch?: boolean;
  /** How long the watcher waits for a folder to settle, ms (default 300). */
  debounceMs?: number;
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
  clock?: Clock;
  /** The logger each module gets (default: console with its name). */
  logger?: (module: string) => Logger;
  /** How long a replaced version stays warm for `rollback()`, ms (default 60,000). */
  rollbackWindowMs?: number;
  /** Isolation for folder modules whose manifest does not say (default `worker`). */
  defaultIsolation?: 'in-process' | 'worker' | 'process';
}

/** One module in {@link Host.status}. */
export interface ModuleStatus {
  readonly name: string;
  /** The version serving now, or the newest registered one when none serves. */
  readonly version: string;
  readonly state: LifecycleState | 'not-loaded';
  readonly active: boolean;
  readonly isolation: 'in-process' | 'worker' | 'process';
  /**
   * `ok`: it passed its health gate and (when isolated) its guest runs. `degraded`: its guest crashed and is
   * restarting. `fail`: it does not serve (see `lastError`). `unknown`: not started yet.
   */
  readonly health: { readonly status: 'ok' | 'degraded' | 'fail' | 'unknown'; readonly detail?: string };
  readonly dir?: string;
  readonly lastError?: { readonly code: string; readonly message: string; readonly phase?: string; readonly hint: string | undefined };
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

/** The events a host emits. */
export interface HostEvents extends Record<string, unknown> {
  'module:installed': { name: string; version: string; dir?: string };
  'module:activated': { name: string; version: string };
  'module:failed': { name: string; version: string; code: string; message: string };
  'module:upgraded': { name: string; from: string; to: string };
  'module:upgrade-failed': { name: string; from: string; to: string; code: string; message: string };
  'module:rolled-back': { name: string; from: string; to: string };
  'module:removed': { name: string; version: string };
  'folder:error': FolderProblem;
  'watch:error': { message: string };
}

/** The batteries-included host. */
export interface Host {
  readonly registry: Registry;
  readonly sandbox: Sandbox;
  readonly audit: AuditLog;
  readonly router: Router<BoundHandler>;
  readonly events: Emitter<HostEvents>;
  /** Loads `modules` and `modulesDir`, activates everything that resolves, starts the watcher. */
  start(): Promise<ActivationReport>;
  /** Stops the watcher and every module, dependents first. */
  stop(): Promise<void>;
  /** Registers and activates a definition or a module folder. */
  install(source: AnyModuleDefinition | string): Promise<ModuleStatus>;
  /** Deactivates and unregisters a module (and, with `cascade`, the modules that depend on it). */
  uninstall(name: string, options?: { cascade?: boolean }): Promise<void>;
  /** Lets a tenant use a module (requests with that tenant reach its routes). */
  enable(name: string, options: { tenant: string }): Promise<void>;
  /** Stops serving a tenant from a module; the module keeps running for the others. */
  disable(name: string, options: { tenant: string }): Promise<void>;
  configure(name: string, values: Record<string, unknown>, options?: { tenant?: string }): Promise<void>;
  /** Hot-swaps a module to a registered version through the health gate. */
  upgrade(name: string, version: string): Promise<UpgradeReport>;
  /** Points a module back at the version it replaced, while that is warm. */
  rollback(name: string): Promise<UpgradeReport>;
  /** True when `name` serves `tenant`: it is active and, for a tenant, enabled for that tenant. */
  isEnabled(name: string, tenant: string | undefined): boolean;
  status(): Promise<{ modules: ModuleStatus[]; problems: FolderProblem[] }>;
  /** What `start()` or a rescan would change, before changing it. */
  plan(): Promise<HostPlan>;
  /** Scans `modulesDir` now and applies what changed (the watcher calls this after its debounce). */
  rescan(): Promise<void>;
  /** The public API of an active module. */
  api<T = unknown>(name: string): T | undefined;
}

/** A message without the `[CODE] ` prefix ModhostError puts in front: the code travels in its own field. */
const plain = (message: string) => message.replace(/^\[[A-Z_]+\] /, '');
const errorOf = (e: unknown) => ({
  code: e instanceof ModhostError ? e.code : e instanceof Error ? e.name : 'Error',
  message: e instanceof ModhostError ? plain(e.message) : summarizeCause(e),
});

/** Creates a host: registry, resolver, activation and sandbox wired with sensible defaults. */
export function createHost(options: HostOptions): Host {
  if (!semver.valid(options.version))
    throw new ModhostError('MANIFEST_INVALID', `createHost: version "${options.version}" is not semver; pass your app's version, e.g. "1.0.0"`);
  const clock = options.clock ?? systemClock;
  const storage = options.storage ?? memoryStorage();
  const events = createEmitter<HostEvents>();
  const registry = createRegistry({ storage, clock, satisfies: (v, r) => semver.satisfies(v, r, { includePrerelease: true }) });
  const audit = createAuditLog({ clock, sink: storageAuditSink(storage) });
  const tenantService: ServiceFactory = (caller) => ({
    config: async (tenant?: string) => (await registry.getConfig(caller.module, { ...(tenant ? { tenant } : {}), reveal: true })).values,
  });
  const sandbox = createSandbox({
    clock,
    audit,
    storage,
    services: { tenant: tenantService, ...options.services },
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.trustedKeys ? { trustedKeys: options.trustedKeys } : {}),
    ...(options.requireSigned ? { requireSigned: true } : {}),
  });
  const router = createRouter<BoundHandler>();
  const activator = createActivator({
    registry,
    clock,
    storage,
    router,
    contextFactory: sandbox.contextFor,
    rollbackWindowMs: options.rollbackWindowMs ?? 60_000,
    ...(options.slots ? { slots: options.slots } : {}),
    ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    ...(options.health ? { health: options.health } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });

  const definitions = new Map<string, AnyModuleDefinition>(); // name@version → definition
  const folders = new Map<string, FolderModule>(); // dir → loaded folder (its current version)
  const problems = new Map<string, FolderProblem>();
  const replaced: FolderModule[] = [];
  // Which tenants each module serves: a cache of the registry's enablement, read on every request.
  const enabled = new Map<string, Set<string>>();
  let watcher: FolderWatcher | undefined;
  const key = (name: string, version: string) => `${name}@${version}`;
  const serving = (name: string) => activator.active.includes(name);

  // The version of each module that serves now.
  const currentVersion = new Map<string, string>();
  const catalog = (): CatalogEntry[] => [...definitions.values()];
  /** Drops every loaded version of a module from what resolves. */
  const forget = (name: string) => {
    for (const k of [...definitions.keys()]) if (k.startsWith(`${name}@`)) definitions.delete(k);
  };
  const running = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const name of activator.active) {
      const v = currentVersion.get(name);
      if (v) out[name] = v;
    }
    return out;
  };

  const register = async (def: AnyModuleDefinition) => {
    await registry.register(def);
    definitions.set(key(def.name, def.version), def);
  };

  const activateAll = async (): Promise<ActivationReport> => {
    const names = [...new Set([...definitions.values()].map((d) => d.name))];
    const result = resolve({ host: options.version, roots: Object.fromEntries(names.map((n) => [n, '*'])), catalog: catalog(), preferred: running() });
    if (!result.ok) {
      // Start what does resolve: set aside each root that cannot resolve on its own, report why, go on without it.
      const failing = new Set<string>();
      for (const n of names) {
        const alone = resolve({ host: options.version, roots: { [n]: '*' }, catalog: catalog() });
        if (alone.ok) continue;
        failing.add(n);
        events.emit('module:failed', { name: n, version: '', code: errorOf(alone.error).code, message: alone.explanation.text });
      }
      const rest: ResolveResult = resolve({
        host: options.version,
        roots: Object.fromEntries(names.filter((n) => !failing.has(n)).map((n) => [n, '*'])),
        catalog: catalog(),
        preferred: running(),
      });
      if (!rest.ok) {
        events.emit('module:failed', {
          name: names.filter((n) => !failing.has(n)).join(', '),
          version: '',
          code: errorOf(rest.error).code,
          message: rest.explanation.text,
        });
        return { ok: false, modules: [], peakConcurrency: 0 };
      }
      return run(rest.plan);
    }
    return run(result.plan);
  };
  const run = async (plan: Parameters<typeof activator.activate>[0]): Promise<ActivationReport> => {
    const report = await activator.activate(plan);
    for (const m of report.modules) {
      if (m.state === 'active') {
        currentVersion.set(m.name, m.version);
        events.emit('module:activated', { name: m.name, version: m.version });
      } else if (m.state === 'failed' || m.state === 'blocked') {
        events.emit('module:failed', {
          name: m.name,
          version: m.version,
          code: m.error?.code ?? m.state.toUpperCase(),
          message: m.error?.message ?? `blocked by ${m.blockedBy}`,
        });
      }
    }
    return report;
  };

  const loadFolder = (dir: string) =>
    loadModuleFolder(dir, { sandbox, ...(options.defaultIsolation ? { defaultIsolation: options.defaultIsolation } : {}), isolated: { clock, registry } });

  const folderProblem = (dir: string, e: unknown): FolderProblem => {
    const { code, message } = errorOf(e);
    const p = { dir, code, message, hint: recoveryHint(code) };
    problems.set(dir, p);
    events.emit('folder:error', p);
    return p;
  };

  const moduleDirs = async (): Promise<string[]> => {
    if (!options.modulesDir) return [];
    const entries = await readdir(options.modulesDir, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => join(options.modulesDir as string, e.name));
  };

  const upgrade = async (name: string, version: string): Promise<UpgradeReport> => {
    const from = currentVersion.get(name) ?? '';
    const report = await activator.upgrade(name, version);
    if (report.outcome === 'switched') {
      currentVersion.set(name, version);
      events.emit('module:upgraded', { name, from, to: version });
    } else if (!report.ok) {
      events.emit('module:upgrade-failed', {
        name,
        from,
        to: version,
        code: report.error?.code ?? report.outcome.toUpperCase(),
        message: report.error?.message ?? report.explanation ?? report.outcome,
      });
    }
    return report;
  };

  // One rescan at a time: the watcher may fire while one runs.
  let scanning: Promise<void> = Promise.resolve();
  const rescanOnce = async () => {
    const dirs = await moduleDirs();
    const seen = new Set(dirs);
    for (const dir of dirs) {
      const known = folders.get(dir);
      let manifest: Awaited<ReturnType<typeof readManifest>>;
      try {
        manifest = await readManifest(dir);
      } catch (e) {
        folderProblem(dir, e);
        continue;
      }
      if (known && known.manifest.version === manifest.version && known.manifest.name === manifest.name) {
        // Same version: its files must not have changed.
        try {
          await sandbox.verify({ name: manifest.name, version: manifest.version, root: dir });
          problems.delete(dir);
        } catch (e) {
          folderProblem(dir, e);
        }
        continue;
      }
      let loaded: FolderModule;
      try {
        loaded = await loadFolder(dir);
        if (!definitions.has(key(loaded.manifest.name, loaded.manifest.version))) await register(loaded.definition);
      } catch (e) {
        folderProblem(dir, e);
        continue;
      }
      problems.delete(dir);
      const name = loaded.manifest.name;
      if (serving(name) && currentVersion.get(name) !== loaded.manifest.version) {
        const report = await upgrade(name, loaded.manifest.version);
        if (report.outcome === 'switched') {
          // The replaced version stays warm for rollback; the activator stops it when the window closes.
          if (known) replaced.push(known);
          folders.set(dir, loaded);
        } else {
          await loaded.dispose();
          folderProblem(
            dir,
            new ModhostError(
              (report.error?.code as never) ?? 'HEALTH_CHECK_FAILED',
              `${name}@${loaded.manifest.version} was not swapped in (${report.outcome}): ${plain(report.error?.message ?? report.explanation ?? '')}; ${currentVersion.get(name)} keeps serving`,
            ),
          );
          // Remember what failed, so the same broken version is not retried on every rescan.
          folders.set(dir, { ...loaded, dispose: async () => {} });
        }
      } else {
        folders.set(dir, loaded);
        events.emit('module:installed', { name, version: loaded.manifest.version, dir });
        await activateAll();
      }
    }
    for (const [dir, mod] of [...folders]) {
      if (seen.has(dir)) continue;
      folders.delete(dir);
      problems.delete(dir);
      const name = mod.manifest.name;
      if (serving(name)) {
        await activator.deactivate([name], { cascade: true });
        events.emit('module:removed', { name, version: currentVersion.get(name) ?? mod.manifest.version });
        currentVersion.delete(name);
      }
      await mod.dispose().catch(() => {});
      forget(name);
    }
  };
  const rescan = () => {
    scanning = scanning.then(rescanOnce, rescanOnce);
    return scanning;
  };

  const host: Host = {
    registry,
    sandbox,
    audit,
    router,
    events,
    async start() {
      for (const tenant of await registry.listTenants()) {
        for (const e of await registry.listEnabled(tenant)) enabled.set(e.name, (enabled.get(e.name) ?? new Set<string>()).add(tenant));
      }
      for (const def of options.modules ?? []) await register(def);
      for (const dir of await moduleDirs()) {
        try {
          const loaded = await loadFolder(dir);
          await register(loaded.definition);
          folders.set(dir, loaded);
          events.emit('module:installed', { name: loaded.manifest.name, version: loaded.manifest.version, dir });
        } catch (e) {
          folderProblem(dir, e);
        }
      }
      const report = await activateAll();
      if (options.watch && options.modulesDir) {
        watcher = createFolderWatcher(options.modulesDir, {
          clock,
          debounceMs: options.debounceMs ?? 300,
          onChange: () => void rescan(),
          onError: (message) => events.emit('watch:error', { message }),
        });
      }
      return report;
    },
    async stop() {
      watcher?.close();
      watcher = undefined;
      await scanning.catch(() => {});
      await activator.deactivate(undefined, { cascade: true });
      for (const f of [...folders.values(), ...replaced.splice(0)]) await f.dispose().catch(() => {});
      currentVersion.clear();
      await audit.flush();
    },
    async install(source) {
      let def: AnyModuleDefinition;
      let dir: string | undefined;
      if (typeof source === 'string') {
        const loaded = await loadFolder(source);
        def = loaded.definition;
        dir = source;
        folders.set(source, loaded);
      } else def = source;
      await register(def);
      events.emit('module:installed', { name: def.name, version: def.version, ...(dir ? { dir } : {}) });
      if (serving(def.name)) await upgrade(def.name, def.version);
      else await activateAll();
      const st = (await host.status()).modules.find((m) => m.name === def.name);
      return st as ModuleStatus;
    },
    async uninstall(name, opts = {}) {
      const version = currentVersion.get(name);
      if (serving(name)) await activator.deactivate([name], { cascade: opts.cascade ?? false });
      await registry.unregister(name, undefined, { cascade: opts.cascade ?? false });
      forget(name);
      for (const [dir, f] of [...folders]) {
        if (f.manifest.name !== name) continue;
        await f.dispose().catch(() => {});
        folders.delete(dir);
      }
      currentVersion.delete(name);
      events.emit('module:removed', { name, version: version ?? '' });
    },
    async enable(name, opts) {
      await registry.enable(name, opts);
      const set = enabled.get(name) ?? new Set<string>();
      set.add(opts.tenant);
      enabled.set(name, set);
    },
    async disable(name, opts) {
      await registry.disable(name, opts);
      enabled.get(name)?.delete(opts.tenant);
    },
    async configure(name, values, opts = {}) {
      await registry.configure(name, values, opts);
    },
    upgrade,
    async rollback(name) {
      const from = currentVersion.get(name) ?? '';
      const report = await activator.rollback(name);
      if (report.ok) {
        currentVersion.set(name, report.to);
        events.emit('module:rolled-back', { name, from, to: report.to });
      }
      return report;
    },
    isEnabled(name, tenant) {
      if (!serving(name)) return false;
      return tenant === undefined || (enabled.get(name)?.has(tenant) ?? false);
    },
    async status() {
      const modules: ModuleStatus[] = [];
      const names = [...new Set((await registry.list()).map((r) => r.name))].sort();
      for (const name of names) {
        const record = await registry.getModule(name);
        const version = currentVersion.get(name) ?? record?.versions.at(-1) ?? '';
        const v = await registry.get(name, version);
        const folder =
          [...folders.values()].find((f) => f.manifest.name === name && f.manifest.version === version) ??
          [...folders.values()].find((f) => f.manifest.name === name);
        const last = v?.lastError;
        const guest = folder?.guest?.();
        const health: ModuleStatus['health'] = !serving(name)
          ? v?.status === 'failed' || v?.status === 'blocked' || v?.status === 'rolled-back'
            ? { status: 'fail', detail: last?.message ?? v.status }
            : { status: 'unknown' }
          : guest?.state === 'restarting'
            ? { status: 'degraded', detail: `restarting after ${guest.lastCrash?.kind}: ${guest.lastCrash?.detail}` }
            : guest?.state === 'failed'
              ? { status: 'fail', detail: `its guest failed for good (${guest.lastCrash?.kind}: ${guest.lastCrash?.detail})` }
              : { status: 'ok' };
        modules.push({
          name,
          version,
          state: v?.status ?? 'not-loaded',
          active: serving(name),
          isolation: folder?.isolation ?? 'in-process',
          health,
          ...(folder ? { dir: folder.dir } : {}),
          ...(last && !serving(name)
            ? { lastError: { code: last.code, message: last.message, ...(last.phase ? { phase: last.phase } : {}), hint: recoveryHint(last.code) } }
            : {}),
        });
      }
      return { modules, problems: [...problems.values()] };
    },
    async plan() {
      // What the folders hold now, read from their manifests (no code runs), on top of what is registered.
      const pending: CatalogEntry[] = [];
      for (const dir of await moduleDirs()) {
        const m = await readManifest(dir).catch(() => undefined);
        if (!m || definitions.has(key(m.name, m.version))) continue;
        pending.push({
          name: m.name,
          version: m.version,
          dependencies: m.dependencies ?? {},
          optionalDependencies: m.optionalDependencies ?? {},
          ...(m.engines?.host ? { engines: { host: m.engines.host } } : {}),
        });
      }
      const all = [...catalog(), ...pending];
      const names = [...new Set(all.map((d) => d.name))];
      // A folder's newer version is what a rescan would swap to: prefer it over the running one.
      const preferred = running();
      for (const p of pending) delete preferred[p.name];
      const wanted = Object.fromEntries(names.map((n) => [n, pending.find((p) => p.name === n)?.version ?? '*']));
      const r = resolve({ host: options.version, roots: wanted, catalog: all, preferred });
      if (!r.ok) return { ok: false, start: [], upgrade: [], keep: [], explanation: r.explanation.text };
      const start: { name: string; version: string }[] = [];
      const up: { name: string; from: string; to: string }[] = [];
      const keep: string[] = [];
      for (const name of r.plan.order) {
        const version = r.plan.versionOf(name) as string;
        const now = currentVersion.get(name);
        if (!serving(name)) start.push({ name, version });
        else if (now !== version) up.push({ name, from: now ?? '', to: version });
        else keep.push(name);
      }
      return { ok: true, start, upgrade: up, keep, waves: r.plan.waves };
    },
    rescan,
    api: <T>(name: string) => activator.api(name) as T | undefined,
  };
  return host;
}
