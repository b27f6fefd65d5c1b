// What the management API says of a module: found by name, summarised with its registry status, and whom it serves.
import { ModhostError } from '@modhost/core';
import type { RegistryStatus } from './management-status.js';
import type { ManagementHost, ModuleStatusLike } from './management-types.js';

const notFound = (name: string) => new ModhostError('MODULE_NOT_FOUND', `no module named "${name}" is installed`, { details: { module: name } });

/** The module's status, or `MODULE_NOT_FOUND`. */
export async function find(host: ManagementHost, name: string): Promise<ModuleStatusLike> {
  const m = (await host.status()).modules.find((x) => x.name === name);
  if (!m) throw notFound(name);
  return m;
}

/** One module as the API lists it. */
export const summary = (m: ModuleStatusLike, status: RegistryStatus) => ({
  name: m.name,
  version: m.version,
  status,
  state: m.state,
  health: m.health,
  isolation: m.isolation,
  ...(m.lastError
    ? {
        lastError: {
          code: m.lastError.code,
          message: m.lastError.message,
          ...(m.lastError.phase ? { phase: m.lastError.phase } : {}),
          ...(m.lastError.hint ? { hint: m.lastError.hint } : {}),
        },
      }
    : {}),
});

/** Whether a module serves a view: a tenant's, or (no tenant) host-wide. */
export const servesView = (host: ManagementHost, name: string, tenant: string | undefined) => host.isEnabled(name, tenant);

/** Who a module serves (`access`) and whether it serves the tenant (or, with none, host-wide). */
export const enablement = async (host: ManagementHost, name: string, tenant: string | undefined) => {
  const access = (await host.registry.getModule(name))?.access ?? 'host';
  const enabled = tenant === undefined ? access === 'host' : (await host.registry.listEnabled(tenant)).some((e) => e.name === name);
  return { access, enabled };
};
