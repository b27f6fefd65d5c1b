import type { BoundHandler, Router } from '@modhost/activation';
import type { Clock, Logger, Telemetry } from '@modhost/core';

/**
 * A request as the pipeline sees it, whatever framework received it. Adapters build one; nothing else in a request's
 * way depends on the framework.
 */
export interface HttpRequest {
  /** Upper-case method. */
  readonly method: string;
  /**
   * The path below where the modules are mounted, still percent-encoded, starting with `/` (no query). An Express
   * router mounted at `/api` passes `/tasks/1` for `GET /api/tasks/1`.
   */
  readonly path: string;
  /** The query string without `?` (`''` when there is none). */
  readonly search: string;
  /** Header names in lower case; repeated headers joined as the framework gives them. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Where the body comes from (see {@link HttpBody}). */
  readonly body: HttpBody;
  /** The framework's own request (`IncomingMessage`, Express `Request`, `FastifyRequest`, Hono `Context`, `Request`), for the app's hooks. */
  readonly native: unknown;
}

/**
 * A request body: nothing, one the framework already parsed (`express.json()`, Fastify's parsers), raw bytes, or a
 * stream the pipeline reads itself (bounded by `maxBodyBytes` and `bodyTimeoutMs`).
 */
export type HttpBody =
  | { readonly kind: 'none' }
  | { readonly kind: 'parsed'; readonly value: unknown }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'stream'; readonly stream: AsyncIterable<Uint8Array>; readonly cancel?: () => void };

/** What the pipeline answers: a status, headers (lower case) and a body already serialised. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** `undefined` for no body (204, 304, HEAD). */
  readonly body: string | Uint8Array | undefined;
}

/** What the app's `authorize` is asked: may this caller use this module's route? */
export interface AuthorizeRequest<P = unknown> {
  /** What `authenticate` returned, or `undefined` for an anonymous caller. */
  readonly principal: P | undefined;
  /** The request's tenant, or `undefined` for a host-wide request. */
  readonly tenant: string | undefined;
  /** The module's name. */
  readonly module: string;
  /** The version of the module that would serve the request. */
  readonly version: string;
  /** The route as the module declared it (`path` is its pattern, e.g. `/tasks/:id`). */
  readonly route: { readonly method: string; readonly path: string };
  /** The permission the route declares. */
  readonly permission: string;
  readonly request: HttpRequest;
}

/** Options for {@link createHttpHandler}. Every adapter takes the same ones. */
export interface HttpHandlerOptions<P = unknown> {
  /**
   * The request's tenant, from the app's own session or token (never from something the client sets freely).
   * Return `undefined` for a host-wide request. A value that is not a valid tenant id answers 400; a throw answers 401.
   */
  resolveTenant?: (request: HttpRequest) => string | undefined | Promise<string | undefined>;
  /**
   * Trust this request header (e.g. `'x-tenant'`) for the tenant when `resolveTenant` gives none. Any client can set
   * a header: use it in development, or behind a gateway that sets it and strips what clients send. Default: off.
   */
  tenantFromHeader?: string;
  /** Answer 401 to every request that has no tenant. Default false: such a request reaches host-wide modules only. */
  requireTenant?: boolean;
  /** Who is calling, from the app's session or token; `undefined` is an anonymous caller. A throw answers 401. */
  authenticate?: (request: HttpRequest) => P | undefined | Promise<P | undefined>;
  /**
   * Decides whether a caller may use a route that declares a `permission`. Without it, every such route answers 403
   * (and the handler says so when it is created). Routes that declare no permission are not asked about.
   */
  authorize?: (request: AuthorizeRequest<P>) => boolean | Promise<boolean>;
  /** Largest request body, bytes (default 1 MiB); larger ones answer 413 unread. */
  maxBodyBytes?: number;
  /** How long the whole body may take to arrive, ms (default 10,000); slower ones answer 408. */
  bodyTimeoutMs?: number;
  /**
   * Told what a module (or a hook) threw, with the request id the client got. Default: the host's logger (`error`, with
   * `requestId` and `error`), else one line on `console.error`.
   * The client never sees the error's text, only a problem document with the request id (unless `exposeErrors`).
   */
  onError?: (error: unknown, requestId: string) => void;
  /** Told about configuration mistakes (a route permission with no `authorize`). Default: `console.warn`. */
  onWarning?: (message: string) => void;
  /**
   * More request headers that carry credentials (an API key header, say): like `authorization`, `proxy-authorization`
   * and `cookie`, modules never see them.
   */
  credentialHeaders?: readonly string[];
  /** Sends a module's error text to the client. Development only: it can hold secrets. Default false. */
  exposeErrors?: boolean;
  /** The clock that times bodies out (default: the system clock). */
  clock?: Clock;
}

/** What the pipeline needs of a host: `createHost()`'s host fits. */
export interface HttpHost {
  readonly router: Router<BoundHandler>;
  /** True when module `name` serves `tenant` (or, for `undefined`, host-wide requests). */
  isEnabled(name: string, tenant: string | undefined): boolean;
  /** Where each request dispatched to a module is reported as a `modhost.request` span (`createHost()`'s host has one). */
  readonly telemetry?: Telemetry;
  /** The host's logger: without an `onError`, what a module threw is logged here with the request id. */
  readonly log?: Logger;
}

/** The framework-neutral request pipeline every adapter maps onto. */
export interface HttpHandler {
  /**
   * Serves one request. Resolves to `undefined` when no enabled module has a route for it (an adapter mounted among
   * other routes passes the request on; a standalone one answers {@link HttpHandler.notFound}). Never rejects.
   */
  handle(request: HttpRequest): Promise<HttpResponse | undefined>;
  /**
   * Runs the stages before the body (route, tenant and caller, enablement, permission) for an adapter whose framework
   * reads bodies before its handler runs (Fastify): `respond` refuses now, `pass` means no module serves it, and
   * `continue` remembers the outcome (by `request.native`) so `handle` does not authenticate twice.
   */
  admit(request: HttpRequest): Promise<{ readonly outcome: 'respond'; readonly response: HttpResponse } | { readonly outcome: 'pass' | 'continue' }>;
  /** The 404 problem document for a request no module serves. */
  notFound(request: HttpRequest): HttpResponse;
  /** A problem document for an error the framework raised around the pipeline (a body it refused, say). */
  problem(status: number, request: HttpRequest | undefined, options?: { code?: string; detail?: string }): HttpResponse;
}
