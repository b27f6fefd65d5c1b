import type { IncomingMessage, ServerResponse } from 'node:http';
import { handlerFor } from './pipeline.js';
import type { HttpBody, HttpHandler, HttpHandlerOptions, HttpHost, HttpRequest, HttpResponse } from './types.js';

/** Splits a request target into path and query string (an absolute-form target keeps only its path). */
export function splitTarget(target: string): { path: string; search: string } {
  let t = target;
  if (!t.startsWith('/')) {
    const at = t.indexOf('/', t.indexOf('//') + 2);
    t = at < 0 ? '/' : t.slice(at);
  }
  const q = t.indexOf('?');
  const path = q < 0 ? t : t.slice(0, q);
  return { path: path.split('#', 1)[0] || '/', search: q < 0 ? '' : t.slice(q + 1).split('#', 1)[0] || '' };
}

/** A `node:http` request as the pipeline's request; `body` defaults to reading the request stream. */
export function fromNodeRequest(req: IncomingMessage, options: { url?: string; body?: HttpBody; native?: unknown } = {}): HttpRequest {
  const { path, search } = splitTarget(options.url ?? req.url ?? '/');
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    path,
    search,
    headers: req.headers,
    body: options.body ?? nodeBody(req),
    native: options.native ?? req,
  };
}

const NONE: HttpBody = { kind: 'none' };

/** An HTTP/1.x request without `content-length` or `transfer-encoding` has no body (RFC 9112 §6.3): nothing to read. */
export function nodeBody(req: IncomingMessage): HttpBody {
  const length = req.headers['content-length'];
  if (req.httpVersionMajor < 2 && req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) return NONE;
  return { kind: 'stream', stream: req };
}

/** Writes a pipeline response with `node:http` (what Express's `res` is too, so its wrappers, compression say, apply). */
export function sendNodeResponse(res: ServerResponse, response: HttpResponse): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(response.status, response.headers);
  res.end(response.body);
}

/**
 * A `node:http` request listener serving modules' routes through the pipeline (see `createHttpHandler`): a request
 * no enabled module serves answers a 404 problem document. `http.createServer(createRequestListener(host, options))`.
 */
export function createRequestListener<P = unknown>(
  source: HttpHost | HttpHandler,
  options: HttpHandlerOptions<P> = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const handler: HttpHandler = handlerFor(source, options);
  return async (req, res) => {
    const request = fromNodeRequest(req);
    let response: HttpResponse;
    try {
      response = (await handler.handle(request)) ?? handler.notFound(request);
    } catch {
      // The pipeline does not reject; should it ever, a listener's rejection would crash the server.
      response = handler.problem(500, request);
    }
    sendNodeResponse(res, response);
  };
}
