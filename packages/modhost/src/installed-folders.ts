// Folders installed with `host.install(dir)` from outside `modulesDir`: remembered in the host's storage, so a restart
// loads them again instead of leaving their modules registered with no code to run.
import type { StorageAdapter } from '@modhost/core';

/** One remembered folder: the module it held when it was installed, and where. */
interface InstalledFolder {
  readonly name: string;
  readonly dir: string;
}

/** The remembered install folders of a host, one per module (the one its serving version came from). */
export interface InstalledFolders {
  list(): Promise<InstalledFolder[]>;
  remember(name: string, dir: string): Promise<void>;
  forget(name: string): Promise<void>;
}

/** Creates the store of install folders under `<namespace>:installed-folder:<name>`. */
export function createInstalledFolders(storage: StorageAdapter, namespace: string): InstalledFolders {
  const prefix = `${namespace}:installed-folder:`;
  return {
    async list() {
      const out: InstalledFolder[] = [];
      for (const key of (await storage.keys(prefix)).sort()) {
        const dir = parseDir(await storage.get(key));
        // A record this version cannot read is skipped, never a reason not to start.
        if (dir !== undefined) out.push({ name: key.slice(prefix.length), dir });
      }
      return out;
    },
    async remember(name, dir) {
      await storage.set(`${prefix}${name}`, JSON.stringify({ v: 1, dir }));
    },
    async forget(name) {
      await storage.delete(`${prefix}${name}`);
    },
  };
}

function parseDir(raw: string | null | undefined): string | undefined {
  if (typeof raw !== 'string') return undefined;
  try {
    const value = JSON.parse(raw) as { v?: unknown; dir?: unknown };
    return value.v === 1 && typeof value.dir === 'string' && value.dir !== '' ? value.dir : undefined;
  } catch {
    return undefined;
  }
}
