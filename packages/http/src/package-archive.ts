import { mkdir, mkdtemp, open, realpath, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ModhostError } from '@modhost/core';
import { type ArchiveEntry, type ArchiveLimits, packageInvalid, shown, tooLarge, truncated } from './archive-entry.js';
import { isTar, readTar } from './tar-reader.js';
import { isZip, readZip } from './zip-reader.js';

/** The limits an upload is read within unless the app sets others. */
const PACKAGE_LIMITS: ArchiveLimits = { maxUnpackedBytes: 50 * 1024 * 1024, maxEntries: 10_000 };

/** A module package, checked: relative paths of safe segments, `modhost.json` at the root. */
export interface ModulePackage {
  readonly files: readonly { readonly path: readonly string[]; readonly data: Uint8Array }[];
  readonly directories: readonly (readonly string[])[];
}

const MAX_SEGMENT_BYTES = 255;
const MAX_PATH_CHARS = 1024;

/** The entry's path as safe segments, or why it is refused: never absolute, never up, never Windows-shaped. */
function segmentsOf(name: string): string[] {
  const refuse = (why: string) => packageInvalid(`${shown(name)} ${why}; every entry must be a relative path inside the package`, name);
  if (name.includes('\0')) throw refuse('has a NUL in its name');
  if (name.includes('\\')) throw refuse('has a backslash in its name (paths in a package use /)');
  if (name.startsWith('/')) throw refuse('is an absolute path');
  if (/^[A-Za-z]:/.test(name)) throw refuse('starts with a drive letter');
  if (name.length > MAX_PATH_CHARS) throw refuse(`is longer than ${MAX_PATH_CHARS} characters`);
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw refuse('has a .. segment');
  if (segments.some((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES)) throw refuse(`has a name longer than ${MAX_SEGMENT_BYTES} bytes`);
  return segments;
}

/** Only files and folders: a link is refused wherever it points (a package ships files), and so is anything else. */
function refuseKind(entry: ArchiveEntry): void {
  if (entry.kind === 'symlink' || entry.kind === 'hardlink') {
    const what = entry.kind === 'symlink' ? 'a symbolic link' : 'a hard link';
    throw new ModhostError(
      'LINK_OUTSIDE_MODULE',
      `the uploaded package was refused: ${shown(entry.name)} is ${what} (to ${shown(entry.target ?? '')}); a package holds only files and folders, so ship the files themselves`,
      { details: { path: entry.name, target: entry.target } },
    );
  }
  if (entry.kind === 'special')
    throw packageInvalid(`${shown(entry.name)} is ${entry.what ?? 'not a file or a folder'}; a package holds only files and folders`, entry.name);
}

/** The archive's entries: a `.tgz` inflated (never past the cap), then read as tar; a zip read as zip. */
function entriesOf(bytes: Uint8Array, limits: ArchiveLimits): ArchiveEntry[] {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    let tar: Uint8Array;
    try {
      tar = gunzipSync(bytes, { maxOutputLength: limits.maxUnpackedBytes });
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limits);
      throw (e as { code?: string }).code === 'Z_BUF_ERROR' ? truncated('its gzip stream') : packageInvalid('its gzip stream is damaged');
    }
    if (!isTar(tar)) throw packageInvalid('it is gzipped, but what is inside is not a tar archive');
    return readTar(tar, limits);
  }
  if (isZip(bytes)) return readZip(bytes, limits);
  if (isTar(bytes)) return readTar(bytes, limits);
  throw packageInvalid('it is not a tar, a gzipped tar (.tgz, as npm pack makes) or a zip archive');
}

/**
 * Reads a module package from its bytes (`.tar`, `.tar.gz`/`.tgz` or `.zip`, told apart by their magic bytes) and
 * checks it before anything is written: only files and folders, every path relative and inside, no entry twice,
 * within the limits. One top-level folder (`package/` as npm pack makes, or `<name>/`) is taken off, so
 * `modhost.json` is at the root. Throws `MANIFEST_INVALID` or, for a link, `LINK_OUTSIDE_MODULE`.
 */
