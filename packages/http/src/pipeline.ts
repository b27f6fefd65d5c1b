import type { BoundHandler, Dispatch } from '@modhost/activation';
import { type HttpMethod, isModhostError, isTraceparent, noopTelemetry, summarizeCause, systemClock, type TelemetrySpan } from '@modhost/core';
import { readBody } from './body.js';
import { identify } from './identity.js';
import { acceptsType, mediaTypeOf } from './media-type.js';
import { problem } from './problem.js';
import { headerOf, requestIdOf } from './request-id.js';
import { toHttpResponse } from './respond.js';
import type { HttpHandler, HttpHandlerOptions, HttpHost, HttpRequest, HttpResponse } from './types.js';

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
// Credentials are the app's to check: a module gets the principal, not the caller's token or session cookie.
const CREDENTIALS = new Set(['authorization', 'proxy-authorization', 'cookie']);
const NOT_SERVED = Symbol('not-served');
const NO_BODY = { ok: true, value: undefined } as const;
const DENIED = Symbol('denied');

/**
 * The request pipeline every adapter maps onto: request id → route → tenant and caller → enablement → permission →
 * body → the module's handler (with a ctx bound to the tenant) → a response whose framing the module cannot touch.
 * Whatever a module throws, the client gets a problem document with the request id, and `onError` gets the detail.
 */
