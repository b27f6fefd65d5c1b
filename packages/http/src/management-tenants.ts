// Tenants as the admin console lists them: the modules each has enabled (with a range pin) and its config overrides
// (the tenant's own layer, sensitive values masked), also of modules it does not have enabled.
import type { ManagementHost } from './management-types.js';

/** Every tenant (or just `only`) with its modules and config overrides. */
export async function listTenants(host: ManagementHost, only: string | undefined) {
  const ids = only !== undefined ? [only] : await host.registry.listTenants();
  const tenants = [];
  for (const tenant of ids) {
    const enabled = new Map((await host.registry.listEnabled(tenant)).map((e) => [e.name, e]));
    const modules = [];
    for (const { name } of (await host.status()).modules) {
      const e = enabled.get(name);
      const layer = (await host.registry.getModule(name))?.hasConfig ? (await host.registry.getConfig(name, { tenant })).layers.tenant : {};
      // A module the tenant does not have is listed only when the tenant has config of its own for it.
      if (!e && Object.keys(layer).length === 0) continue;
      modules.push({ name, enabled: e !== undefined, ...(e?.range ? { range: e.range } : {}), overrides: layer });
    }
    tenants.push({ tenant, modules });
  }
  return { tenants };
}
