import type { ManagementAuthorizeRequest, ManagementRole, RoleGrant } from './management-types.js';

const RANK: Readonly<Record<ManagementRole, number>> = { viewer: 1, operator: 2, admin: 3 };

/**
 * The built-in decision from a role map: a grant allows a call that needs its role or a lower one, host-wide grants
 * everywhere, a tenant's grant only for calls scoped to that tenant (never a host-wide call).
 */
export function rolesAllow(grants: readonly RoleGrant[], request: Pick<ManagementAuthorizeRequest, 'role' | 'scope'>): boolean {
  return grants.some((g) => RANK[g.role] >= RANK[request.role] && (g.tenant === undefined || (request.scope !== undefined && g.tenant === request.scope)));
}