export function createHttpHandler<P = unknown>(host: HttpHost, options: HttpHandlerOptions<P> = {}): HttpHandler {
  const limits = { limit: options.maxBodyBytes ?? 1024 * 1024, timeoutMs: options.bodyTimeoutMs ?? 10_000, clock: options.clock ?? systemClock };
  const onError =
    options.onError ??
    ((error: unknown, id: string) =>
      host.log
        ? host.log.error('request failed', { requestId: id, error: summarizeCause(error) })
        : console.error(`[modhost] request ${id}: ${summarizeCause(error)}`));
  const onWarning = options.onWarning ?? ((message: string) => console.warn(`[modhost] ${message}`));
  const warned = new Set<string>();
  const credentials = new Set([...CREDENTIALS, ...(options.credentialHeaders ?? []).map((h) => h.toLowerCase())]);

  /** A module that declares route permissions on a pipeline with no `authorize`: said once per module version. */
  const warnUnauthorized = (module: string, version: string, path: string) => {
    const key = `${module}@${version}`;
    if (options.authorize || warned.has(key)) return;
    warned.add(key);
    onWarning(
      `${key} declares a permission on ${path}, but this HTTP handler was given no authorize(), so such routes answer 403; pass authorize({ principal, tenant, module, route, permission }) to decide`,
    );
  };
  for (const prefix of host.router.prefixes) {
    const table = host.router.slot(prefix)?.current;
    const route = table?.routes.find((r) => r.permission !== undefined);
    if (table && route) warnUnauthorized(table.owner.module, table.owner.version, route.path);
  }

  const permitted = async (d: Dispatch<BoundHandler>, tenant: string | undefined, principal: P | undefined, request: HttpRequest) => {
    if (d.permission === undefined) return true;
    if (!options.authorize) {
      warnUnauthorized(d.owner.module, d.owner.version, d.pattern);
      return false;
    }
    // The route as declared: a HEAD served by a GET route is asked about as GET.
    const route = { method: d.method, path: d.pattern };
    return (
      (await options.authorize({ principal, tenant, module: d.owner.module, version: d.owner.version, route, permission: d.permission, request })) === true
    );
  };

  /** Tells the app, whatever the error is and whatever its `onError` does: the answer is a problem document. */
  const report = (error: unknown, requestId: string) => {
    try {
      onError(error, requestId);
    } catch {
      // An app logger that throws must not turn a 500 into an unanswered request (or a crashed server).
    }
  };
  const failure = (error: unknown, requestId: string): HttpResponse => {
    // A thrown value is hostile: even reading its `code` may throw.
    let code: unknown;
    try {
      code = (error as { code?: unknown } | null)?.code;
    } catch {
      code = undefined;
    }
    // A module its health policy took off (`unroute`): an expected outcome, not an error to log.
    if (code === 'MODULE_UNHEALTHY')
      return problem(503, requestId, { code, detail: 'this module is unhealthy; try again later', headers: { 'retry-after': '5' } });
    // A crashed or overloaded isolated module is worth retrying (503); a denial is not (403). The detail goes to the
    // log, never to the client: a module's error text can hold secrets.
    const status = code === 'PERMISSION_DENIED' ? 403 : code === 'MODULE_CRASHED' || code === 'QUOTA_EXCEEDED' ? 503 : 500;
    report(error, requestId);
    return problem(status, requestId, {
      ...(status !== 500 && typeof code === 'string' ? { code } : {}),
      ...(options.exposeErrors ? { detail: summarizeCause(error) } : {}),
      ...(status === 503 ? { headers: { 'retry-after': '1' } } : {}),
    });
  };

  /** What the stages before the body decided: who asks, for which tenant, on which dispatch. */
  interface Admitted {
    readonly requestId: string;
    readonly method: string;
    readonly path: string;
    readonly again: Dispatch<BoundHandler>;
    readonly tenant: string | undefined;
    readonly principal: P | undefined;
  }
  // Requests an adapter admitted before its framework read the body (Fastify), by the framework's request object.
  const admittedEarly = new WeakMap<object, Admitted>();

  /** The stages before the body: route, identity, enablement, permission. A response refuses; `undefined` passes the request on. */
  const admitStage = async (request: HttpRequest, requestId: string): Promise<Admitted | HttpResponse | undefined> => {
    const method = request.method.toUpperCase();
    if (!METHODS.has(method)) return undefined;
    const path = request.path.startsWith('/') ? request.path : `/${request.path}`;
    // Is there a route at all? Nothing of the app's (hooks, body) runs for a request no module serves.
    const first = host.router.dispatch(method, path);
    if (!first) return undefined;
    // No hooks, no promise: the common case of a host with no auth stays synchronous up to the handler.
    const pending = identify(request, options);
    const who = pending instanceof Promise ? await pending : pending;
    if (!who.ok) {
      if (who.error !== undefined) report(who.error, requestId);
      return problem(who.status, requestId, { detail: who.detail });
    }
    const { tenant, principal } = who;
    // Only a canary needs the tenant to pick a table.
    const again = tenant === undefined || !first.slot.canary ? first : host.router.dispatch(method, path, tenant);
    // A module that does not serve this tenant answers as if it did not exist.
    if (!again || !host.isEnabled(again.owner.module, tenant)) return undefined;
    if (again.permission !== undefined && !(await permitted(again, tenant, principal, request)))
      return problem(403, requestId, { code: 'PERMISSION_DENIED', detail: 'the caller may not use this route' });
    return { requestId, method, path, again, tenant, principal };
  };

  const isResponse = (x: Admitted | HttpResponse): x is HttpResponse => 'status' in x;
  const telemetry = host.telemetry ?? noopTelemetry;
  /** A valid incoming `traceparent` continues the client's trace; anything else starts a new one. */
  const parentOf = (request: HttpRequest) => {
    const given = headerOf(request, 'traceparent');
    return isTraceparent(given) ? given : undefined;
  };
  /** Ends a request's span with the status the client gets. */
  const ended = (span: TelemetrySpan | undefined, response: HttpResponse, error?: unknown): HttpResponse => {
    if (span) {
      span.setAttributes({ status: response.status });
      span.end(
        response.status >= 500
          ? { error: { code: isModhostError(error) ? error.code : error instanceof Error ? error.name : 'Error', message: summarizeCause(error) } }
          : undefined,
      );
    }
    return response;
  };

  const admit: HttpHandler['admit'] = async (request) => {
    const requestId = requestIdOf(request);
    try {
      const stage = await admitStage(request, requestId);
      if (stage === undefined) return { outcome: 'pass' };
      if (isResponse(stage)) return { outcome: 'respond', response: stage };
      if (typeof request.native === 'object' && request.native !== null) admittedEarly.set(request.native, stage);
      return { outcome: 'continue' };
    } catch (error) {
      return { outcome: 'respond', response: failure(error, requestId) };
    }
  };

  const handle = async (request: HttpRequest): Promise<HttpResponse | undefined> => {
    const early = typeof request.native === 'object' && request.native !== null ? admittedEarly.get(request.native) : undefined;
    const requestId = early?.requestId ?? requestIdOf(request);
    let span: TelemetrySpan | undefined;
    try {
      let stage: Admitted | HttpResponse | undefined = early;
      if (early) admittedEarly.delete(request.native as object);
      else stage = await admitStage(request, requestId);
      if (stage === undefined || isResponse(stage)) return stage;
      const { method, path, again, tenant, principal } = stage;
      const bodiless = request.body.kind === 'none';
      const type = bodiless ? undefined : mediaTypeOf(headerOf(request, 'content-type'));
      const declared = bodiless ? undefined : headerOf(request, 'content-length');
      const unsupported = () =>
        again.accepts && !acceptsType(type, again.accepts)
          ? problem(415, requestId, { detail: `this route takes ${again.accepts.join(' or ')}`, headers: { accept: again.accepts.join(', ') } })
          : undefined;
      // A body the request says it has, of a type the route does not take, is refused unread.
      const announced = !bodiless && (Number(declared) > 0 || headerOf(request, 'transfer-encoding') !== undefined);
      const refused = announced ? unsupported() : undefined;
      if (refused) return refused;
      const body = bodiless
        ? NO_BODY
        : await readBody(request.body, type, declared, headerOf(request, 'content-encoding') === undefined ? limits : { ...limits, encoded: true });
      if (!body.ok)
        return problem(body.status, requestId, {
          detail: body.detail,
          ...(body.status === 413 || body.status === 408 ? { headers: { connection: 'close' } } : {}),
        });
      // A body whose length was not declared is checked once read: no body at all is not a wrong type.
      const late = body.value !== undefined ? unsupported() : undefined;
      if (late) return late;

      const headers: Record<string, string> = Object.create(null);
      const given = request.headers;
      for (const k in given) {
        const v = given[k];
        if (v === undefined || credentials.has(k.toLowerCase())) continue;
        headers[k] = typeof v === 'string' ? v : v.join(', ');
      }
      const query: Record<string, string> = Object.create(null);
      if (request.search !== '') for (const [k, v] of new URLSearchParams(request.search)) query[k] ??= v;

      const result = await host.router.handle(
        method,
        path,
        async (d) => {
          // Enablement may have changed while the body arrived; the version too, with its own permission.
          if (!host.isEnabled(d.owner.module, tenant)) return NOT_SERVED;
          if (d.table !== again.table && d.permission !== undefined && !(await permitted(d, tenant, principal, request))) return DENIED;
          // The route's pattern, never the raw path: span attributes and metric labels stay bounded.
          span = telemetry.startSpan(
            'modhost.request',
            { module: d.owner.module, version: d.owner.version, method, route: d.pattern, tenant },
            parentOf(request),
          );
          const traceparent = span.traceparent;
          return d.handler({
            method: method as HttpMethod,
            path,
            params: d.params,
            query,
            headers,
            ...(body.value !== undefined ? { body: body.value } : {}),
            ...(tenant !== undefined ? { tenant } : {}),
            ...(principal !== undefined ? { principal } : {}),
            requestId,
            ...(traceparent !== undefined ? { traceparent } : {}),
          });
        },
        tenant,
        again,
      );
      if (result === undefined || result === NOT_SERVED) return undefined;
      if (result === DENIED) return problem(403, requestId, { code: 'PERMISSION_DENIED', detail: 'the caller may not use this route' });
      return ended(span, toHttpResponse(result, method, requestId));
    } catch (error) {
      return ended(span, failure(error, requestId), error);
    }
  };

  return {
    handle,
    admit,
    notFound: (request) => problem(404, requestIdOf(request), { detail: `no module serves ${request.method.toUpperCase()} ${request.path.slice(0, 200)}` }),
    problem: (status, request, opts = {}) => problem(status, request ? requestIdOf(request) : requestIdOf({ headers: {} }), opts),
  };
}

/** The handler an adapter serves: one given (the management API, your own), or the pipeline over a host. */
export function handlerFor<P>(source: HttpHost | HttpHandler, options: HttpHandlerOptions<P>): HttpHandler {
  return 'handle' in source && typeof source.handle === 'function' ? source : createHttpHandler(source as HttpHost, options);
}
