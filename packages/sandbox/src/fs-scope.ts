import { realpath } from 'node:fs/promises';
import { basename, dirname, resolve, sep } from 'node:path';

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

/**
 * The real path a module may use for `target` and the index of the scope that allows it, or `undefined` when it
 * is outside every scope. `target` and the scopes resolve against the module's root; both then go through
 * `realpath`, so `../` and symlinks that lead out of a scope are caught. For writes to a file that does not exist
 * yet, its directory is resolved instead.
 */
export async function matchScope(
  root: string,
  scopes: readonly string[],
  target: string,
  forWrite = false,
): Promise<{ path: string; scope: number } | undefined> {
  const lexical = resolve(root, target);
  let actual = await real(lexical);
  if (actual === undefined) {
    if (!forWrite) return undefined;
    const parent = await real(dirname(lexical));
    if (parent === undefined) return undefined;
    actual = resolve(parent, basename(lexical));
  }
  for (const [i, scope] of scopes.entries()) {
    const scopeReal = await real(resolve(root, scope));
    if (scopeReal !== undefined && isWithin(scopeReal, actual)) return { path: actual, scope: i };
  }
  return undefined;
}

/** The real path a module may use for `target`, or `undefined` when it is outside every scope (see {@link matchScope}). */
export async function resolveInScopes(root: string, scopes: readonly string[], target: string, forWrite = false): Promise<string | undefined> {
  return (await matchScope(root, scopes, target, forWrite))?.path;
}
