// `GET /metrics` as an HttpHandler, so every adapter mounts it like the module pipeline or the management API.
import type { Registry } from 'prom-client';
import { problem } from './problem.js';
import { requestIdOf } from './request-id.js';
import type { HttpHandler, HttpRequest, HttpResponse } from './types.js';

/** Options for {@link createMetricsHandler}. */
export interface MetricsHandlerOptions {
  /** The path it answers, below where it is mounted (default `/metrics`). */
  readonly path: string;
  /** Who may scrape; `false` answers 403. Default: everyone who reaches it. */
  readonly authorize?: ((request: HttpRequest) => boolean | Promise<boolean>) | undefined;
  /** Told when the exposition could not be made (the scrape answers 500). */
  readonly onError: (error: unknown, requestId: string) => void;
}

/** Answers `GET` (and `HEAD`) on `path` with the registry's exposition; any other request passes on. */
export function createMetricsHandler(registry: Registry, options: MetricsHandlerOptions): HttpHandler {
  const ours = (request: HttpRequest) => (request.path.startsWith('/') ? request.path : `/${request.path}`) === options.path;
  const handle = async (request: HttpRequest): Promise<HttpResponse | undefined> => {
    if (!ours(request)) return undefined;
    const requestId = requestIdOf(request);
    const method = request.method.toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return problem(405, requestId, { headers: { allow: 'GET, HEAD' } });
    try {
      if (options.authorize && (await options.authorize(request)) !== true)
        return problem(403, requestId, { code: 'PERMISSION_DENIED', detail: 'the caller may not read the metrics' });
      const body = await registry.metrics();
      return {
        status: 200,
        headers: { 'content-type': registry.contentType, 'cache-control': 'no-store', 'x-request-id': requestId },
        body: method === 'HEAD' ? undefined : body,
      };
    } catch (error) {
      try {
        options.onError(error, requestId);
      } catch {
        // A throwing logger must not turn an answer into no answer.
      }
      return problem(500, requestId);
    }
  };
  return {
    handle,
    admit: async (request) => ({ outcome: ours(request) ? 'continue' : 'pass' }),
    notFound: (request) => problem(404, requestIdOf(request), { detail: `no metrics at ${request.path.slice(0, 200)}; they are at ${options.path}` }),
    problem: (status, request, opts = {}) => problem(status, requestIdOf(request ?? { headers: {} }), opts),
  };
}
