import { readdir } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Activator, RestartReport, UpgradeReport } from '@modhost/activation';
import { type Clock, ModhostError, type Registry, recoveryHint } from '@modhost/core';
import { readManifest } from '@modhost/manifest';
import type { CatalogEntry } from '@modhost/resolver';
import { computeIntegrity, type Sandbox } from '@modhost/sandbox';
import { errorSummary } from './error-summary.js';
import type { FolderProblem, HostEvents } from './host-types.js';
import type { InstalledFolders } from './installed-folders.js';
import { type FolderModule, type LoadFolderOptions, loadModuleFolder } from './load-folder.js';
import type { ModuleCatalog } from './module-catalog.js';
import { createFolderWatcher, type FolderWatcher } from './watch.js';

/** What {@link createFolderSync} works with. */
export interface FolderSyncOptions {
  readonly modulesDir: string | undefined;
  readonly watch: boolean;
  readonly debounceMs: number;
  readonly clock: Clock;
  readonly sandbox: Sandbox;
  /** How a folder is loaded (tiers, limits): everything but the sandbox. */
  readonly load: Omit<LoadFolderOptions, 'sandbox'>;
  readonly catalog: ModuleCatalog;
  /** For the desired state: an uninstalled module's folder is not brought back at start. */
  readonly registry: Pick<Registry, 'wasUninstalled' | 'clearUninstalled'>;
  /** Folders installed from outside `modulesDir`, loaded again at start. */
  readonly installed: InstalledFolders;
  readonly activator: Pick<Activator, 'versionOf' | 'deactivate'>;
  readonly emit: <K extends keyof HostEvents>(event: K, payload: HostEvents[K]) => void;
  /** Resolves and starts what can run (after a new folder was installed). */
  readonly activateAll: () => Promise<unknown>;
  /** Hot-swaps a serving module to a registered version. */
  readonly swap: (name: string, version: string) => Promise<UpgradeReport>;
  /**
   * Development mode: a serving version whose files changed is loaded again and restarted in place through
   * `restart` (which must keep the old instance serving when the fresh one fails), instead of being refused.
   */
  readonly dev?: boolean;
  /** Starts the registered code of a serving module beside the old instance and switches to it (development mode). */
  readonly restart?: (name: string) => Promise<RestartReport>;
}

/** Module folders kept in line with what the host runs: scan, rescan, watch, problems. */
export interface FolderSync {
  /** Loads and registers every folder (at start); a folder that fails is a problem, never a throw. */
  loadAll(): Promise<void>;
  /** Scans now and applies what changed; one scan at a time. Never rejects for a folder's fault. */
  rescan(): Promise<void>;
  /** Starts the watcher when the host asked for one. */
  watch(): void;
  /** Loads one folder the app names (`host.install(dir)`); throws what the load throws. */
  install(dir: string): Promise<FolderModule>;
  /** `name`'s code now comes from `dir` (installed by the app): a folder outside `modulesDir` is loaded again at start. */
  remember(name: string, dir: string): Promise<void>;
  /** Refuses at once (and says why) a version whose folder now holds another one: it has no code left to start. */
  unavailable(name: string, version: string): UpgradeReport | undefined;
  /** The loaded folder of `name` that holds `version` (or any of `name`'s, without one), for status. */
  folderOf(name: string, version: string | undefined): FolderModule | undefined;
  /** Every folder module of `name` stops and is dropped, and its install folder forgotten (`host.uninstall`). */
  drop(name: string): Promise<void>;
  /** What the folders hold now that the catalog does not, from their manifests alone (no code runs). */
  pending(): Promise<CatalogEntry[]>;
  problems(): FolderProblem[];
  /** Stops the watcher and waits for a scan in progress. */
  quiet(): Promise<void>;
  /** Stops every guest of every folder loaded; returns what failed to stop. */
  dispose(): Promise<{ name: string; version: string; error: unknown }[]>;
}

