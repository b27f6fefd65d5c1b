import { realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isWithin } from './fs-scope.js';
import { GUEST_PATH } from './guest-channel.js';
import type { Permission } from './permission.js';

/** What the process tier's flags are built from. */
export interface NodePermissionInput {
  /** The module's folder: always readable. */
  readonly root: string;
  /** The permissions the module holds now. */
  readonly granted: readonly Permission[];
  /** Old-generation heap limit, MB. */
  readonly maxOldGenerationSizeMb?: number;
}

/** `--permission` where this Node has it (22+), else Node 20's `--experimental-permission`. */
export function permissionFlag(): string {
  return process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
}

/** The real path of `path`, or `undefined` when it does not exist. */
const realOf = (path: string): string | undefined => {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
};

/** An fs scope's real path, when it exists and stays inside the module's real folder (Node follows links under an allowed path). */
function scopePath(realRoot: string, root: string, p: Permission): string | undefined {
  if (p.domain !== 'fs' || p.scope === undefined) return undefined;
  const path = realOf(resolve(root, p.scope));
  return path !== undefined && isWithin(realRoot, path) ? path : undefined;
}

/**
 * Node flags for a process-tier guest: the permission model on, reads allowed only for the guest runtime, the
 * module's root and its granted `fs:read` scopes, writes only for granted `fs:write` scopes, child processes
 * only with `process:spawn`, workers only with `worker:spawn`. One flag per path (Node 20 reads a comma list
 * as one path). Every path is a real path inside the module's real folder: a scope that is missing or leads out
 * through a link is left out, so it allows nothing.
 */
export function nodePermissionFlags(input: NodePermissionInput): string[] {
  const flags = [permissionFlag(), '--no-warnings'];
  const realRoot = realOf(input.root);
  const reads = new Set([dirname(GUEST_PATH)]);
  const writes = new Set<string>();
  if (realRoot !== undefined) reads.add(realRoot);
  for (const p of input.granted) {
    const path = realRoot === undefined ? undefined : scopePath(realRoot, input.root, p);
    if (path === undefined) continue;
    if (p.action === 'read' || p.action === '*') reads.add(path);
    if (p.action === 'write' || p.action === '*') writes.add(path);
  }
  for (const r of reads) flags.push(`--allow-fs-read=${r}`);
  for (const w of writes) flags.push(`--allow-fs-write=${w}`);
  if (input.granted.some((p) => p.domain === 'process' && p.action === 'spawn')) flags.push('--allow-child-process');
  if (input.granted.some((p) => p.domain === 'worker' && p.action === 'spawn')) flags.push('--allow-worker');
  if (input.maxOldGenerationSizeMb !== undefined) flags.push(`--max-old-space-size=${input.maxOldGenerationSizeMb}`);
  return flags;
}
