import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { splitTarget } from './node.js';
import { createHttpHandler } from './pipeline.js';
import type { HttpBody, HttpHandlerOptions, HttpHost, HttpRequest, HttpResponse } from './types.js';

// Fastify's own refusals of a body, as the pipeline's statuses.
const BODY_ERRORS: Readonly<Record<string, number>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 413,
  FST_ERR_CTP_INVALID_JSON_BODY: 400,
  FST_ERR_CTP_EMPTY_JSON_BODY: 400,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 400,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 415,
  FST_ERR_CTP_EMPTY_TYPE: 415,
};

/**
 * A Fastify 5 plugin serving modules' routes through the pipeline, with Fastify's own body parsing (its JSON and
 * text parsers, and a catch-all that hands other bodies over as bytes), reply and hooks: CORS, compression and the
 * app's `onRequest` hooks apply. No hijack. `await app.register(modhostFastify(host, options), { prefix: '/modules' })`.
 * A request no enabled module serves goes to the app's not-found handler.
 */
export function modhostFastify<P = unknown>(host: HttpHost, options: HttpHandlerOptions<P> = {}): (app: FastifyInstance) => Promise<void> {
  const handler = createHttpHandler(host, options);
  const bodyLimit = options.maxBodyBytes ?? 1024 * 1024;

  const toRequest = (request: FastifyRequest, prefix: string): HttpRequest => {
    const { path, search } = splitTarget(request.url);
    const below = prefix !== '' && path.startsWith(prefix) ? path.slice(prefix.length) || '/' : path;
    const body: HttpBody = request.body === undefined || request.body === null ? { kind: 'none' } : { kind: 'parsed', value: request.body };
    return { method: request.method, path: below, search, headers: request.headers, body, native: request };
  };
  const send = (reply: FastifyReply, response: HttpResponse) => reply.code(response.status).headers(response.headers).send(response.body ?? '');

  return async (app) => {
    const prefix = app.prefix;
    // Inside this plugin only (it is encapsulated): any other body type reaches the pipeline as bytes.
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => done(null, body));
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const status = (error.code && BODY_ERRORS[error.code]) || undefined;
      if (status) return send(reply, handler.problem(status, toRequest(request, prefix), { detail: status === 413 ? `the request body is larger than ${bodyLimit} bytes` : 'the request body could not be parsed' }));
      options.onError?.(error, request.id);
      return send(reply, handler.problem(500, toRequest(request, prefix)));
    });
    const route = async (request: FastifyRequest, reply: FastifyReply) => {
      const req = toRequest(request, prefix);
      const response = await handler.handle(req);
      if (!response) return reply.callNotFound();
      return send(reply, response);
    };
    app.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], url: '/*', bodyLimit, handler: route, exposeHeadRoute: false });
    app.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], url: '/', bodyLimit, handler: route, exposeHeadRoute: false });
  };
}
