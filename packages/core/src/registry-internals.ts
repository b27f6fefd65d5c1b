import type { Clock } from './clock.js';
import { ModhostError } from './errors.js';
import type { Emitter } from './events.js';
import type { AnyModuleDefinition } from './module.js';
import type { ModuleRecord, ModuleVersionRecord, RegistryEvents } from './registry-types.js';
import type { Store } from './store.js';

/** Record kinds, as written in envelopes. */
export const KIND = {
  version: 'module-version',
  module: 'module',
  tenant: 'tenant-enablement',
  config: 'config-layer',
  observed: 'observed-state',
  lease: 'instance-lease',
  uninstalled: 'uninstalled',
} as const;

/** Key layout below the namespace. */
export const KEYS = {
  version: (name: string, version: string) => ['v', name, version],
  module: (name: string) => ['m', name],
  tenant: (tenant: string, name: string) => ['t', tenant, name],
  configHost: (name: string) => ['c', name, 'h'],
  observed: (instance: string, name: string, version: string) => ['o', instance, name, version],
  lease: (instance: string) => ['i', instance],
  uninstalled: (name: string) => ['x', name],
  configTenant: (name: string, tenant: string) => ['c', name, 't', tenant],
} as const;

/** State shared by the registry's parts. @internal */
export interface RegistryInternals {
  readonly store: Store;
  readonly clock: Pick<Clock, 'now'>;
  readonly events: Emitter<RegistryEvents>;
  /** Definitions (with code) registered in this process, by `name@version`. */
  readonly definitions: Map<string, AnyModuleDefinition>;
  readonly historyLimit: number;
  readonly configHistoryLimit: number;
  readonly satisfies: (version: string, range: string) => boolean;
  readVersion(name: string, version: string): Promise<ModuleVersionRecord | undefined>;
  requireVersion(name: string, version: string): Promise<ModuleVersionRecord>;
  /** All registered versions of `name`, oldest first. */
  versionsOf(name: string): Promise<ModuleVersionRecord[]>;
  /** The module record, without reading its versions; `MODULE_NOT_FOUND` if none is registered. */
  requireModuleRecord(name: string): Promise<ModuleRecord>;
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws `TENANT_INVALID` unless `tenant` is 1–128 of `A-Z a-z 0-9 . _ -`, starting alphanumeric. */
export function assertTenant(tenant: unknown): asserts tenant is string {
  if (typeof tenant !== 'string' || !TENANT.test(tenant)) {
    throw new ModhostError(
      'TENANT_INVALID',
      `tenant id ${JSON.stringify(tenant)} is not valid; use 1 to 128 characters of letters, digits, ".", "_" or "-", starting with a letter or digit`,
      { details: { tenant: typeof tenant === 'string' ? tenant : String(tenant) } },
    );
  }
}

export const defKey = (name: string, version: string) => `${name}@${version}`;
