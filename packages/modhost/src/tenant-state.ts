import type { Clock, Registry, StorageAdapter } from '@modhost/core';
import type { HostEvents } from './host-types.js';
import type { TenantEnablementState } from './tenant-types.js';

/** What moving tenants works with: the registry, where snapshots go, and the host's caches to keep in step. */
export interface TenantDeps {
  readonly registry: Registry;
  readonly storage: StorageAdapter;
  /** The registry's key namespace: snapshots live beside its records. */
  readonly namespace: string;
  readonly clock: Pick<Clock, 'now'>;
  readonly satisfies: (version: string, range: string) => boolean;
  /** After an enablement or access change, so this instance serves it now (instance-sync's `changed`). */
  readonly changed: (name: string, tenant: string | undefined) => Promise<void>;
  /** After a config change, so a running module gets its new values now. */
  readonly reconfigure: (name: string) => Promise<void>;
  readonly emit: <K extends keyof HostEvents>(event: K, payload: HostEvents[K]) => void;
}

/** A tenant's enablement of a module as a step reports it. */
export const enablementState = (e: { readonly range?: string | undefined } | undefined): TenantEnablementState =>
  e === undefined ? { enabled: false } : { enabled: true, ...(e.range === undefined ? {} : { range: e.range }) };

/** How many tenants each module is enabled for. */
export async function tenantCounts(registry: Registry): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const tenant of await registry.listTenants()) for (const e of await registry.listEnabled(tenant)) counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
  return counts;
}

/** The only writes tenant moves make: each goes through the registry, then tells the host, as `host.enable` does. */
export function createTenantWriter(deps: TenantDeps) {
  const { registry } = deps;
  return {
    async enable(tenant: string, name: string, range: string | undefined) {
      await registry.enable(name, { tenant, ...(range === undefined ? {} : { range }) });
      await deps.changed(name, tenant);
    },
    async disable(tenant: string, name: string) {
      await registry.disable(name, { tenant });
      await deps.changed(name, tenant);
    },
    /** Sets the tenant's whole layer (values in clear: sensitive ones included). */
    async configure(tenant: string, name: string, values: Record<string, unknown>) {
      await registry.configure(name, values, { tenant, mode: 'replace' });
      await deps.reconfigure(name);
    },
    async rollbackConfig(tenant: string, name: string, to: number) {
      const version = await registry.rollbackConfig(name, { tenant, to });
      await deps.reconfigure(name);
      return version;
    },
    /** Who a module serves: `host` (every request) or `tenants` (only those it is enabled for). */
    async setAccess(name: string, access: 'host' | 'tenants') {
      if (access === 'host') await registry.enable(name);
      else await registry.disable(name);
      await deps.changed(name, undefined);
    },
  };
}

/** See {@link createTenantWriter}. */
export type TenantWriter = ReturnType<typeof createTenantWriter>;
