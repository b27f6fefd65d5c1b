import { readFileSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRegistry, type Issue, isModhostError, recoveryHint, type StorageAdapter } from '@modhost/core';
import { contractIssues, type Manifest, readManifest } from '@modhost/manifest';
import { resolve } from '@modhost/resolver';
import { computeIntegrity, createSandbox, loadIsolatedModule, parsePermission } from '@modhost/sandbox';
import { integrityKey } from '@modhost/sandbox/internal';
import { folderFileProblems } from './module-files.js';

/** A problem a command found, with where and what to do. */
export interface Problem {
  readonly where: string;
  readonly message: string;
  readonly hint?: string | undefined;
  /** Advice does not fail a command; errors do. */
  readonly level?: 'error' | 'advice';
}

const issueProblems = (where: string, issues: readonly Issue[]): Problem[] =>
  issues.map((i) => ({ where: i.path.length > 0 ? `${where}: ${i.path.join('.')}` : where, message: i.message }));

/** Validates one module folder: manifest, entry, contract, permissions. */
export async function validateFolder(dir: string): Promise<{ manifest?: Manifest; problems: Problem[] }> {
  let manifest: Manifest;
  try {
    manifest = await readManifest(dir);
  } catch (e) {
    const issues = isModhostError(e) ? ((e.details.issues as Issue[] | undefined) ?? []) : [];
    return { problems: issues.length > 0 ? issueProblems('modhost.json', issues) : [{ where: dir, message: (e as Error).message }] };
  }
  // package.json's version against the manifest's; a $schema that leads nowhere; a stale modhost-env.d.ts.
  const problems: Problem[] = await folderFileProblems(dir, manifest);
  for (const [i, p] of (manifest.permissions ?? []).entries()) {
    try {
      parsePermission(p);
    } catch (e) {
      problems.push({ where: `modhost.json: permissions.${i}`, message: (e as Error).message });
    }
  }
  // The permission model compares paths as given: name the folder by its real path, as its grant is.
  const root = await realpath(dir).catch(() => dir);
  const entry = join(root, manifest.main);
  if (!(await stat(entry).catch(() => undefined))?.isFile()) {
    // A TypeScript module's entry is its build output.
    const built = (await stat(join(root, 'tsconfig.json')).catch(() => undefined)) !== undefined;
    problems.push({
      where: 'modhost.json: main',
      message: `the entry "${manifest.main}" does not exist`,
      ...(built ? { hint: 'build the module first (npm run build)' } : {}),
    });
    return { manifest, problems };
  }
  // A link out of the folder would let its code read outside it (the OS follows links inside an allowed folder):
  // such a folder is refused as a host refuses it, before any of its code runs.
  try {
    await createSandbox().admit({ name: manifest.name, version: manifest.version, root });
  } catch (e) {
    problems.push({ where: dir, message: (e as Error).message, hint: recoveryHint(isModhostError(e) ? e.code : undefined) });
    return { manifest, problems };
  }
  // A module under validation is untrusted: its code runs in a child process with no grants, so the OS lets it
  // read only its own folder and write nothing (a worker would have the user's full rights).
  try {
    const iso = await loadIsolatedModule({ entry, root, isolation: 'process', expect: { name: manifest.name, version: manifest.version } });
    await iso.stop();
    const d = iso.description;
    problems.push(...issueProblems('contract', contractIssues(manifest, { name: d.name, version: d.version, routes: d.routes, jobs: d.jobs })));
    const hooks = new Set(d.hooks);
    if ((manifest.routes?.length ?? 0) > 0 && !(manifest.permissions ?? []).includes('routes:mount')) {
      problems.push({
        where: 'modhost.json: permissions',
        message: 'the module declares routes but does not request "routes:mount"; hosts will refuse to mount them',
      });
    }
    if (!hooks.has('health')) {
      problems.push({
        where: 'entry',
        level: 'advice',
        message: 'no health() hook: the health gate can only check that activate() returned',
        hint: 'add health(ctx) that checks what the module depends on',
      });
    }
  } catch (e) {
    problems.push({ where: `entry ${manifest.main}`, message: (e as Error).message });
  }
  return { manifest, problems };
}

/** True when a problem should fail the command (advice does not). */
export const isError = (p: Problem) => p.level !== 'advice';

