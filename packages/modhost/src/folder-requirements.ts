import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { ModhostError } from '@modhost/core';
import type { Manifest } from '@modhost/manifest';
import semver from 'semver';

/** One declared npm package as found in the module folder. */
interface PackageFound {
  readonly name: string;
  readonly range: string;
  /** `missing`, `no version` (its package.json is unreadable or has none), or the installed version. */
  readonly found: string;
}

const invalidRange = (dir: string, path: (string | number)[], range: string, what: string) =>
  new ModhostError('MANIFEST_INVALID', `${dir}: modhost.json ${path.join('.')} "${range}" is not a semver range; ${what}`, {
    details: { dir, issues: [{ path, message: `"${range}" is not a semver range such as ">=20" or "^1.2.0"` }] },
  });

/** A shell word as typed: quoted only when it must be (ranges hold `>`, `<`, `|` and spaces). */
const word = (s: string) => (/^[\w@%+=:,./^~-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

/**
 * Throws `NODE_INCOMPATIBLE` when the manifest's `engines.node` excludes `node` (the running Node by default).
 * Prereleases (nightly builds) are judged by their version number.
 */
function assertNode(dir: string, manifest: Manifest, node: string): void {
  const range = manifest.engines?.node;
  if (range === undefined) return;
  if (semver.validRange(range) === null) throw invalidRange(dir, ['engines', 'node'], range, 'write the Node.js versions it runs on, e.g. ">=20"');
  if (semver.satisfies(node, range, { includePrerelease: true })) return;
  throw new ModhostError(
    'NODE_INCOMPATIBLE',
    `${manifest.name}@${manifest.version} (${dir}) needs Node.js ${range} (engines.node), and this host runs Node.js ${node}. It was not loaded. Run the host on a Node.js version in that range, or install a version of the module that supports Node.js ${node}`,
    { details: { module: manifest.name, version: manifest.version, dir, range, node } },
  );
}

/** What `<dir>/node_modules/<name>` holds: read there and nowhere else (no walking up to the app's node_modules). */
async function findPackage(dir: string, realDir: string, name: string, range: string, module: string): Promise<PackageFound> {
  const file = join(dir, 'node_modules', name, 'package.json');
  const real = await realpath(file).catch(() => undefined);
  if (real === undefined) return { name, range, found: 'missing' };
  // The sandbox refuses links that lead out when it admits the folder; checked again here, where the file is read.
  const rel = relative(realDir, real);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new ModhostError(
      'LINK_OUTSIDE_MODULE',
      `${module}: its npm package "${name}" is a link that leads outside the module folder (to ${real}), so what it runs could change unseen. It was not loaded. Install the package inside the folder: npm install --prefix ${word(dir)} ${word(`${name}@${range}`)}`,
      { details: { module, path: `node_modules/${name}/package.json`, target: real } },
    );
  }
  let version: unknown;
  try {
    version = (JSON.parse(await readFile(real, 'utf8')) as { version?: unknown } | null)?.version;
  } catch {
    version = undefined;
  }
  return { name, range, found: typeof version === 'string' && semver.valid(version) ? version : 'no version' };
}

/** Throws `DEPENDENCY_UNSATISFIED` naming every declared npm package that is missing from the folder or outside its range. */
async function assertPackages(dir: string, manifest: Manifest): Promise<void> {
  const declared = Object.entries(manifest.npmDependencies ?? {});
  if (declared.length === 0) return;
  for (const [name, range] of declared)
    if (semver.validRange(range) === null) throw invalidRange(dir, ['npmDependencies', name], range, 'write the versions it needs, e.g. "^1.2.0"');
  const realDir = await realpath(dir);
  const who = `${manifest.name}@${manifest.version}`;
  const found = await Promise.all(declared.map(([name, range]) => findPackage(dir, realDir, name, range, who)));
  // npm's own reading of a range: a prerelease satisfies only a range that names one.
  const unsatisfied = found.filter((p) => !semver.valid(p.found) || !semver.satisfies(p.found, p.range));
  if (unsatisfied.length === 0) return;
  const command = `npm install --prefix ${word(dir)} ${unsatisfied.map((p) => word(`${p.name}@${p.range}`)).join(' ')}`;
  const lines = unsatisfied.map((p) => `${p.name}@${p.range}: ${p.found === 'missing' || p.found === 'no version' ? p.found : `found ${p.found}`}`);
  throw new ModhostError(
    'DEPENDENCY_UNSATISFIED',
    `${who} (${dir}) declares npm packages its folder does not satisfy (${lines.join('; ')}). It was not loaded. Install them inside the module folder: ${command}`,
    { details: { module: manifest.name, version: manifest.version, dir, packages: unsatisfied, hints: [command] } },
  );
}

/**
 * Checks what a module folder needs from its surroundings before any of its code loads: the running Node.js
 * (`engines.node`) and its declared npm packages (`npmDependencies`), each in the folder's own `node_modules`
 * with a version in its range. Throws `NODE_INCOMPATIBLE`, `DEPENDENCY_UNSATISFIED`, `LINK_OUTSIDE_MODULE` or
 * `MANIFEST_INVALID` (a range that does not parse).
 */
export async function assertFolderRequirements(dir: string, manifest: Manifest, node: string = process.versions.node): Promise<void> {
  assertNode(dir, manifest, node);
  await assertPackages(dir, manifest);
}
