// The example's own auth: bearer tokens mapped to a user, their tenant and their roles. A real app puts its session
// or JWT check here; modhost asks it three questions (which tenant, who, may they) and trusts nothing else.
import type { HttpHandlerOptions, HttpRequest } from '@modhost/http';
import type { RoleGrant } from '@modhost/http/management';

/** Who a token belongs to. */
export interface User {
  readonly id: string;
  readonly tenant: string;
  readonly roles: readonly string[];
}

/** The example's users. Tokens are long random strings in a real app; these are easy to type. */
const USERS: Readonly<Record<string, User>> = {
  'acme-admin': { id: 'alice', tenant: 'acme', roles: ['admin', 'member'] },
  'acme-viewer': { id: 'carol', tenant: 'acme', roles: ['viewer'] },
  'globex-member': { id: 'bob', tenant: 'globex', roles: ['member'] },
  // The host's operator: no tenant of its own; manages modules host-wide.
  'ops-token': { id: 'olga', tenant: '', roles: ['operator'] },
};

/**
 * Who may use the management API, and how far: the operator host-wide, acme's admin only acme's enablement and
 * config (and acme's views), acme's viewer only acme's views.
 */
export function exampleManagementRoles(user: User | undefined): readonly RoleGrant[] {
  if (!user) return [];
  if (user.roles.includes('operator')) return [{ role: 'operator' }];
  if (user.roles.includes('admin')) return [{ role: 'admin', tenant: user.tenant }];
  if (user.roles.includes('viewer')) return [{ role: 'viewer', tenant: user.tenant }];
  return [];
}

/** Which roles hold each permission the modules' routes declare. */
const ROLES_FOR: Readonly<Record<string, readonly string[]>> = {
  'tasks:write': ['member', 'admin'],
  'reports:read': ['admin'],
};

/** The cookie the development login sets: the admin console (a browser page) signs in with it. */
export const DEV_LOGIN_COOKIE = 'modhost-dev-token';

const userOf = (request: HttpRequest): User | undefined => {
  const header = request.headers.authorization;
  const value = typeof header === 'string' ? header : undefined;
  const token = value?.startsWith('Bearer ') ? value.slice(7).trim() : undefined;
  return token !== undefined && Object.hasOwn(USERS, token) ? USERS[token] : undefined;
};

/**
 * The pipeline's hooks: the tenant comes from the token (never from a header a client sets), the principal is the
 * user, and a route's permission is allowed when one of the user's roles holds it in the user's own tenant.
 */
export const exampleAuth: HttpHandlerOptions<User> = {
  resolveTenant: (request) => userOf(request)?.tenant || undefined,
  authenticate: userOf,
  authorize: ({ principal, tenant, permission }) =>
    principal !== undefined && principal.tenant === tenant && (ROLES_FOR[permission] ?? []).some((role) => principal.roles.includes(role)),
};

/**
 * The admin console's hooks: the same users, from the bearer token or (a browser page sends no such header) from the
 * development login's cookie, set by `/dev-login?token=ops-token`. Module routes never read that cookie. A real app
 * checks its own session cookie here.
 */
export const exampleConsoleAuth: Pick<HttpHandlerOptions<User>, 'resolveTenant' | 'authenticate'> = {
  resolveTenant: (request) => consoleUserOf(request)?.tenant || undefined,
  authenticate: consoleUserOf,
};

function consoleUserOf(request: HttpRequest): User | undefined {
  const bearer = userOf(request);
  if (bearer) return bearer;
  const cookie = request.headers.cookie;
  const token = new RegExp(`(?:^|;\\s*)${DEV_LOGIN_COOKIE}=([A-Za-z0-9-]+)`).exec(typeof cookie === 'string' ? cookie : '')?.[1];
  return token !== undefined && Object.hasOwn(USERS, token) ? USERS[token] : undefined;
}
