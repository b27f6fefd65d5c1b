import { handlerFor } from './pipeline.js';
import type { HttpBody, HttpHandler, HttpHandlerOptions, HttpHost, HttpRequest, HttpResponse } from './types.js';

/** Options for the `fetch` handler and the Hono adapter: the pipeline's, plus where the modules are mounted. */
export interface FetchHandlerOptions<P = unknown> extends HttpHandlerOptions<P> {
  /** The path the modules live under (`/modules`): it is stripped before routing, and other paths are not served. Default `/`. */
  prefix?: string;
}

/** The part of a path below `prefix`, or `undefined` when the path is not under it. */
export function belowPrefix(path: string, prefix: string | undefined): string | undefined {
  const p = (prefix ?? '/').replace(/\/+$/, '');
  if (p === '') return path;
  if (path === p) return '/';
  return path.startsWith(`${p}/`) ? path.slice(p.length) : undefined;
}

/** A WHATWG `Request` as the pipeline's request, with the path below `prefix`; `undefined` when outside it. */
export function fromFetchRequest(request: Request, options: { prefix?: string | undefined; body?: HttpBody; native?: unknown } = {}): HttpRequest | undefined {
  const url = new URL(request.url);
  const path = belowPrefix(url.pathname, options.prefix);
  if (path === undefined) return undefined;
  const headers: Record<string, string> = {};
  request.headers.forEach((v, k) => {
    headers[k] = v;
  });
  // GET and HEAD carry no body in fetch; reading `body` can be costly (it makes some servers build the whole Request).
  const stream = options.body || request.method === 'GET' || request.method === 'HEAD' ? null : request.body;
  const body: HttpBody =
    options.body ??
    (stream
      ? {
          kind: 'stream',
          stream: stream as unknown as AsyncIterable<Uint8Array>,
          cancel: () => void stream.cancel().catch(() => {}),
        }
      : { kind: 'none' });
  return { method: request.method.toUpperCase(), path, search: url.search.slice(1), headers, body, native: options.native ?? request };
}

/** A pipeline response as a WHATWG `Response`. */
export function toFetchResponse(response: HttpResponse): Response {
  const body = response.body === undefined ? null : typeof response.body === 'string' ? response.body : new Uint8Array(response.body);
  return new Response(body, { status: response.status, headers: response.headers });
}

/**
 * A WHATWG fetch handler, `(request: Request) => Promise<Response>`, for runtimes that serve with one (Bun, Deno,
 * edge runtimes, `@hono/node-server`). A request no enabled module serves answers a 404 problem document.
 */
export function createFetchHandler<P = unknown>(source: HttpHost | HttpHandler, options: FetchHandlerOptions<P> = {}): (request: Request) => Promise<Response> {
  const handler: HttpHandler = handlerFor(source, options);
  return async (request) => {
    const req = fromFetchRequest(request, { prefix: options.prefix });
    if (!req) {
      const outside = fromFetchRequest(request, { body: { kind: 'none' } }) as HttpRequest;
      return toFetchResponse(handler.notFound(outside));
    }
    return toFetchResponse((await handler.handle(req)) ?? handler.notFound(req));
  };
}
