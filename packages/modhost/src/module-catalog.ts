import type { Activator } from '@modhost/activation';
import type { AnyModuleDefinition, Registry } from '@modhost/core';
import type { CatalogEntry } from '@modhost/resolver';

/** The module versions whose code is loaded in this process: what this host can resolve and start. */
export interface ModuleCatalog {
  /** Registers a definition (again, for a version loaded afresh: its code replaces the old one) and makes it runnable here. */
  register(definition: AnyModuleDefinition): Promise<void>;
  /** Drops every version of a module from what resolves (its folder went away); the registry keeps its records. */
  forget(name: string): void;
  has(name: string, version: string): boolean;
  entries(): CatalogEntry[];
  names(): string[];
  /** What serves now, name → version: the resolver prefers it, so nothing is swapped needlessly. */
  serving(): Record<string, string>;
}

/**
 * Not a copy of the registry: the registry lists every version any process registered on the shared storage, while
 * this lists the ones whose code this process holds.
 */
export function createModuleCatalog(registry: Registry, activator: Pick<Activator, 'active' | 'versionOf'>): ModuleCatalog {
  const loaded = new Map<string, AnyModuleDefinition>(); // name@version → definition
  const key = (name: string, version: string) => `${name}@${version}`;
  return {
    async register(definition) {
      await registry.register(definition);
      loaded.set(key(definition.name, definition.version), definition);
    },
    forget(name) {
      for (const k of [...loaded.keys()]) if (k.startsWith(`${name}@`)) loaded.delete(k);
    },
    has: (name, version) => loaded.has(key(name, version)),
    entries: () => [...loaded.values()],
    names: () => [...new Set([...loaded.values()].map((d) => d.name))],
    serving() {
      const out: Record<string, string> = {};
      for (const name of activator.active) {
        const v = activator.versionOf(name);
        if (v) out[name] = v;
      }
      return out;
    },
  };
}
