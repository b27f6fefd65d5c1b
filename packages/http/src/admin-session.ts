// Who is using the console and what they may press: the page greys out what the caller's roles do not allow (the
// API refuses it anyway).
import { rolesAllow } from './management-roles.js';
import type { ManagementApiOptions, ManagementRole } from './management-types.js';

/** What one scope (host-wide, or the caller's tenant) allows. */
type Abilities = Readonly<Record<ManagementRole, boolean>>;

const ROLES: readonly ManagementRole[] = ['viewer', 'operator', 'admin'];

/** The caller's abilities host-wide and in their own tenant, decided as the API decides. */
export async function sessionOf<P>(options: ManagementApiOptions<P>, principal: P | undefined, tenant: string | undefined) {
  const may = async (role: ManagementRole, scope: string | undefined): Promise<boolean> => {
    if (options.authorize) return (await options.authorize({ principal, tenant, role, scope, action: `console.${role}`, module: undefined })) === true;
    return options.roles ? rolesAllow(options.roles(principal), { role, scope }) : false;
  };
  const abilities = async (scope: string | undefined): Promise<Abilities> => {
    const out: Partial<Record<ManagementRole, boolean>> = {};
    for (const r of ROLES) out[r] = await may(r, scope);
    return out as Abilities;
  };
  return {
    signedIn: principal !== undefined,
    principal: labelOf(principal),
    tenant: tenant ?? null,
    host: await abilities(undefined),
    own: tenant === undefined ? null : await abilities(tenant),
  };
}

/** A principal as a short label: its `id` or `name`, else nothing (the console never shows a whole principal). */
function labelOf(principal: unknown): string | null {
  if (principal === null || typeof principal !== 'object') return typeof principal === 'string' ? principal : null;
  for (const k of ['id', 'name', 'email'] as const) {
    const v = (principal as Record<string, unknown>)[k];
    if (typeof v === 'string' || typeof v === 'number') return String(v);
  }
  return null;
}
