import { createRouteTable } from '@modhost/activation';
import { isModhostError, summarizeCause, systemClock } from '@modhost/core';
import { readBody } from './body.js';
import { identify } from './identity.js';
import { createManagementAudit } from './management-audit.js';
import { ENDPOINTS, type Endpoint } from './management-endpoints.js';
import { managementProblem, statusOfCode } from './management-errors.js';
import type { UploadedPackage } from './management-install.js';
import { openApiDocument } from './management-openapi.js';
import { rolesAllow } from './management-roles.js';
import type { ManagementApiOptions, ManagementHost } from './management-types.js';
import { mediaTypeOf } from './media-type.js';
import { problem } from './problem.js';
import { headerOf, requestIdOf } from './request-id.js';
import type { HttpHandler, HttpRequest, HttpResponse } from './types.js';

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const OPENAPI = Symbol('openapi');

const json = (status: number, body: unknown, requestId: string): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId, 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

/**
 * The management API: modules over HTTP with roles and an audit trail, as an {@link HttpHandler} any adapter mounts
 * under a prefix (`app.use('/api/v1', modhostExpress(createManagementApi(host, options)))`). Every call is decided by
 * the app's `authorize` (or the built-in `roles` map); every call that changes something is serialised per module
 * (a second one answers 409) and recorded with the principal, the tenant, before and after, and the request id.
 */
