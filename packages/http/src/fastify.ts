import { PassThrough, type Readable } from 'node:stream';
import { summarizeCause, systemClock } from '@modhost/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { splitTarget } from './node.js';
import { handlerFor } from './pipeline.js';
import type { HttpBody, HttpHandler, HttpHandlerOptions, HttpHost, HttpRequest, HttpResponse } from './types.js';

// Fastify's own refusals of a body, as the pipeline's statuses.
const BODY_ERRORS: Readonly<Record<string, number>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 413,
  FST_ERR_CTP_INVALID_JSON_BODY: 400,
  FST_ERR_CTP_EMPTY_JSON_BODY: 400,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 400,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 415,
  FST_ERR_CTP_EMPTY_TYPE: 415,
  MODHOST_BODY_TIMEOUT: 408,
};

/**
 * Fastify reads a body with no deadline of its own, so a client that sends it slowly would hold the request open:
 * `payload` comes back through a stream that fails with a 408 after `timeoutMs`. The request stream itself is only
 * unpiped, not destroyed, so the 408 still reaches the client (with `connection: close`).
 */
function withDeadline(payload: Readable, timeoutMs: number, clock: typeof systemClock): Readable {
  const timed = new PassThrough();
  const timer = clock.setTimeout(() => {
    payload.unpipe(timed);
    timed.destroy(Object.assign(new Error(`the request body did not arrive within ${timeoutMs} ms`), { code: 'MODHOST_BODY_TIMEOUT', statusCode: 408 }));
  }, timeoutMs);
  const stop = () => clock.clearTimeout(timer);
  payload.once('end', stop);
  payload.once('close', stop);
  payload.once('error', (error) => {
    stop();
    timed.destroy(error);
  });
  payload.pipe(timed);
  return timed;
}

/**
 * A Fastify 5 plugin serving modules' routes through the pipeline, with Fastify's own body parsing (its JSON and
 * text parsers, and a catch-all that hands other bodies over as bytes), reply and hooks: CORS, compression and the
 * app's `onRequest` hooks apply. No hijack. `await app.register(modhostFastify(host, options), { prefix: '/modules' })`.
 * A request no enabled module serves goes to the app's not-found handler.
 */
export function modhostFastify<P = unknown>(source: HttpHost | HttpHandler, options: HttpHandlerOptions<P> = {}): (app: FastifyInstance) => Promise<void> {
  const handler = handlerFor(source, options);
  const bodyLimit = options.maxBodyBytes ?? 1024 * 1024;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 10_000;
  const clock = options.clock ?? systemClock;
  // The pipeline's default, so a Fastify app (whose logger is off unless asked for) still hears of a 500.
  const onError = options.onError ?? ((error: unknown, id: string) => console.error(`[modhost] request ${id}: ${summarizeCause(error)}`));

  const toRequest = (request: FastifyRequest, prefix: string): HttpRequest => {
    const { path, search } = splitTarget(request.url);
    const below = prefix !== '' && path.startsWith(prefix) ? path.slice(prefix.length) || '/' : path;
    const body: HttpBody = request.body === undefined || request.body === null ? { kind: 'none' } : { kind: 'parsed', value: request.body };
    return { method: request.method, path: below, search, headers: request.headers, body, native: request };
  };
  const send = (reply: FastifyReply, response: HttpResponse) =>
    reply
      .code(response.status)
      .headers(response.headers)
      .send(response.body ?? '');

  return async (app) => {
    const prefix = app.prefix;
    // Inside this plugin only (it is encapsulated): any other body type reaches the pipeline as bytes.
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) =>
      done(null, body),
    );
    // Route, tenant, caller, enablement and permission are decided before Fastify reads a byte of the body: a request
    // no module serves, or one that is refused, never has its body buffered or parsed.
    app.addHook('onRequest', async (request, reply) => {
      const admitted = await handler.admit({ ...toRequest(request, prefix), body: { kind: 'none' } });
      if (admitted.outcome === 'respond') return send(reply, admitted.response);
      if (admitted.outcome === 'pass') return reply.callNotFound();
      return undefined;
    });
    app.addHook('preParsing', async (request, _reply, payload) =>
      request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length']) > 0
        ? withDeadline(payload, bodyTimeoutMs, clock)
        : payload,
    );
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const req = toRequest(request, prefix);
      const known = (error.code && BODY_ERRORS[error.code]) || undefined;
      if (known) {
        const detail =
          known === 413 ? `the request body is larger than ${bodyLimit} bytes` : known === 408 ? error.message : 'the request body could not be parsed';
        // The rest of a refused body is not read: the connection cannot carry another request.
        return send(reply, handler.problem(known, req, { detail, ...(known === 413 || known === 408 ? { headers: { connection: 'close' } } : {}) }));
      }
      // A refusal from the app's own hooks (a 401 from its auth, a 429 from its rate limit) keeps its status.
      const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      const response = handler.problem(status, req);
      // A client that went away gets no answer, and is no error of the server's.
      if (status === 500 && !request.raw.destroyed) onError(error, response.headers['x-request-id'] ?? request.id);
      return send(reply, response);
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