/** Reads every module folder's manifest under `dir`. */
export async function readFolders(dir: string): Promise<{ manifests: { dir: string; manifest: Manifest }[]; problems: Problem[] }> {
  const entries = await readdir(dir, { withFileTypes: true });
  const manifests: { dir: string; manifest: Manifest }[] = [];
  const problems: Problem[] = [];
  for (const e of entries.filter((x) => x.isDirectory() && !x.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name))) {
    const folder = join(dir, e.name);
    try {
      manifests.push({ dir: folder, manifest: await readManifest(folder) });
    } catch (err) {
      const issues = isModhostError(err) ? ((err.details.issues as Issue[] | undefined) ?? []) : [];
      problems.push(...(issues.length > 0 ? issueProblems(`${e.name}/modhost.json`, issues) : [{ where: e.name, message: (err as Error).message }]));
    }
  }
  return { manifests, problems };
}

const catalogOf = (manifests: readonly { manifest: Manifest }[]) =>
  manifests.map(({ manifest: m }) => ({
    name: m.name,
    version: m.version,
    dependencies: m.dependencies ?? {},
    optionalDependencies: m.optionalDependencies ?? {},
    ...(m.engines?.host ? { engines: { host: m.engines.host } } : {}),
  }));

/** Resolves a modules folder from its manifests alone (no code is loaded). */
export function graphOf(manifests: readonly { manifest: Manifest }[], host?: string) {
  const catalog = catalogOf(manifests);
  return resolve({ ...(host ? { host } : {}), roots: Object.fromEntries(catalog.map((c) => [c.name, '*'])), catalog });
}

/** Graphviz: an edge from each dependency to its dependent, one rank per wave. */
export function toDot(manifests: readonly { manifest: Manifest }[], waves: readonly (readonly string[])[]): string {
  const lines = ['digraph modules {', '  rankdir=LR;', '  node [shape=box];'];
  for (const [i, wave] of waves.entries()) lines.push(`  { rank=same; ${wave.map((n) => JSON.stringify(n)).join('; ')}; } // wave ${i + 1}`);
  for (const { manifest: m } of manifests) {
    for (const [dep, range] of Object.entries(m.dependencies ?? {}))
      lines.push(`  ${JSON.stringify(dep)} -> ${JSON.stringify(m.name)} [label=${JSON.stringify(range)}];`);
    for (const [dep, range] of Object.entries(m.optionalDependencies ?? {}))
      lines.push(`  ${JSON.stringify(dep)} -> ${JSON.stringify(m.name)} [label=${JSON.stringify(range)}, style=dashed];`);
  }
  lines.push('}');
  return lines.join('\n');
}

const TYPESCRIPT_FILE = /\.[cm]?tsx?$/;
/** `tsx/esm/api` (its ESM file) as the app, or the adapter's folder, has tsx installed; never the CLI's own dependency. */
function findTsx(from: readonly string[]): string | undefined {
  for (const dir of from) {
    try {
      const pkgFile = createRequire(join(dir, 'noop.js')).resolve('tsx/package.json');
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports?: Record<string, { import?: string | { default?: string } }> };
      const entry = pkg.exports?.['./esm/api']?.import;
      const file = typeof entry === 'string' ? entry : entry?.default;
      if (file) return join(dirname(pkgFile), file);
    } catch {}
  }
  return undefined;
}

/**
 * Imports a storage adapter module. A TypeScript file goes through tsx's API when the app has tsx installed;
 * else Node imports it (which works under `node --import tsx`, or a Node that strips types) or fails, and the
 * error says how to make it load.
 */
async function importAdapter(path: string, file: string, cwd: string): Promise<{ default?: unknown }> {
  const url = pathToFileURL(path).href;
  if (!TYPESCRIPT_FILE.test(path)) return import(url);
  const tsx = findTsx([cwd, dirname(path)]);
  if (tsx) {
    const api = (await import(pathToFileURL(tsx).href)) as { tsImport: (specifier: string, parentURL: string) => Promise<{ default?: unknown }> };
    return api.tsImport(url, pathToFileURL(join(cwd, 'noop.js')).href);
  }
  try {
    return await import(url);
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw e;
    throw new Error(
      `${file} is TypeScript, which this Node cannot import by itself (${(e as Error).message}). Either install tsx in your app ` +
        `(npm install --save-dev tsx: the CLI then loads it), run the CLI under it (node --import tsx ./node_modules/.bin/modhost ...), ` +
        `or compile the adapter to JavaScript (tsc) and pass the .js/.mjs file`,
    );
  }
}

/**
 * Loads a storage adapter from a module file (its default export: an adapter, or a function returning one). A
 * `.ts`/`.mts` file loads through tsx when the app has it installed.
 */