export function createManagementApi<P = unknown>(host: ManagementHost, options: ManagementApiOptions<P> = {}): HttpHandler {
  const clock = options.clock ?? systemClock;
  const limits = { limit: options.maxBodyBytes ?? 1024 * 1024, timeoutMs: options.bodyTimeoutMs ?? 10_000, clock };
  const uploadLimits = { ...limits, limit: options.maxUploadBytes ?? 10 * 1024 * 1024 };
  const onError = (error: unknown, id: string) => {
    try {
      (options.onError ?? ((e: unknown, i: string) => console.error(`[modhost] management request ${i}: ${summarizeCause(e)}`)))(error, id);
    } catch {
      // A throwing logger must not turn an answer into no answer.
    }
  };
  const audit = createManagementAudit({
    limit: options.auditLimit ?? 10_000,
    now: () => clock.now(),
    onRecord: options.onAudit,
    storage: options.auditStorage,
    namespace: host.namespace,
    maxAgeMs: options.auditMaxAgeMs,
    onStoreError: (e) => (options.onWarning ?? ((m: string) => console.warn(`[modhost] ${m}`)))(`an audit record could not be stored: ${summarizeCause(e)}`),
  });
  const table = createRouteTable<Endpoint | typeof OPENAPI>({ module: 'management', version: '1' }, [
    ...ENDPOINTS.map((e) => ({ method: e.method, path: e.path, handler: e })),
    { method: 'GET', path: '/openapi.json', handler: OPENAPI },
  ]);
  if (!options.authorize && !options.roles)
    (options.onWarning ?? ((m: string) => console.warn(`[modhost] ${m}`)))(
      'the management API was given neither authorize() nor roles(), so every call answers 403; pass one of them',
    );
  // The change under way for each module (or for tenants, or installs): one at a time.
  const busy = new Map<string, string>();
  const kindOf = (action: string) => action.split('.')[1] ?? action;

  const allowed = async (e: Endpoint, principal: P | undefined, tenant: string | undefined, scope: string | undefined, module: string | undefined) => {
    if (options.authorize) return (await options.authorize({ principal, tenant, role: e.role, scope, action: e.action, module })) === true;
    if (options.roles) return rolesAllow(options.roles(principal), { role: e.role, scope });
    return false;
  };

  const handle = async (request: HttpRequest): Promise<HttpResponse | undefined> => {
    const requestId = requestIdOf(request);
    try {
      const match = table.match(request.method, request.path.startsWith('/') ? request.path : `/${request.path}`);
      if (!match) return undefined;
      if (match.handler === OPENAPI)
        return json(200, openApiDocument(ENDPOINTS, { title: 'modhost management API', version: '1.0.0', prefix: '/api/v1' }), requestId);
      const e = match.handler;
      const pending = identify(request, options);
      const who = pending instanceof Promise ? await pending : pending;
      if (!who.ok) {
        if (who.error !== undefined) onError(who.error, requestId);
        return problem(who.status, requestId, { detail: who.detail });
      }
      const query: Record<string, string> = Object.create(null);
      for (const [k, v] of new URLSearchParams(request.search)) query[k] ??= v;
      if (query.tenant !== undefined && !TENANT.test(query.tenant))
        return problem(400, requestId, { code: 'TENANT_INVALID', detail: 'the tenant id is not valid' });
      let body: unknown = {};
      const type = mediaTypeOf(headerOf(request, 'content-type'));
      // A package upload's bytes are read only once the caller is allowed to install (below).
      const uploading = type !== undefined && e.uploadTypes?.includes(type) === true;
      if (e.body && !uploading) {
        if (request.body.kind !== 'none' && type !== undefined && type !== 'application/json') {
          const accept = ['application/json', ...(e.uploadTypes ?? [])].join(', ');
          return problem(415, requestId, { detail: `this endpoint takes ${accept}`, headers: { accept } });
        }
        const read = await readBody(request.body, 'application/json', headerOf(request, 'content-length'), limits);
        if (!read.ok) return problem(read.status, requestId, { detail: read.detail });
        let parsed: ReturnType<typeof e.body.safeParse>;
        try {
          parsed = e.body.safeParse(read.value ?? {});
        } catch {
          // A document nested deep enough to exhaust the stack is refused as bad input, not a 500.
          return problem(400, requestId, { code: 'INVALID_ARGUMENT', detail: 'the request body is nested too deeply' });
        }
        if (!parsed.success)
          return problem(400, requestId, {
            code: 'INVALID_ARGUMENT',
            detail: 'the request body does not fit this endpoint',
            extra: { issues: parsed.error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message })) },
          });
        body = parsed.data;
      }
      const module = match.params.name;
      const scope = await e.scope({ body, query, host, params: match.params, callerTenant: who.tenant });
      const attempt = { action: e.action, module, tenant: scope, principal: principalOf(who.principal), requestId };
      // A refused attempt to change something is on the record too.
      const refuse = (response: HttpResponse) => {
        if (e.changes)
          audit.record({ ...attempt, outcome: 'refused', before: null, after: null, error: { code: String(response.status), message: 'refused' } });
        return response;
      };
      if (!(await allowed(e, who.principal, who.tenant, scope, module)))
        return refuse(
          problem(403, requestId, {
            code: 'PERMISSION_DENIED',
            detail: `this call needs the ${e.role} role${scope ? ` for tenant "${scope}"` : ' host-wide'}`,
          }),
        );
      let upload: UploadedPackage | undefined;
      if (uploading) {
        if (options.uploadRoot === undefined)
          return problem(403, requestId, {
            code: 'PERMISSION_DENIED',
            detail: 'this host does not take uploads (it has no uploadRoot); install from a folder with {"path"}',
          });
        const read = await readBody(request.body, 'application/octet-stream', headerOf(request, 'content-length'), uploadLimits);
        if (!read.ok) return problem(read.status, requestId, { detail: read.detail });
        if (!(read.value instanceof Uint8Array))
          return problem(400, requestId, {
            code: 'INVALID_ARGUMENT',
            detail: 'the upload is empty (or a body parser turned it into something other than bytes)',
          });
        upload = {
          bytes: read.value,
          into: options.uploadRoot,
          ...(options.maxUnpackedBytes !== undefined ? { maxUnpackedBytes: options.maxUnpackedBytes } : {}),
          ...(options.maxUploadEntries !== undefined ? { maxEntries: options.maxUploadEntries } : {}),
        };
      }
      const call = {
        host,
        params: match.params,
        query,
        body,
        tenant: scope,
        principal: who.principal,
        busy: (name: string) => busy.get(name),
        audit: (q: Parameters<typeof audit.query>[0]) => audit.query(q),
        installRoots: options.installRoots ?? [],
        uploadRoot: options.uploadRoot,
        canSee: (m: string, permission: string) => options.canSee?.({ principal: who.principal, tenant: scope, module: m, permission }) === true,
        upload,
        storage: options.storage ?? options.auditStorage,
      };
      if (!e.changes) return json(200, (await e.run(call)).body, requestId);

      // One change per module at a time; a bulk change (tenants, an install, a cascade) runs alone.
      const bulk = module === undefined || (e.action === 'modules.uninstall' && query.cascade === 'true');
      const key = module ?? (e.action === 'tenants.apply' ? '\u0000tenants' : '\u0000install');
      const blocking: [string, string] | undefined = bulk
        ? [...busy.entries()][0]
        : busy.has(key)
          ? [key, busy.get(key) as string]
          : [...busy.entries()].find(([k]) => k.startsWith('\u0000'));
      if (blocking !== undefined)
        return refuse(
          problem(409, requestId, {
            code: 'ILLEGAL_TRANSITION',
            detail: `another change (${blocking[1]}${blocking[0].startsWith('\u0000') ? '' : ` of ${blocking[0]}`}) is under way; try again when it is done`,
          }),
        );
      busy.set(bulk && module !== undefined ? `\u0000${module}` : key, kindOf(e.action));
      if (bulk && module !== undefined) busy.set(module, kindOf(e.action));
      const record = attempt;
      try {
        const outcome = await e.run(call);
        audit.record({ ...record, outcome: 'ok', before: outcome.before ?? null, after: outcome.after ?? null });
        return json(outcome.status ?? 200, outcome.body, requestId);
      } catch (error) {
        // Only a ModhostError's message is meant for operators; anything else may hold a connection string.
        const known = isModhostError(error) && statusOfCode(error.code) < 500;
        audit.record({
          ...record,
          outcome: 'failed',
          before: null,
          after: null,
          error: known ? { code: error.code, message: summarizeCause(error) } : { code: 'INTERNAL', message: 'internal error' },
        });
        throw error;
      } finally {
        busy.delete(key);
        if (module !== undefined) {
          busy.delete(module);
          busy.delete(`\u0000${module}`);
        }
      }
    } catch (error) {
      return managementProblem(error, requestId, onError);
    }
  };

  return {
    handle,
    admit: async () => ({ outcome: 'continue' }),
    notFound: (request) =>
      problem(404, requestIdOf(request), { detail: `no management endpoint for ${request.method.toUpperCase()} ${request.path.slice(0, 200)}` }),
    problem: (status, request, opts = {}) => problem(status, request ? requestIdOf(request) : requestIdOf({ headers: {} }), opts),
  };
}

/** What the audit keeps of a principal: its `id` when it has one, else the value as data (never a function). */
function principalOf(principal: unknown): unknown {
  if (principal !== null && typeof principal === 'object' && 'id' in principal) return (principal as { id: unknown }).id;
  try {
    return JSON.parse(JSON.stringify(principal ?? null));
  } catch {
    return null;
  }
}
