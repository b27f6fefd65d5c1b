import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AnyModuleDefinition, type Issue, ModhostError, validateDefinition } from '@modhost/core';
import { CODE_FINGERPRINT, isPlainObject } from '@modhost/core/internal';
import { configSchemaFromJson, contractIssues, type Manifest, readManifest } from '@modhost/manifest';
import { type IsolatedModule, loadIsolatedModule, type Sandbox, type SupervisorStatus } from '@modhost/sandbox';
import { assertFolderRequirements } from './folder-requirements.js';
import { effectiveTier, type IsolationTier, type TierRequest } from './isolation-policy.js';

/** A module loaded from a folder (`modhost.json` + entry). */
export interface FolderModule {
  readonly dir: string;
  readonly manifest: Manifest;
  /** What the registry gets: the manifest's declarations with the entry's code. */
  readonly definition: AnyModuleDefinition;
  /** The tier it runs in: what its manifest asked for, raised to the host's minimum. */
  readonly isolation: IsolationTier;
  /** SRI of the folder, recorded at load. */
  readonly integrity: string;
  /** Stops an isolated module's guest (nothing for in-process modules). */
  dispose(): Promise<void>;
  /** An isolated module's guest: running, restarting after a crash, failed for good (undefined in-process). */
  guest?: () => SupervisorStatus | undefined;
}

/** Options for {@link loadModuleFolder}. */
export interface LoadFolderOptions {
  sandbox: Sandbox;
  /** Isolation for manifests that do not say (default `worker`: reloads release everything). */
  defaultIsolation?: IsolationTier;
  /**
   * The weakest tier this module may run in, decided once its signature is known (default: no floor). A manifest
   * that asks for a weaker tier runs in this one.
   */
  minimumIsolation?: (request: TierRequest) => IsolationTier;
  /** For isolated modules: see `@modhost/sandbox`. */
  isolated?: Pick<Parameters<typeof loadIsolatedModule>[0], 'restart' | 'clock' | 'registry' | 'onEvent'>;
  /** Call and resource limits per tier (see `@modhost/sandbox`: `CallLimits`, `WorkerLimits`). */
  limits?: { readonly worker?: IsolatedLimits; readonly sandboxed?: IsolatedLimits; readonly process?: IsolatedLimits };
}

/** Call and resource limits of an isolated module. */
export type IsolatedLimits = NonNullable<Parameters<typeof loadIsolatedModule>[0]['limits']>;

const invalid = (dir: string, message: string, issues: Issue[] = [], cause?: unknown) =>
  new ModhostError('MANIFEST_INVALID', `${dir}: ${message}`, { ...(cause ? { cause } : {}), details: { dir, issues } });

/** The manifest's declarative fields, laid over the code's definition. */
function declarative(manifest: Manifest) {
  const config = manifest.config
    ? {
        config: {
          schema: configSchemaFromJson(manifest.config.schema),
          ...(manifest.config.defaults ? { defaults: manifest.config.defaults } : {}),
          ...(manifest.config.presets ? { presets: manifest.config.presets } : {}),
          ...(manifest.config.sensitive ? { sensitive: manifest.config.sensitive } : {}),
        },
      }
    : {};
  const pick = <K extends keyof Manifest>(k: K) => (manifest[k] !== undefined ? { [k]: manifest[k] } : {});
  return {
    name: manifest.name,
    version: manifest.version,
    ...pick('displayName'),
    ...pick('description'),
    ...pick('author'),
    ...pick('license'),
    ...pick('metadata'),
    ...pick('engines'),
    dependencies: manifest.dependencies ?? {},
    optionalDependencies: manifest.optionalDependencies ?? {},
    permissions: manifest.permissions ?? [],
    ...pick('stateMode'),
    ...pick('ui'),
    ...pick('extensions'),
    ...config,
  };
}

/**
 * Loads a module folder: validates `modhost.json`, records (or checks) the folder's integrity, loads the entry
 * in its isolation tier, and checks the entry against the manifest's contract. Before any code loads, the running
 * Node must satisfy `engines.node` and every `npmDependencies` package must be in the folder's own `node_modules`
 * (hashed with the rest of the folder). Throws `MANIFEST_INVALID` (with every issue), `INTEGRITY_MISMATCH`,
 * `SIGNATURE_INVALID`, `LINK_OUTSIDE_MODULE`, `NODE_INCOMPATIBLE` or `DEPENDENCY_UNSATISFIED`; nothing is
 * registered or started.
 *
 * In-process entries are imported under a URL that carries the folder's integrity, so a new version is a new
 * module instance. ESM cannot be unloaded: every in-process version loaded stays in memory until the process
 * ends. Modules meant to be reloaded often should use the default `worker` isolation, whose reloads release
 * everything with the worker.
 */
