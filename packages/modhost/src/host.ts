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
  type Logger,
  ModhostError,
  memoryStorage,
  type Registry,
  recoveryHint,
  type StorageAdapter,
  summarizeCause,
  systemClock,
} from '@modhost/core';
import { type CatalogEntry, type ResolveResult, resolve } from '@modhost/resolver';
import {
  type AuditLog,
  computeIntegrity,
  createAuditLog,
  createSandbox,
  type PermissionPolicy,
  type RestartPolicy,
  type Sandbox,
  type ServiceFactory,
  storageAuditSink,
  type TrustedKeys,
} from '@modhost/sandbox';
import semver from 'semver';
import { type IsolationTier, type MinimumIsolation, minimumTier } from './isolation-policy.js';
import { type FolderModule, type IsolatedLimits, loadModuleFolder, readManifest } from './load-folder.js';
import { type ModuleStatus, moduleStatus } from './module-status.js';
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
  defaultIsolation?: IsolationTier;
  /**
   * The weakest tier a folder module may run in, for all, by module or by trust (see {@link MinimumIsolation}).
   * A manifest may ask for a stronger tier, never a weaker one. Default: `defaultIsolation`, so a manifest that
   * asks for `in-process` runs in a worker unless the host allows it. Modules passed as code in `modules` are the
   * app's own and always run in process.
   */
  minimumIsolation?: MinimumIsolation;
  /** Call and resource limits of worker and process guests: call timeout, caps, heap (see `@modhost/sandbox`). */
  limits?: { readonly worker?: IsolatedLimits; readonly process?: IsolatedLimits };
  /** How often a crashed guest is restarted before it fails for good (see `@modhost/sandbox` `RestartPolicy`). */
  restart?: RestartPolicy;
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
  /**
   * Stops the watcher and every module, dependents first, and every guest. Best effort: a module that fails to
   * stop never keeps the others running; what failed is in the report. Never rejects.
   */
  stop(): Promise<StopReport>;
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

const errorOf = (e: unknown) => ({
  code: e instanceof ModhostError ? e.code : e instanceof Error ? e.name : 'Error',
  message: e instanceof ModhostError ? e.message : summarizeCause(e),
});