export async function loadStorage(file: string, cwd: string): Promise<StorageAdapter> {
  const path = isAbsolute(file) ? file : resolvePath(cwd, file);
  const mod = await importAdapter(path, file, cwd);
  let exported = mod.default;
  // A TypeScript file in a folder without "type": "module" loads as CommonJS: its default export is one level down.
  if (exported !== null && typeof exported === 'object' && 'default' in exported && !('get' in exported)) exported = (exported as { default: unknown }).default;
  const value = typeof exported === 'function' ? await (exported as () => unknown)() : exported;
  const a = value as Partial<StorageAdapter> | undefined;
  if (!a || typeof a.get !== 'function' || typeof a.keys !== 'function' || typeof a.compareAndSet !== 'function') {
    throw new Error(`${file} must export (default) a storage adapter, or a function returning one`);
  }
  return a as StorageAdapter;
}

/** Diagnoses a modules folder and, when given, a storage. */
export async function doctor(dir: string, options: { storage?: StorageAdapter; namespace?: string; host?: string }): Promise<Problem[]> {
  const { manifests, problems } = await readFolders(dir);
  for (const p of problems) Object.assign(p, { hint: recoveryHint('MANIFEST_INVALID') });
  for (const { manifest: m } of manifests) {
    const alone = resolve({
      ...(options.host ? { host: options.host } : {}),
      roots: { [m.name]: m.version },
      catalog: catalogOf(manifests),
    });
    if (!alone.ok) problems.push({ where: `${m.name}@${m.version}`, message: alone.explanation.text, hint: recoveryHint(alone.error.code) });
  }
  if (!options.storage) return problems;
  const ns = options.namespace ?? 'modhost';
  const registry = createRegistry({ storage: options.storage, namespace: ns });
  const records = await registry.list();
  const inFolder = new Map(manifests.map((x) => [x.manifest.name, x]));
  const bad = (status: string) => ['failed', 'blocked', 'rolled-back'].includes(status);
  // Records written before lifecycle state was kept per instance carry it in the shared record.
  for (const r of records) {
    if (bad(r.status)) {
      problems.push({
        where: `${r.name}@${r.version}`,
        message: `is ${r.status}${r.lastError ? `: [${r.lastError.code}] ${r.lastError.message}` : ''}`,
        hint: recoveryHint(r.lastError?.code),
      });
    }
  }
  // Each host instance's own view (docs/fleet.md): what failed there, and instances whose lease expired.
  for (const instance of await registry.instances()) {
    const where = `instance ${instance.instanceId}${instance.alive ? '' : instance.ended ? ' (stopped)' : ' (lease expired: its states are stale)'}`;
    if (!instance.alive && !instance.ended)
      problems.push({
        where,
        level: 'advice',
        message: `stopped renewing its lease at ${new Date(instance.renewedAt).toISOString()} (crashed, or lost the storage)`,
        hint: 'restart it with the same instanceId, or ignore: its records do not block any other instance',
      });
    for (const [version, state] of Object.entries(await registry.observedBy(instance.instanceId))) {
      if (!bad(state.status)) continue;
      problems.push({
        where: version,
        message: `is ${state.status}${state.lastError ? `: [${state.lastError.code}] ${state.lastError.message}` : ''} (on ${where})`,
        hint: recoveryHint(state.lastError?.code),
      });
    }
  }
  const names = new Set(records.map((r) => r.name));
  for (const name of names)
    if (!inFolder.has(name))
      problems.push({ where: name, message: 'is in storage but has no folder here (drift)', hint: 'restore its folder, or uninstall it from the host' });
  for (const { dir: folder, manifest: m } of inFolder.values()) {
    if (!names.has(m.name)) {
      problems.push({
        where: m.name,
        message: 'has a folder but is not in storage (not installed yet, or another storage)',
        hint: 'start the host, or install it',
      });
      continue;
    }
    if (!records.some((r) => r.name === m.name && r.version === m.version)) {
      problems.push({
        where: m.name,
        message: `the folder holds ${m.version}, which storage has never seen (drift)`,
        hint: 'the host installs it on its next scan',
      });
    }
    const raw = await options.storage.get(integrityKey(m.name, m.version, ns));
    if (typeof raw === 'string') {
      const now = await computeIntegrity(folder);
      if ((JSON.parse(raw) as { integrity: string }).integrity !== now.integrity) {
        problems.push({ where: `${m.name}@${m.version}`, message: 'its files changed since it was installed', hint: recoveryHint('INTEGRITY_MISMATCH') });
      }
    }
  }
  return problems;
}