export async function loadModuleFolder(dir: string, options: LoadFolderOptions): Promise<FolderModule> {
  const manifest = await readManifest(dir);
  const entry = join(dir, manifest.main);
  if (!(await stat(entry).catch(() => undefined))?.isFile())
    throw invalid(dir, `its entry "${manifest.main}" (modhost.json "main") does not exist`, [{ path: ['main'], message: 'no such file' }]);
  let signature: unknown;
  const sigText = await readFile(join(dir, 'modhost.sig'), 'utf8').catch(() => undefined);
  if (sigText !== undefined) {
    try {
      signature = JSON.parse(sigText);
    } catch {
      signature = sigText;
    }
  }
  const record = await options.sandbox.admit({ name: manifest.name, version: manifest.version, root: dir, ...(signature !== undefined ? { signature } : {}) });
  try {
    // After admit: its links are vetted and its files (node_modules too) recorded before anything is read from them.
    await assertFolderRequirements(dir, manifest);
    return await loadAdmitted(dir, manifest, entry, record, options);
  } catch (e) {
    // A version that never loaded has not fixed its content yet: fixed files under the same version may come.
    // A development record stays: withdrawn, its edited files could be admitted as they are outside development mode.
    if (record.recorded && !record.dev)
      await options.sandbox.withdraw({ name: manifest.name, version: manifest.version, integrity: record.integrity }).catch(() => {});
    throw e;
  }
}

async function loadAdmitted(
  dir: string,
  manifest: Manifest,
  entry: string,
  record: { readonly integrity: string; readonly signedBy?: string; readonly dev?: boolean },
  options: LoadFolderOptions,
): Promise<FolderModule> {
  const request = { name: manifest.name, asked: manifest.isolation, signedBy: record.signedBy };
  const isolation = effectiveTier(request, options.defaultIsolation ?? 'worker', options.minimumIsolation?.(request) ?? 'in-process');
  const base = declarative(manifest);

  if (isolation === 'in-process') {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(`${pathToFileURL(entry).href}?integrity=${encodeURIComponent(record.integrity.slice(7, 27))}`)) as Record<string, unknown>;
    } catch (cause) {
      throw invalid(
        dir,
        `its entry failed to load: ${cause instanceof Error ? cause.message : String(cause)}`,
        [{ path: ['main'], message: 'failed to load' }],
        cause,
      );
    }
    const code = (mod.default ?? mod.module) as Record<string, unknown> | undefined;
    if (!isPlainObject(code))
      throw invalid(dir, `its entry "${manifest.main}" must export the module as its default export (a plain object)`, [
        { path: ['main'], message: 'no default export' },
      ]);
    const routes = (Array.isArray(code.routes) ? code.routes : []) as { method: string; path: string }[];
    const jobs = (Array.isArray(code.jobs) ? code.jobs : []) as { name: string }[];
    const issues = contractIssues(manifest, { name: code.name, version: code.version, routes, jobs });
    if (issues.length > 0) throw invalid(dir, `its entry does not match modhost.json:\n  - ${issues.map((i) => i.message).join('\n  - ')}`, issues);
    const definition = { ...code, ...base };
    const checked = validateDefinition(definition);
    if (!checked.ok)
      throw invalid(dir, `its module is not valid:\n  - ${checked.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  - ')}`, checked.issues);
    return { dir, manifest, definition: byFiles(checked.value, record), isolation, integrity: record.integrity, dispose: async () => {} };
  }

  // The guest runs from a private copy of this version's files: when a newer version overwrites the folder (and
  // is refused, or rolled back), this one can still restart after a crash, and its integrity still checks out.
  const copy = await snapshotFolder(dir, manifest.name, manifest.version);
  let iso: IsolatedModule;
  try {
    iso = await loadIsolatedModule({
      entry: join(copy.root, relative(dir, entry)),
      root: copy.root,
      isolation,
      sandbox: options.sandbox,
      expect: { name: manifest.name, version: manifest.version },
      ...(base.config ? { config: base.config as never } : {}),
      ...options.isolated,
      ...(options.limits?.[isolation] ? { limits: options.limits[isolation] } : {}),
    });
  } catch (cause) {
    await copy.remove();
    if (cause instanceof ModhostError && cause.code !== 'MANIFEST_INVALID') throw cause;
    throw invalid(
      dir,
      `its entry failed to load in a ${isolation} guest: ${cause instanceof Error ? cause.message : String(cause)}`,
      [{ path: ['main'], message: 'failed to load' }],
      cause,
    );
  }
  const d = iso.description;
  const issues = contractIssues(manifest, { name: d.name, version: d.version, routes: d.routes, jobs: d.jobs });
  if (issues.length > 0) {
    await iso.stop();
    await copy.remove();
    throw invalid(dir, `its entry does not match modhost.json:\n  - ${issues.map((i) => i.message).join('\n  - ')}`, issues);
  }
  // The guest was given the manifest's config schema already; the manifest's other declarations win too.
  const definition = { ...iso.definition, ...base };
  return {
    dir,
    manifest,
    definition: byFiles(definition as AnyModuleDefinition, record),
    isolation,
    integrity: record.integrity,
    dispose: async () => {
      await iso.stop();
      await copy.remove();
    },
    guest: () => iso.status(),
  };
}

/** A private copy of a module version's files (links copied as links), removed when the version is disposed. */
async function snapshotFolder(dir: string, name: string, version: string): Promise<{ root: string; remove(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), `modhost-${name.replace(/[^a-z0-9.-]/gi, '_')}@${version}-`));
  await cp(dir, root, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  return { root, remove: () => rm(root, { recursive: true, force: true }) };
}

/**
 * A folder module is identified by its files' integrity, not by the text of modhost's own loader code. A version
 * recorded in development mode is identified by its name@version alone (marked `dev:`): its files change in place.
 */
function byFiles(definition: AnyModuleDefinition, record: { readonly integrity: string; readonly dev?: boolean }): AnyModuleDefinition {
  return Object.assign(definition, { [CODE_FINGERPRINT]: record.dev ? `dev:${definition.name}@${definition.version}` : record.integrity });
}
