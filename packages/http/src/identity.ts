import { headerOf } from './request-id.js';
import type { HttpHandlerOptions, HttpRequest } from './types.js';

/** The options identity reads. */
type IdentityOptions<P> = Pick<HttpHandlerOptions<P>, 'resolveTenant' | 'tenantFromHeader' | 'requireTenant' | 'authenticate'>;

// The rule the registry holds tenant ids to (letters, digits, `._-`, starting with a letter or digit).
const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Who asked and for which tenant, or the status that refuses the request. */
export type Identity<P> =
  | { readonly ok: true; readonly tenant: string | undefined; readonly principal: P | undefined }
  | { readonly ok: false; readonly status: 400 | 401; readonly detail: string; readonly error?: unknown };

const ANONYMOUS = { ok: true, tenant: undefined, principal: undefined } as const;

/** Checks the tenant the app (or the trusted header) gave, and whether one was required. */
function settle<P>(request: HttpRequest, options: IdentityOptions<P>, resolved: string | undefined, principal: P | undefined): Identity<P> {
  let tenant = resolved;
  if (tenant === undefined && options.tenantFromHeader !== undefined) {
    const v = headerOf(request, options.tenantFromHeader.toLowerCase());
    tenant = v === '' ? undefined : v;
  }
  if (tenant !== undefined && (typeof tenant !== 'string' || !TENANT.test(tenant))) return { ok: false, status: 400, detail: 'the tenant id is not valid' };
  if (tenant === undefined && options.requireTenant) return { ok: false, status: 401, detail: 'this request needs a tenant' };
  return tenant === undefined && principal === undefined ? ANONYMOUS : { ok: true, tenant, principal };
}

async function viaHooks<P>(request: HttpRequest, options: IdentityOptions<P>): Promise<Identity<P>> {
  let tenant: string | undefined;
  try {
    tenant = (await options.resolveTenant?.(request)) ?? undefined;
  } catch (error) {
    return { ok: false, status: 401, detail: 'the request does not identify a tenant', error };
  }
  let principal: P | undefined;
  try {
    principal = (await options.authenticate?.(request)) ?? undefined;
  } catch (error) {
    return { ok: false, status: 401, detail: 'the request could not be authenticated', error };
  }
  return settle(request, options, tenant, principal);
}

/**
 * The request's tenant (from the app's `resolveTenant`, or the header the app chose to trust) and principal (from
 * `authenticate`). A hook that throws is a refusal (401), never a 500: bad credentials are the client's problem.
 * Without hooks there is nothing to wait for, so the answer is not a promise.
 */
export function identify<P>(request: HttpRequest, options: IdentityOptions<P>): Identity<P> | Promise<Identity<P>> {
  if (options.resolveTenant === undefined && options.authenticate === undefined) return settle(request, options, undefined, undefined);
  return viaHooks(request, options);
}
