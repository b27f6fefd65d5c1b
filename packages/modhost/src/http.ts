import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpMethod, RouteResponse } from '@modhost/core';
import { summarizeCause } from '@modhost/core';
import type { Host } from './host.js';

/** Options for {@link createRequestListener}. */
export interface RequestListenerOptions {
  /** The header that names the tenant (default `x-tenant`). Requests without it are host-wide. */
  tenantHeader?: string;
  /** Largest request body read, bytes (default 1 MiB); larger ones get 413. */
  maxBodyBytes?: number;
  /**
   * Told what a module threw, with the request id the client got (default: `console.error`). The client never sees
   * the error's text: only a generic problem document with the request id, unless `exposeErrors` (development only).
   */
  onError?: (error: unknown, requestId: string) => void;
  /** Sends a module's error text to the client. Never in production: it can hold secrets. Default false. */
  exposeErrors?: boolean;
}

// Headers that frame the HTTP message itself: a module must not set them (it could forge a second response on a
// keep-alive connection).
const FRAMING = new Set(['content-length', 'transfer-encoding', 'connection', 'upgrade', 'keep-alive', 'trailer', 'te']);
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const newRequestId = () => `req-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const safe: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!FRAMING.has(k.toLowerCase()) && typeof v === 'string') safe[k] = v;
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', ...safe });
  res.end(text);
}

async function readBody(req: IncomingMessage, limit: number): Promise<{ ok: true; body: unknown } | { ok: false; status: number; message: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return { ok: false, status: 413, message: `request body over ${limit} bytes` };
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return { ok: true, body: undefined };
  const text = Buffer.concat(chunks).toString('utf8');
  if (!(req.headers['content-type'] ?? '').includes('json')) return { ok: true, body: text };
  try {
    return { ok: true, body: JSON.parse(text) };
  } catch {
    return { ok: false, status: 400, message: 'request body is not valid JSON' };
  }
}

/**
 * A `node:http` request listener that serves modules' routes through the host's router: a hot swap never
 * drops a request, because each request runs on the route table it was dispatched to. The tenant comes from
 * a header; a module not enabled for that tenant answers 404, as if it did not exist.
 */
export function createRequestListener(host: Host, options: RequestListenerOptions = {}) {
  const tenantHeader = (options.tenantHeader ?? 'x-tenant').toLowerCase();
  const limit = options.maxBodyBytes ?? 1024 * 1024;
  const onError = options.onError ?? ((error: unknown, id: string) => console.error(`[modhost] request ${id}: ${summarizeCause(error)}`));
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestId();
    res.setHeader('x-request-id', requestId);
    try {
      const method = (req.method ?? 'GET').toUpperCase();
      if (!METHODS.has(method)) return send(res, 405, { error: 'method not allowed' });
      const url = new URL(req.url ?? '/', 'http://localhost');
      const tenantValue = req.headers[tenantHeader];
      const tenant = typeof tenantValue === 'string' && tenantValue !== '' ? tenantValue : undefined;
      const body = await readBody(req, limit);
      if (!body.ok) return send(res, body.status, { error: body.message });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const query: Record<string, string> = Object.create(null);
      for (const [k, v] of url.searchParams) query[k] = v;
      const response = await host.router.handle(
        method,
        url.pathname,
        async (d): Promise<RouteResponse | undefined> => {
          if (!host.isEnabled(d.owner.module, tenant)) return undefined;
          return d.handler({
            method: method as HttpMethod,
            path: url.pathname,
            params: d.params,
            query,
            headers,
            ...(body.body !== undefined ? { body: body.body } : {}),
          });
        },
        tenant,
      );
      if (response === undefined) return send(res, 404, { error: `no route for ${method} ${url.pathname}${tenant ? ` for tenant "${tenant}"` : ''}` });
      send(res, response.status ?? 200, response.body, { ...response.headers });
    } catch (e) {
      const code = (e as { code?: unknown })?.code;
      // A crashed or overloaded isolated module is worth retrying (503); a denial is not (403). Whatever it was, the
      // detail goes to the host's log, never to the client: a module's error text can hold secrets.
      const status = code === 'PERMISSION_DENIED' ? 403 : code === 'MODULE_CRASHED' || code === 'QUOTA_EXCEEDED' ? 503 : 500;
      onError(e, requestId);
      const title = status === 403 ? 'Forbidden' : status === 503 ? 'Service Unavailable' : 'Internal Server Error';
      send(
        res,
        status,
        {
          type: 'about:blank',
          title,
          status,
          error: options.exposeErrors ? summarizeCause(e) : `${title}: see the host's log for request ${requestId}`,
          requestId,
          ...(status !== 500 && typeof code === 'string' ? { code } : {}),
        },
        { 'content-type': 'application/problem+json', ...(status === 503 ? { 'retry-after': '1' } : {}) },
      );
    }
  };
}