export function readModulePackage(bytes: Uint8Array, limits: ArchiveLimits = PACKAGE_LIMITS): ModulePackage {
  const files = new Map<string, { path: string[]; data: Uint8Array }>();
  const directories = new Map<string, string[]>();
  for (const entry of entriesOf(bytes, limits)) {
    const path = segmentsOf(entry.name);
    refuseKind(entry);
    const key = path.join('/');
    if (entry.kind === 'directory') {
      if (files.has(key)) throw packageInvalid(`${shown(entry.name)} is both a file and a folder`, entry.name);
      if (path.length > 0) directories.set(key, path);
      continue;
    }
    if (path.length === 0) throw packageInvalid(`a file entry has no name (${shown(entry.name)})`, entry.name);
    if (files.has(key) || directories.has(key)) throw packageInvalid(`${shown(entry.name)} appears twice`, entry.name);
    files.set(key, { path, data: entry.data ?? new Uint8Array() });
  }
  // A file may not also be a folder some other entry lies in.
  for (const { path } of [...files.values(), ...[...directories.values()].map((p) => ({ path: p }))]) {
    for (let i = 1; i < path.length; i++) {
      const parent = path.slice(0, i).join('/');
      if (files.has(parent)) throw packageInvalid(`${shown(parent)} is both a file and a folder`, parent);
    }
  }

  let strip = 0;
  const all = [...files.values()].map((f) => f.path).concat([...directories.values()]);
  const tops = new Set(all.map((p) => p[0]));
  if (!files.has('modhost.json') && tops.size === 1 && [...files.values()].every((f) => f.path.length > 1)) strip = 1;
  const manifest = strip === 1 ? `${[...tops][0]}/modhost.json` : 'modhost.json';
  if (!files.has(manifest))
    throw packageInvalid('it has no modhost.json at its root (or inside one top-level folder, such as package/ from npm pack)', 'modhost.json');
  return {
    files: [...files.values()].map((f) => ({ path: f.path.slice(strip), data: f.data })),
    directories: [...directories.values()].map((p) => p.slice(strip)).filter((p) => p.length > 0),
  };
}

/** Options for {@link unpackModulePackage}. */
export interface UnpackOptions extends Partial<ArchiveLimits> {
  /** The folder fresh package folders are made in (created when missing). */
  readonly into: string;
}

const CLASH = new Set(['EEXIST', 'ENOTDIR', 'EISDIR']);

/**
 * Unpacks a module package into a fresh folder `<into>/<timestamp>-<random>/` and returns its path. The package is
 * read and checked in full first; then every file is created new (`wx`: an existing path, a link among them, is never
 * opened) under a parent whose real path is inside the fresh folder. On any failure the fresh folder is removed:
 * nothing is ever written outside it, and nothing half-written stays.
 */
export async function unpackModulePackage(bytes: Uint8Array, options: UnpackOptions): Promise<string> {
  const limits = { maxUnpackedBytes: options.maxUnpackedBytes ?? PACKAGE_LIMITS.maxUnpackedBytes, maxEntries: options.maxEntries ?? PACKAGE_LIMITS.maxEntries };
  const pkg = readModulePackage(bytes, limits);
  await mkdir(options.into, { recursive: true });
  const dir = await mkdtemp(join(await realpath(options.into), `${Date.now()}-`));
  let current = '';
  try {
    const root = await realpath(dir);
    const inside = (p: string) => p === root || p.startsWith(`${root}${sep}`);
    const target = (path: readonly string[]) => {
      current = path.join('/');
      const t = resolve(root, ...path);
      if (!inside(t)) throw packageInvalid(`${shown(current)} would be written outside the package folder`, current);
      return t;
    };
    // Parents already seen to resolve inside (the fresh folder is 0700 and only this call writes in it).
    const parents = new Set([root]);
    const ensureFolder = async (folder: string) => {
      if (parents.has(folder)) return;
      await mkdir(folder, { recursive: true });
      if (!inside(await realpath(folder))) throw packageInvalid(`${shown(current)} would be written outside the package folder`, current);
      parents.add(folder);
    };
    for (const path of pkg.directories) await ensureFolder(target(path));
    for (const file of pkg.files) {
      const t = target(file.path);
      await ensureFolder(dirname(t));
      const handle = await open(t, 'wx', 0o644);
      try {
        await handle.writeFile(file.data);
      } finally {
        await handle.close();
      }
    }
    return dir;
  } catch (e) {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    const code = (e as { code?: string }).code;
    if (code !== undefined && CLASH.has(code))
      throw packageInvalid(`${shown(current)} clashes with another entry (names that differ only in case or accents are one file on some systems)`, current);
    if (code === 'ENAMETOOLONG') throw packageInvalid(`${shown(current)} is too long a path for this system`, current);
    throw e;
  }
}
