import { readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { type Manifest, readManifest } from '@modhost/manifest';
import { ENV_TYPES_FILE, envTypes } from './env-types.js';

/** Where npm puts the manifest's JSON Schema, below a folder that installed modhost (or @modhost/manifest). */
const SCHEMA_PATH = 'node_modules/@modhost/manifest/schema.json';

const exists = async (path: string) => (await stat(path).catch(() => undefined))?.isFile() === true;
const posix = (path: string) => path.split(sep).join('/');

/**
 * The `$schema` a module folder's `modhost.json` should carry: the relative path, from `dir`, to the
 * `node_modules/@modhost/manifest/schema.json` Node would find (the folder's own, or an ancestor's: an app's, for
 * `<app>/modules/<name>`). Found nowhere (a module of its own, not installed yet): `./node_modules/...`, which its
 * own `npm install` brings (it depends on @modhost/manifest).
 */
export async function schemaRefFrom(dir: string): Promise<string> {
  const start = resolve(dir);
  for (let d = start; ; d = dirname(d)) {
    if (await exists(join(d, SCHEMA_PATH))) {
      const rel = posix(relative(start, join(d, SCHEMA_PATH)));
      return rel.startsWith('../') ? rel : `./${rel}`;
    }
    if (dirname(d) === d) return `./${SCHEMA_PATH}`;
  }
}

/**
 * When `$schema` is a relative path (not a URL) that leads to no file from `dir`, and the schema is found from
 * there (the folder moved into an app): the path to it. Otherwise (it works, or there is nothing to point at yet,
 * as in a module of its own before its `npm install`), undefined.
 */
async function schemaFix(dir: string, ref: string | undefined): Promise<string | undefined> {
  if (!ref || /^[a-z][a-z0-9+.-]*:/i.test(ref) || (await exists(resolve(dir, ref)))) return undefined;
  const found = await schemaRefFrom(dir);
  return found !== ref && (await exists(resolve(dir, found))) ? found : undefined;
}

/** What `modhost types` did, or (with `check`) would do. */
export interface TypesOutcome {
  readonly file: string;
  /** The file was missing or differed from the manifest (with `check`: nothing was written). */
  readonly stale: boolean;
  /** `$schema` led nowhere from the folder and was (or would be) pointed at the schema found from it. */
  readonly schema?: { readonly from: string; readonly to: string };
}

/**
 * Writes `<dir>/modhost-env.d.ts` from `<dir>/modhost.json`, and points a `$schema` that leads nowhere from the
 * folder (it moved, say into an app's modules folder) at the schema found from it. With `check`, writes nothing.
 * Throws `MANIFEST_INVALID` when the manifest is not valid.
 */
export async function writeTypes(dir: string, options: { check?: boolean } = {}): Promise<TypesOutcome> {
  const manifest = await readManifest(dir);
  const file = join(dir, ENV_TYPES_FILE);
  const text = envTypes(manifest);
  const stale = (await readFile(file, 'utf8').catch(() => undefined)) !== text;
  const to = await schemaFix(dir, manifest.$schema);
  const schema = to ? { from: manifest.$schema as string, to } : undefined;
  if (!options.check) {
    if (stale) await writeFile(file, text);
    if (schema) {
      // Only the value changes: the rest of the file keeps its layout.
      const json = join(dir, 'modhost.json');
      const raw = await readFile(json, 'utf8');
      await writeFile(
        json,
        raw.replace(/("\$schema"\s*:\s*)"(?:[^"\\]|\\.)*"/, (_, head: string) => `${head}${JSON.stringify(schema?.to)}`),
      );
    }
  }
  return { file, stale, ...(schema ? { schema } : {}) };
}

/** A problem with the files around the manifest (same shape as the commands' problems). */
interface FileProblem {
  readonly where: string;
  readonly message: string;
  readonly hint?: string;
  readonly level?: 'error' | 'advice';
}

/**
 * What `validate` checks beside the manifest and the code: `package.json`'s version against the manifest's (an
 * error), a `$schema` that leads nowhere, and a `modhost-env.d.ts` older than the manifest (advice).
 */
export async function folderFileProblems(dir: string, manifest: Manifest): Promise<FileProblem[]> {
  const problems: FileProblem[] = [];
  const pkgText = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined);
  if (pkgText !== undefined) {
    let version: unknown;
    try {
      version = (JSON.parse(pkgText) as { version?: unknown }).version;
    } catch (e) {
      problems.push({ where: 'package.json', message: `is not JSON: ${(e as Error).message}` });
    }
    if (version !== undefined && version !== manifest.version) {
      problems.push({
        where: 'package.json: version',
        message: `package.json says ${JSON.stringify(version)} but modhost.json says "${manifest.version}"; hosts install modhost.json's version`,
        hint: `set the same version in both files (npm version bumps only package.json), or remove "version" from package.json`,
      });
    }
  }
  const schema = await schemaFix(dir, manifest.$schema);
  if (schema) {
    problems.push({
      where: 'modhost.json: $schema',
      level: 'advice',
      message: `"${manifest.$schema}" leads nowhere from this folder (it moved?): editors cannot find the manifest's schema, which is at "${schema}"`,
      hint: 'run "npx modhost types" in the module\'s folder: it points $schema there',
    });
  }
  const types = await readFile(join(dir, ENV_TYPES_FILE), 'utf8').catch(() => undefined);
  if (types !== undefined && types !== envTypes(manifest)) {
    problems.push({
      where: ENV_TYPES_FILE,
      level: 'advice',
      message: 'is older than modhost.json: the types the code is checked against are not the manifest',
      hint: 'run "npx modhost types" in the module\'s folder (or npm run types)',
    });
  }
  return problems;
}