/** Creates the folder synchronisation of a host. */
export function createFolderSync(options: FolderSyncOptions): FolderSync {
  const { sandbox, catalog, activator, emit } = options;
  const folders = new Map<string, FolderModule>(); // dir → loaded folder (its current version)
  const problems = new Map<string, FolderProblem>();
  // dir → the fingerprint of files that failed to load or to swap in: not tried again until they change.
  const failedLoads = new Map<string, string>();
  // name@version → the folder its code was loaded from.
  const loadedFrom = new Map<string, string>();
  // Versions swapped out: their guests stay warm for a rollback, and stop when the host stops.
  const replaced: FolderModule[] = [];
  // Folders the app installed from outside modulesDir: a rescan of modulesDir leaves them alone.
  const outside = new Set<string>();
  let watcher: FolderWatcher | undefined;
  let scanning: Promise<void> = Promise.resolve();

  const loadFolder = async (dir: string) => {
    const loaded = await loadModuleFolder(dir, { sandbox, ...options.load });
    loadedFrom.set(`${loaded.manifest.name}@${loaded.manifest.version}`, dir);
    return loaded;
  };
  const problemOf = (dir: string, code: string, message: string): FolderProblem => {
    const p = { dir, code, message, hint: recoveryHint(code) };
    problems.set(dir, p);
    emit('folder:error', p);
    return p;
  };
  const folderProblem = (dir: string, e: unknown) => problemOf(dir, errorSummary(e).code, errorSummary(e).message);
  /** What a folder's files hash to now: a folder that failed is tried again only once this changes. */
  const fingerprint = async (dir: string) => (await computeIntegrity(dir).catch(() => undefined))?.integrity;
  /** The module folders, or undefined when `modulesDir` cannot be read now (a rescan then changes nothing). */
  const moduleDirs = async (): Promise<string[] | undefined> => {
    if (!options.modulesDir) return [];
    try {
      const entries = await readdir(options.modulesDir, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => join(options.modulesDir as string, e.name));
    } catch (e) {
      return (e as { code?: string }).code === 'ENOENT' && folders.size === 0 ? [] : undefined;
    }
  };
  /** Another folder that already holds module `name`: one folder per module. */
  const holderOf = (name: string, dir: string) => [...folders].find(([d, f]) => d !== dir && f.manifest.name === name)?.[0];

  /** Same name and version as the folder's loaded module: nothing to load, only its files to check. */
  const holdsSame = (known: FolderModule, manifest: { name: string; version: string } | undefined) =>
    manifest?.name === known.manifest.name && manifest.version === known.manifest.version;
  /** A kept version's files must not have changed. */
  const verifyKept = async (dir: string, { name, version }: FolderModule['manifest']) => {
    try {
      await sandbox.verify({ name, version, root: dir });
      problems.delete(dir);
    } catch (e) {
      folderProblem(dir, e);
    }
  };

  /** Development mode: the same version with the same files is kept; with other files, it is reloaded in place. */
  const keepOrReload = async (dir: string, known: FolderModule, files: string | undefined) => {
    if (files === known.integrity) {
      problems.delete(dir);
      return;
    }
    return reloadInPlace(dir, known, files);
  };

  /**
   * Development mode: loads the edited files of the version a folder holds, and restarts a serving module on them
   * through the health gate (a fresh instance beside the old one takes over). A failing edit leaves the previous
   * code serving, and is a problem until the files change again.
   */
  const reloadInPlace = async (dir: string, known: FolderModule, files: string | undefined) => {
    const { name, version } = known.manifest;
    const began = options.clock.now();
    const failed = (code: string, message: string) => {
      problemOf(dir, code, message);
      if (files !== undefined) failedLoads.set(dir, files);
      emit('module:reload-failed', { name, version, dir, code, message });
    };
    const keeps = (why: string) => `${name}@${version}: the edited files were not reloaded (${why}); the previous code keeps serving`;
    let loaded: FolderModule | undefined;
    try {
      loaded = await loadFolder(dir);
      await catalog.register(loaded.definition);
    } catch (e) {
      await loaded?.dispose().catch(() => {});
      // A registration that got half way may have left its definition behind: the working code is the one to start.
      await catalog.register(known.definition).catch(() => {});
      return failed(errorSummary(e).code, keeps(errorSummary(e).message));
    }
    if (activator.versionOf(name) !== version || !options.restart) {
      // Not serving here (it failed to start, or another version serves): the edited code replaces it as it is.
      folders.set(dir, loaded);
      problems.delete(dir);
      await known.dispose().catch(() => {});
      if (activator.versionOf(name) === undefined) await options.activateAll();
      return;
    }
    const report = await options.restart(name);
    if (report.ok) {
      const ms = options.clock.now() - began;
      folders.set(dir, loaded);
      problems.delete(dir);
      // The replaced instance drained; its guest and its private copy of the files go now.
      await known.dispose().catch(() => {});
      emit('module:reloaded', { name, version, dir, ms });
      return;
    }
    await loaded.dispose().catch(() => {});
    // What restarts after a crash, or a health policy's restart, is the code that serves.
    await catalog.register(known.definition).catch(() => {});
    failed(report.error?.code ?? 'HEALTH_CHECK_FAILED', keeps(report.error?.message ?? report.outcome));
  };

  /** Brings one folder in line with what the host runs: install, swap, or nothing. */
  const syncFolder = async (dir: string) => {
    const known = folders.get(dir);
    // The common rescan (nothing changed) hashes a folder once, in `verify`, not also for a fingerprint.
    if (known && !failedLoads.has(dir)) {
      const manifest = await readManifest(dir).catch(() => undefined);
      if (holdsSame(known, manifest) && holderOf(known.manifest.name, dir) === undefined) {
        if (!options.dev) return verifyKept(dir, known.manifest);
        return keepOrReload(dir, known, await fingerprint(dir));
      }
    }
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
    const other = holderOf(manifest.name, dir);
    if (other !== undefined) {
      return failed(
        new ModhostError('MANIFEST_INVALID', `${dir}: module ${manifest.name} is already loaded from ${other}; keep one folder per module`, {
          details: { module: manifest.name, dir, issues: [{ path: ['name'], message: `${manifest.name} is loaded from ${other} already` }] },
        }),
      );
    }
    if (known && holdsSame(known, manifest)) return options.dev ? keepOrReload(dir, known, files) : verifyKept(dir, known.manifest);
    let loaded: FolderModule;
    try {
      loaded = await loadFolder(dir);
    } catch (e) {
      return failed(e);
    }
    try {
      // Always (re-)registered: a version loaded again (its files copied back) runs this load's code.
      await catalog.register(loaded.definition);
    } catch (e) {
      await loaded.dispose().catch(() => {});
      return failed(e);
    }
    problems.delete(dir);
    const { name, version } = loaded.manifest;
    const serving = activator.versionOf(name);
    if (serving !== undefined && serving !== version) {
      const report = await options.swap(name, version);
      if (report.outcome === 'switched') {
        // The replaced version stays warm for rollback; the activator stops it when the window closes.
        if (known) replaced.push(known);
        folders.set(dir, loaded);
        return;
      }
      await loaded.dispose().catch(() => {});
      const why = report.error?.message ?? report.explanation ?? '';
      problemOf(
        dir,
        report.error?.code ?? 'HEALTH_CHECK_FAILED',
        `${name}@${version} was not swapped in (${report.outcome}): ${why}; ${serving} keeps serving`,
      );
      // Remembered by its files, so the same broken version is not loaded again on every rescan.
      if (files !== undefined) failedLoads.set(dir, files);
      return;
    }
    folders.set(dir, loaded);
    // A folder copied in is an install: it undoes an earlier uninstall.
    await options.registry.clearUninstalled(name);
    emit('module:installed', { name, version, dir });
    await options.activateAll();
  };

  /** A folder that disappeared: its module stops (with its dependents) and is forgotten. */
  const removeFolder = async (dir: string, mod: FolderModule) => {
    folders.delete(dir);
    problems.delete(dir);
    const name = mod.manifest.name;
    const version = activator.versionOf(name);
    if (version !== undefined) {
      await activator.deactivate([name], { cascade: true });
      emit('module:removed', { name, version });
    }
    await mod.dispose().catch(() => {});
    catalog.forget(name);
  };

  const rescanOnce = async () => {
    const dirs = await moduleDirs();
    if (dirs === undefined) {
      // A folder that vanished for a moment (a move, an unmounted volume) must not stop every module.
      emit('watch:error', { message: `cannot read ${options.modulesDir}; nothing was changed, the next scan tries again` });
      return;
    }
    const seen = new Set(dirs);
    for (const dir of dirs) await syncFolder(dir).catch((e: unknown) => folderProblem(dir, e));
    for (const [dir, mod] of [...folders]) {
      if (!seen.has(dir) && !outside.has(dir)) await removeFolder(dir, mod).catch((e: unknown) => folderProblem(dir, e));
    }
    for (const dir of [...failedLoads.keys(), ...problems.keys()]) {
      if (seen.has(dir)) continue;
      failedLoads.delete(dir);
      problems.delete(dir);
    }
  };
  /** Loads and registers one folder at start (for `expected`, a remembered install folder); a failure is a problem. */
  const loadAtStart = async (dir: string, expected?: string): Promise<boolean> => {
    const files = await fingerprint(dir);
    try {
      const name = (await readManifest(dir)).name;
      if (expected !== undefined && name !== expected)
        throw new ModhostError(
          'MANIFEST_INVALID',
          `${dir} was installed for module ${expected} but now holds ${name}; host.install("${dir}") installs it as ${name}`,
          {
            details: { module: expected, dir, issues: [{ path: ['name'], message: `expected ${expected}` }] },
          },
        );
      const other = holderOf(name, dir);
      if (other !== undefined) throw new ModhostError('MANIFEST_INVALID', `${dir}: module ${name} is already loaded from ${other}; keep one folder per module`);
      if (await options.registry.wasUninstalled(name))
        throw new ModhostError(
          'MODULE_NOT_FOUND',
          `${name} was uninstalled (here or on another instance), so its folder ${dir} is not loaded; host.install("${dir}") installs it again`,
          {
            details: { module: name, dir },
          },
        );
      const loaded = await loadFolder(dir);
      await catalog.register(loaded.definition);
      folders.set(dir, loaded);
      emit('module:installed', { name: loaded.manifest.name, version: loaded.manifest.version, dir });
      return true;
    } catch (e) {
      folderProblem(dir, e);
      if (files !== undefined) failedLoads.set(dir, files);
      return false;
    }
  };
  /** Whether `dir` is one of modulesDir's folders (those a rescan keeps in line). */
  const inModulesDir = (dir: string) => options.modulesDir !== undefined && resolve(dir).startsWith(resolve(options.modulesDir) + sep);
  const rescan = () => {
    scanning = scanning.then(rescanOnce, rescanOnce);
    return scanning;
  };

  return {
    async loadAll() {
      for (const dir of (await moduleDirs()) ?? []) await loadAtStart(dir);
      for (const { name, dir } of await options.installed.list()) {
        if (folders.has(dir)) continue;
        if (await options.registry.wasUninstalled(name)) await options.installed.forget(name);
        else if (await loadAtStart(dir, name)) outside.add(dir);
      }
    },
    rescan,
    watch() {
      if (!options.watch || !options.modulesDir || watcher) return;
      watcher = createFolderWatcher(options.modulesDir, {
        clock: options.clock,
        debounceMs: options.debounceMs,
        // Nothing a rescan meets may escape as an unhandled rejection: that would end the app's process.
        onChange: () => void rescan().catch((e: unknown) => emit('watch:error', { message: `rescan failed: ${errorSummary(e).message}` })),
        onError: (message) => emit('watch:error', { message }),
      });
    },
    async install(dir) {
      const loaded = await loadFolder(dir);
      folders.set(dir, loaded);
      if (!inModulesDir(dir)) outside.add(dir);
      return loaded;
    },
    async remember(name, dir) {
      if (!inModulesDir(dir)) await options.installed.remember(name, resolve(dir));
    },
    unavailable(name, version) {
      const dir = loadedFrom.get(`${name}@${version}`);
      const holds = dir === undefined ? undefined : folders.get(dir)?.manifest;
      // Still loaded (its folder holds it, or a swapped-out version kept its private copy): it can start afresh.
      const kept = [...folders.values(), ...replaced].some((f) => f.manifest.name === name && f.manifest.version === version);
      if (dir === undefined || kept) return undefined;
      const now = holds ? `now holds ${holds.name}@${holds.version}` : 'is gone';
      const message =
        `${name}@${version} was loaded from ${dir}, which ${now}, and its code is no longer kept, so it cannot be started again. ` +
        `Copy ${version}'s files back into a modules folder: the host loads them afresh`;
      const from = activator.versionOf(name) ?? '';
      emit('module:upgrade-failed', { name, from, to: version, code: 'VERSION_UNAVAILABLE', message });
      return { module: name, from, to: version, ok: false, outcome: 'refused', error: { code: 'VERSION_UNAVAILABLE', message, timedOut: false } };
    },
    folderOf(name, version) {
      const all = [...folders.values(), ...replaced];
      return all.find((f) => f.manifest.name === name && f.manifest.version === version) ?? [...folders.values()].find((f) => f.manifest.name === name);
    },
    async drop(name) {
      for (const [dir, f] of [...folders]) {
        if (f.manifest.name !== name) continue;
        await f.dispose().catch(() => {});
        folders.delete(dir);
        outside.delete(dir);
      }
      await options.installed.forget(name);
    },
    async pending() {
      const out: CatalogEntry[] = [];
      for (const dir of (await moduleDirs()) ?? []) {
        const m = await readManifest(dir).catch(() => undefined);
        if (!m || catalog.has(m.name, m.version)) continue;
        out.push({
          name: m.name,
          version: m.version,
          dependencies: m.dependencies ?? {},
          optionalDependencies: m.optionalDependencies ?? {},
          ...(m.engines?.host ? { engines: { host: m.engines.host } } : {}),
        });
      }
      return out;
    },
    problems: () => [...problems.values()],
    async quiet() {
      watcher?.close();
      watcher = undefined;
      await scanning.catch(() => {});
    },
    async dispose() {
      const failures: { name: string; version: string; error: unknown }[] = [];
      // Every guest, also those of versions that never served or failed for good.
      for (const f of [...folders.values(), ...replaced.splice(0)]) {
        await f.dispose().catch((error: unknown) => failures.push({ name: f.manifest.name, version: f.manifest.version, error }));
      }
      return failures;
    },
  };
}