/** Creates a host: registry, resolver, activation and sandbox wired with sensible defaults. */
export function createHost(options: HostOptions): Host {
  if (!semver.valid(options.version))
    throw new ModhostError('INVALID_ARGUMENT', `createHost: version "${options.version}" is not semver; pass your app's version, e.g. "1.0.0"`);
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
  // dir → the fingerprint of files that failed to load or to swap in: not tried again until they change.
  const failedLoads = new Map<string, string>();
  // name@version → the folder its code was loaded from.
  const loadedFrom = new Map<string, string>();
  const replaced: FolderModule[] = [];
  // Which tenants each module serves: a cache of the registry's enablement, read on every request.
  const enabled = new Map<string, Set<string>>();
  let watcher: FolderWatcher | undefined;
  const key = (name: string, version: string) => `${name}@${version}`;
  const serving = (name: string) => activator.active.includes(name);

  // The version of each module that serves now.
  // The activator knows what serves (also after an automatic rollback): the host keeps no copy of it.
  const versionOf = (name: string) => activator.versionOf(name);
  const catalog = (): CatalogEntry[] => [...definitions.values()];
  /** Drops every loaded version of a module from what resolves. */
  const forget = (name: string) => {
    for (const k of [...definitions.keys()]) if (k.startsWith(`${name}@`)) definitions.delete(k);
  };
  const running = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const name of activator.active) {
      const v = versionOf(name);
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

  const loadFolder = async (dir: string) => {
    const loaded = await loadModuleFolder(dir, {
      sandbox,
      ...(options.defaultIsolation ? { defaultIsolation: options.defaultIsolation } : {}),
      minimumIsolation: (request) => minimumTier(options.minimumIsolation, options.defaultIsolation ?? 'worker', request),
      isolated: { clock, registry, ...(options.restart ? { restart: options.restart } : {}) },
      ...(options.limits ? { limits: options.limits } : {}),
    });
    loadedFrom.set(key(loaded.manifest.name, loaded.manifest.version), dir);
    return loaded;
  };

  const problemOf = (dir: string, code: string, message: string): FolderProblem => {
    const p = { dir, code, message, hint: recoveryHint(code) };
    problems.set(dir, p);
    events.emit('folder:error', p);
    return p;
  };
  const folderProblem = (dir: string, e: unknown): FolderProblem => {
    const { code, message } = errorOf(e);
    return problemOf(dir, code, message);
  };
  /** What a folder's files hash to now: a folder that failed is tried again only once this changes. */
  const fingerprint = async (dir: string) => (await computeIntegrity(dir).catch(() => undefined))?.integrity;

  const moduleDirs = async (): Promise<string[]> => {
    if (!options.modulesDir) return [];
    const entries = await readdir(options.modulesDir, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => join(options.modulesDir as string, e.name));
  };

  const swap = async (name: string, version: string): Promise<UpgradeReport> => {
    const from = versionOf(name) ?? '';
    const report = await activator.upgrade(name, version);
    if (report.outcome === 'switched') {
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

  /**
   * A folder module's version whose folder now holds another version has no code left to start: refuse at once,
   * saying what brings it back, instead of starting a guest over files that no longer match.
   */
  const unavailable = (name: string, version: string): UpgradeReport | undefined => {
    const dir = loadedFrom.get(key(name, version));
    const holds = dir === undefined ? undefined : folders.get(dir)?.manifest;
    if (dir === undefined || (holds?.name === name && holds.version === version)) return undefined;
    const now = holds ? `now holds ${holds.name}@${holds.version}` : 'is gone';
    const message =
      `${name}@${version} was loaded from ${dir}, which ${now}, so its code cannot be started again. ` +
      `Copy ${version}'s files back into a modules folder (the host loads them afresh), or use host.rollback("${name}") while the rollback window is open`;
    events.emit('module:upgrade-failed', { name, from: versionOf(name) ?? '', to: version, code: 'VERSION_UNAVAILABLE', message });
    return {
      module: name,
      from: versionOf(name) ?? '',
      to: version,
      ok: false,
      outcome: 'refused',
      error: { code: 'VERSION_UNAVAILABLE', message, timedOut: false },
    };
  };
  const upgrade = async (name: string, version: string): Promise<UpgradeReport> => unavailable(name, version) ?? swap(name, version);

  /** Brings one folder in line with what the host runs: install, swap, or nothing. Never throws. */
  const syncFolder = async (dir: string) => {
    const known = folders.get(dir);
    const files = await fingerprint(dir);
    // The same files that failed before fail again: no guest is spawned for them until the folder changes.
    if (failedLoads.has(dir) && failedLoads.get(dir) === files) return;
    failedLoads.delete(dir);
    const failed = (e: unknown) => {
      folderProblem(dir, e);
      if (files !== undefined) failedLoads.set(dir, files);
    };
    let manifest: Awaited<ReturnType<typeof readManifest>>;
    try {
      manifest = await readManifest(dir);
    } catch (e) {
      return failed(e);
    }
    if (known && known.manifest.version === manifest.version && known.manifest.name === manifest.name) {
      // Same version: its files must not have changed.
      try {
        await sandbox.verify({ name: manifest.name, version: manifest.version, root: dir });
        problems.delete(dir);
      } catch (e) {
        folderProblem(dir, e);
      }
      return;
    }
    let loaded: FolderModule;
    try {
      loaded = await loadFolder(dir);
    } catch (e) {
      return failed(e);
    }
    try {
      // Always (re-)registered: a version loaded again (its files copied back) runs this load's code.
      await register(loaded.definition);
    } catch (e) {
      await loaded.dispose().catch(() => {});
      return failed(e);
    }
    problems.delete(dir);
    const name = loaded.manifest.name;
    if (serving(name) && versionOf(name) !== loaded.manifest.version) {
      const report = await swap(name, loaded.manifest.version);
      if (report.outcome === 'switched') {
        // The replaced version stays warm for rollback; the activator stops it when the window closes.
        if (known) replaced.push(known);
        folders.set(dir, loaded);
        return;
      }
      await loaded.dispose().catch(() => {});
      problemOf(
        dir,
        report.error?.code ?? 'HEALTH_CHECK_FAILED',
        `${name}@${loaded.manifest.version} was not swapped in (${report.outcome}): ${report.error?.message ?? report.explanation ?? ''}; ${versionOf(name)} keeps serving`,
      );
      // Remembered by its files, so the same broken version is not loaded again on every rescan.
      if (files !== undefined) failedLoads.set(dir, files);
      return;
    }
    folders.set(dir, loaded);
    events.emit('module:installed', { name, version: loaded.manifest.version, dir });
    await activateAll();
  };

  /** A folder that disappeared: its module stops (with its dependents) and is forgotten. */
  const removeFolder = async (dir: string, mod: FolderModule) => {
    folders.delete(dir);
    problems.delete(dir);
    const name = mod.manifest.name;
    const version = versionOf(name);
    if (version !== undefined) {
      await activator.deactivate([name], { cascade: true });
      events.emit('module:removed', { name, version });
    }
    await mod.dispose().catch(() => {});
    forget(name);
  };

  // One rescan at a time: the watcher may fire while one runs.
  let scanning: Promise<void> = Promise.resolve();
  const rescanOnce = async () => {
    const dirs = await moduleDirs();
    const seen = new Set(dirs);
    for (const dir of dirs) await syncFolder(dir).catch((e: unknown) => folderProblem(dir, e));
    for (const [dir, mod] of [...folders]) {
      if (!seen.has(dir)) await removeFolder(dir, mod).catch((e: unknown) => folderProblem(dir, e));
    }
    for (const dir of [...failedLoads.keys(), ...problems.keys()]) {
      if (seen.has(dir)) continue;
      failedLoads.delete(dir);
      problems.delete(dir);
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
        const files = await fingerprint(dir);
        try {
          const loaded = await loadFolder(dir);
          await register(loaded.definition);
          folders.set(dir, loaded);
          events.emit('module:installed', { name: loaded.manifest.name, version: loaded.manifest.version, dir });
        } catch (e) {
          folderProblem(dir, e);
          if (files !== undefined) failedLoads.set(dir, files);
        }
      }
      const report = await activateAll();
      if (options.watch && options.modulesDir) {
        watcher = createFolderWatcher(options.modulesDir, {
          clock,
          debounceMs: options.debounceMs ?? 300,
          // Nothing a rescan meets may escape as an unhandled rejection: that would end the app's process.
          onChange: () => void rescan().catch((e: unknown) => events.emit('watch:error', { message: `rescan failed: ${errorOf(e).message}` })),
          onError: (message) => events.emit('watch:error', { message }),
        });
      }
      return report;
    },
    async stop() {
      const problems: { name?: string; version?: string; code: string; message: string }[] = [];
      const attempt = async (work: () => Promise<unknown>, who: { name?: string; version?: string } = {}) => {
        try {
          await work();
        } catch (e) {
          problems.push({ ...who, ...errorOf(e) });
        }
      };
      watcher?.close();
      watcher = undefined;
      await scanning.catch(() => {});
      await attempt(async () => {
        for (const o of await activator.deactivate(undefined, { cascade: true })) {
          if (o.state === 'failed')
            problems.push({ name: o.name, version: o.version, code: o.error?.code ?? 'ROLLBACK_FAILED', message: o.error?.message ?? '' });
        }
      });
      // Every guest, also those of versions that never served or failed for good.
      for (const f of [...folders.values(), ...replaced.splice(0)]) await attempt(() => f.dispose(), { name: f.manifest.name, version: f.manifest.version });
      await attempt(() => audit.flush());
      return { ok: problems.length === 0, problems };
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
      const version = versionOf(name);
      if (serving(name)) await activator.deactivate([name], { cascade: opts.cascade ?? false });
      await registry.unregister(name, undefined, { cascade: opts.cascade ?? false });
      forget(name);
      for (const [dir, f] of [...folders]) {
        if (f.manifest.name !== name) continue;
        await f.dispose().catch(() => {});
        folders.delete(dir);
      }
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
      const from = versionOf(name) ?? '';
      const report = await activator.rollback(name);
      if (report.ok) {
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
      const loaded = [...folders.values(), ...replaced];
      for (const name of names) {
        const record = await registry.getModule(name);
        const versions = await Promise.all((record?.versions ?? []).map((v) => registry.get(name, v)));
        const now = serving(name) ? versionOf(name) : undefined;
        const shown = now ?? record?.desiredVersion ?? undefined;
        const folder =
          loaded.find((f) => f.manifest.name === name && f.manifest.version === shown) ?? [...folders.values()].find((f) => f.manifest.name === name);
        modules.push(
          moduleStatus({
            name,
            record,
            versions: versions.filter((v) => v !== undefined),
            serving: now,
            isolation: folder?.isolation ?? 'in-process',
            dir: folder?.dir,
            guest: folder?.guest?.(),
          }),
        );
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
        const now = versionOf(name);
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
