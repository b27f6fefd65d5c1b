import { realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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

const realOr = (path: string) => {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
};

/**
 * Node flags for a process-tier guest: the permission model on, reads allowed only for the guest runtime, the
 * module's root and its granted `fs:read` scopes, writes only for granted `fs:write` scopes, child processes
 * only with `process:spawn`, workers only with `worker:spawn`. One flag per path (Node 20 reads a comma list
 * as one path).
 */
export function nodePermissionFlags(input: NodePermissionInput): string[] {
  const flags = [permissionFlag(), '--no-warnings'];
  const reads = new Set([dirname(GUEST_PATH), realOr(input.root)]);
  const writes = new Set<string>();
  for (const p of input.granted) {
    if (p.domain === 'fs' && p.scope !== undefined) {
      const path = realOr(resolve(input.root, p.scope));
      if (p.action === 'read' || p.action === '*') reads.add(path);
      if (p.action === 'write' || p.action === '*') writes.add(path);
    }
  }
  for (const r of reads) flags.push(`--allow-fs-read=${r}`);
  for (const w of writes) flags.push(`--allow-fs-write=${w}`);
  if (input.granted.some((p) => p.domain === 'process' && p.action === 'spawn')) flags.push('--allow-child-process');
  if (input.granted.some((p) => p.domain === 'worker' && p.action === 'spawn')) flags.push('--allow-worker');
  if (input.maxOldGenerationSizeMb !== undefined) flags.push(`--max-old-space-size=${input.maxOldGenerationSizeMb}`);
  return flags;
}
