import type { Context, MiddlewareHandler, Next } from 'hono';
import { type FetchHandlerOptions, fromFetchRequest, toFetchResponse } from './fetch.js';
import { handlerFor } from './pipeline.js';
import type { HttpBody, HttpHandler, HttpHost } from './types.js';

/**
 * Hono 4 middleware serving modules' routes through the pipeline: `app.use('/modules/*', modhostHono(host, { prefix:
 * '/modules' }))`. A body another middleware already read (a validator) is taken from Hono's cache. A request no
 * enabled module serves goes on to `next()`.
 */
export function modhostHono<P = unknown>(source: HttpHost | HttpHandler, options: FetchHandlerOptions<P> = {}): MiddlewareHandler {
  const handler = handlerFor(source, options);
  return async (c: Context, next: Next) => {
    const raw = c.req.raw;
    let body: HttpBody | undefined;
    // Read before: Hono keeps the parsed body, and gives it back as bytes.
    if (raw.method !== 'GET' && raw.method !== 'HEAD' && raw.bodyUsed) body = { kind: 'bytes', bytes: new Uint8Array(await c.req.arrayBuffer()) };
    const request = fromFetchRequest(raw, { prefix: options.prefix, native: c, ...(body ? { body } : {}) });
    if (!request) return next();
    const response = await handler.handle(request);
    if (!response) return next();
    return toFetchResponse(response);
  };
}
