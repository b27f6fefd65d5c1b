// Development mode's pieces that live outside the folder sync: its watcher debounce, and forgetting what it recorded.
import { createRegistry, isModhostError, type StorageAdapter } from '@modhost/core';
import { createSandbox } from '@modhost/sandbox';
import semver from 'semver';

/**
 * How long the watcher waits in development mode (`createHost({ dev: true })`) before it rescans, ms: an editor's
 * save is one or a few writes within a few ms, so 50 ms collapses them and leaves most of a 300 ms save-to-serving
 * budget to the reload itself.
 */
export const DEV_DEBOUNCE_MS = 50;

/** Options for {@link forgetDevVersions}. */
export interface ForgetDevOptions {
  /** The host's key namespace (default `modhost`). */
  readonly namespace?: string;
  /** Only this module's versions. */
  readonly name?: string;
  /** Only this version (with `name`). */
  readonly version?: string;
}

/** What {@link forgetDevVersions} did. */
export interface ForgetDevReport {
  /** `name@version` of every version whose development records were forgotten. */
  readonly forgotten: readonly string[];
  /** Versions whose registry record stays: a version registered outside development mode still needs it. */
  readonly kept: readonly { readonly module: string; readonly reason: string }[];
}

/**
 * Forgets every module version recorded in development mode in `storage` (or those of `options.name` /
 * `options.version`): its integrity record marked `dev`, and its registry record. A host not in development mode
 * then loads those folders afresh, as new installs, instead of refusing them. Stop the development host first.
 * What the CLI's `modhost dev --forget --storage <file>` runs.
 */
export async function forgetDevVersions(storage: StorageAdapter, options: ForgetDevOptions = {}): Promise<ForgetDevReport> {
  const namespace = options.namespace ?? 'modhost';
  const filter = { ...(options.name !== undefined ? { name: options.name } : {}), ...(options.version !== undefined ? { version: options.version } : {}) };
  const forgotten = new Set((await createSandbox({ storage, namespace }).forgetDev(filter)).map((v) => `${v.name}@${v.version}`));
  const registry = createRegistry({ storage, namespace, satisfies: (v, r) => semver.satisfies(v, r, { includePrerelease: true }) });
  // Code loaded in development mode is registered by name@version alone (`dev:` in place of its files' hash).
  let pending = (await registry.list()).filter(
    (r) =>
      r.codeFingerprint?.startsWith('dev:') &&
      (options.name === undefined || r.name === options.name) &&
      (options.version === undefined || r.version === options.version),
  );
  const kept: { module: string; reason: string }[] = [];
  // A dependent registered in development mode too is forgotten first; one that is not keeps what it needs.
  while (pending.length > 0) {
    const blocked: typeof pending = [];
    for (const r of pending) {
      const wasUninstalled = await registry.wasUninstalled(r.name);
      try {
        await registry.unregister(r.name, r.version);
      } catch (e) {
        if (!isModhostError(e, 'MODULE_IN_USE')) throw e;
        blocked.push(r);
        continue;
      }
      // Forgetting is not uninstalling: its folder loads again at the next start.
      if (!wasUninstalled) await registry.clearUninstalled(r.name);
      forgotten.add(`${r.name}@${r.version}`);
    }
    if (blocked.length === pending.length) {
      for (const r of blocked) {
        const reason = 'versions registered outside development mode depend on it; upgrade them to a new version first';
        kept.push({ module: `${r.name}@${r.version}`, reason });
      }
      break;
    }
    pending = blocked;
  }
  return { forgotten: [...forgotten].sort(), kept };
}
