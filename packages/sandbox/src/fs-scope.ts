import { constants } from 'node:fs';
import { type FileHandle, lstat, open, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, parse, resolve, sep } from 'node:path';
import { ModhostError } from '@modhost/core';

/** Splits an absolute path into its segments (the root is the empty first segment on POSIX). */
function segments(path: string): string[] {
  return path.split(sep).filter((s, i) => s !== '' || i === 0);
}

/** True when `inner` is `outer` or below it, compared segment by segment (so `/data` never contains `/database`). */
export function isWithin(outer: string, inner: string): boolean {
  const a = segments(outer);
  const b = segments(inner);
  if (b.length < a.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The real path of `path`, or `undefined` when it does not exist. */
async function real(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch {
    return undefined;
  }
}

// The OS gives up after this many links in one lookup (ELOOP); so do we.
const MAX_LINKS = 40;

/** What following links found: every link location on the way, and how many more may be followed. */
interface Trail {
  left: number;
  readonly links: string[];
}

/** Walks `parts` from the real folder `from` as the OS would, following links; a missing part ends the walk as written. */
async function walk(from: string, parts: readonly string[], trail: Trail): Promise<string | undefined> {
  let at = from;
  for (const [i, part] of parts.entries()) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      at = dirname(at);
      continue;
    }
    const next = join(at, part);
    const stat = await lstat(next).catch(() => undefined);
    if (stat === undefined) return resolve(next, ...parts.slice(i + 1));
    if (!stat.isSymbolicLink()) {
      at = next;
      continue;
    }
    trail.links.push(next);
    if (--trail.left < 0) return undefined;
    const text = await readlink(next);
    const landed = await walk(isAbsolute(text) ? parse(text).root : at, text.split(/[\\/]/), trail);
    if (landed === undefined) return undefined;
    at = landed;
  }
  return at;
}

/**
 * Where `path` leads on disk (`leads`), every link on the way followed, even when its target is missing (a
 * dangling link leads to where a write through it would create a file; the missing tail is appended as
 * written), and where each link followed is (`links`). `leads` is `undefined` for a loop of links, which leads nowhere.
 */
export async function followLinks(path: string): Promise<{ leads: string | undefined; links: readonly string[] }> {
  const abs = resolve(path);
  const { root } = parse(abs);
  const trail: Trail = { left: MAX_LINKS, links: [] };
  const leads = await walk(root, abs.slice(root.length).split(/[\\/]/), trail);
  return { leads, links: trail.links };
}

/** Where `path` leads on disk, through links, even dangling ones (see {@link followLinks}). */
async function whereLeads(path: string): Promise<string | undefined> {
  return (await followLinks(path)).leads;
}

/** Where a use of `lexical` lands: its real path, or for a write to a missing file, where the write would create it. */
async function destination(lexical: string, forWrite: boolean): Promise<string | undefined> {
  const actual = await real(lexical);
  if (actual !== undefined || !forWrite) return actual;
  // A new file, or a dangling link: follow it, and the folder it lands in must exist (its real path is checked).
  const landing = await whereLeads(lexical);
  if (landing === undefined) return undefined;
  const parent = await real(dirname(landing));
  return parent === undefined ? undefined : join(parent, basename(landing));
}

/** A scope's real path, or `undefined` when it is missing or leads out of the module's real folder. */
async function realScope(realRoot: string, root: string, scope: string): Promise<string | undefined> {
  const path = await real(resolve(root, scope));
  return path !== undefined && isWithin(realRoot, path) ? path : undefined;
}

/**
 * The real path a module may use for `target` and the index of the scope that allows it, or `undefined` when it
 * is outside every scope. `target` and the scopes resolve against the module's root; both then go through
 * `realpath`, so `../` and symlinks that lead out of a scope are caught. A scope whose real path leaves the
 * module's real folder matches nothing (see `scopeLeavingModule`). For writes to a file that does not exist
 * yet (or a dangling link), where the write would land is checked, and its folder must exist.
 */
export async function matchScope(
  root: string,
  scopes: readonly string[],
  target: string,
  forWrite = false,
): Promise<{ path: string; scope: number } | undefined> {
  const realRoot = await real(root);
  const actual = realRoot === undefined ? undefined : await destination(resolve(root, target), forWrite);
  if (realRoot === undefined || actual === undefined) return undefined;
  for (const [i, scope] of scopes.entries()) {
    const scopeReal = await realScope(realRoot, root, scope);
    if (scopeReal !== undefined && isWithin(scopeReal, actual)) return { path: actual, scope: i };
  }
  return undefined;
}

/**
 * The first scope that names `target` as written but whose real path leaves the module's folder through a link,
 * with where it leads: the reason a use under it is refused. `undefined` when there is none.
 */
export async function scopeLeavingModule(root: string, scopes: readonly string[], target: string): Promise<{ scope: number; target: string } | undefined> {
  const realRoot = await real(root);
  if (realRoot === undefined) return undefined;
  for (const [i, scope] of scopes.entries()) {
    if (!isWithin(resolve(root, scope), resolve(root, target))) continue;
    const leads = (await real(resolve(root, scope))) ?? (await whereLeads(resolve(root, scope)));
    if (leads !== undefined && !isWithin(realRoot, leads)) return { scope: i, target: leads };
  }
  return undefined;
}

// Not on Windows, where the check before the open is all there is.
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;

/** Reads a checked path without following a link at its last part (one swapped in since the check fails with ELOOP). */
export async function readNoFollow(path: string): Promise<Buffer> {
  const file = await open(path, constants.O_RDONLY | NO_FOLLOW);
  try {
    await refuseHardLinks(file, path);
    return await file.readFile();
  } finally {
    await file.close();
  }
}

/**
 * A file with more than one hard link may share its bytes with a file outside the module folder, and no path
 * check can tell where the other names are: such a file is neither read nor written through `ctx.fs`.
 */
async function refuseHardLinks(file: FileHandle, path: string): Promise<void> {
  const { nlink, isFile } = await file.stat().then((st) => ({ nlink: st.nlink, isFile: st.isFile() }));
  if (isFile && nlink > 1)
    throw new ModhostError(
      'LINK_OUTSIDE_MODULE',
      `${path} has ${nlink} hard links, and one may lead outside the module folder, so ctx.fs does not use it; ship a plain file instead`,
      { details: { path, links: nlink } },
    );
}

/** Writes a checked path without following a link at its last part, so a dangling link never creates a file elsewhere. */
export async function writeNoFollow(path: string, data: string | Uint8Array): Promise<void> {
  // Truncated only after the hard-link check: a refused write changes nothing.
  const file = await open(path, constants.O_WRONLY | constants.O_CREAT | NO_FOLLOW, 0o666);
  try {
    await refuseHardLinks(file, path);
    await file.truncate(0);
    await file.writeFile(data);
  } finally {
    await file.close();
  }
}
