import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineModule } from '@modhost/core';
import type { HttpHandlerOptions, HttpRequest } from '@modhost/http';

/** The suite's bearer tokens: each names a tenant and a principal, the way an app's session would. */
const TOKENS: Readonly<Record<string, { tenant: string; principal: { user: string } }>> = {
  'acme-token': { tenant: 'acme', principal: { user: 'ann@acme' } },
  'globex-token': { tenant: 'globex', principal: { user: 'gil@globex' } },
};

/** Text a module throws: a client must never see it. */
export const LEAKED_SECRET = 'db password is hunter2';

const tokenOf = (request: HttpRequest) => {
  const h = request.headers.authorization;
  const value = typeof h === 'string' ? h : h?.[0];
  return value?.startsWith('Bearer ') ? TOKENS[value.slice(7)] : undefined;
};

/** What every case's pipeline gets: tenant and principal from the bearer token, never from a header. */
export const suiteIdentity: Pick<HttpHandlerOptions, 'resolveTenant' | 'authenticate'> = {
  resolveTenant: (request) => tokenOf(request)?.tenant,
  authenticate: (request) => tokenOf(request)?.principal,
};

/**
 * The suite's host-wide module. `calls` records which handlers ran, so a case can prove a refused request never
 * reached the module.
 */
export function tasksModule(version: string, calls: string[]) {
  const ran = <R>(name: string, response: R): R => {
    calls.push(`${name}@${version}`);
    return response;
  };
  return defineModule({
    name: 'tasks',
    version,
    permissions: ['routes:mount'],
    routes: [
      {
        method: 'GET',
        path: '/version',
        handler: async () => {
          // One turn of the event loop, so requests are in flight while a swap happens.
          await new Promise((r) => setImmediate(r));
          return { body: { version } };
        },
      },
      {
        method: 'GET',
        path: '/echo/:id',
        handler: (req, ctx) => {
          const { params, query, headers, requestId } = req;
          return ran('echo', {
            body: { params, query, headers, requestId, tenant: req.tenant ?? null, principal: req.principal ?? null, ctxTenant: ctx.tenant ?? null },
          });
        },
      },
      { method: 'POST', path: '/body', handler: (req) => ran('body', { body: { body: req.body ?? null, type: typeof req.body } }) },
      { method: 'POST', path: '/text', accepts: 'text/*', handler: (req) => ran('text', { body: { body: req.body ?? null, type: typeof req.body } }) },
      { method: 'POST', path: '/json', accepts: 'application/json', handler: (req) => ran('json', { body: { body: req.body ?? null } }) },
      {
        method: 'POST',
        path: '/bytes',
        handler: (req) => {
          const bytes = req.body instanceof Uint8Array ? Uint8Array.from(req.body).reverse() : new Uint8Array();
          return ran('bytes', {
            headers: { 'content-type': 'application/octet-stream', 'x-body-was': req.body instanceof Uint8Array ? 'bytes' : typeof req.body },
            body: bytes,
          });
        },
      },
      { method: 'GET', path: '/secret', permission: 'tasks:read', handler: () => ran('secret', { body: { secret: true } }) },
      {
        method: 'GET',
        path: '/boom',
        handler: () => {
          calls.push(`boom@${version}`);
          throw new Error(LEAKED_SECRET);
        },
      },
      {
        method: 'GET',
        path: '/framing',
        // A module trying to frame the message itself: a wrong length would desynchronise the connection.
        handler: () => ({ headers: { 'content-length': '999', 'transfer-encoding': 'chunked', connection: 'close', 'x-module': 'kept' }, body: 'short' }),
      },
    ],
  });
}

/** The suite's tenant-gated module (the runner enables it for `acme` only). */
export function billingModule() {
  return defineModule({
    name: 'billing',
    version: '1.0.0',
    permissions: ['routes:mount'],
    routes: [{ method: 'GET', path: '/whoami', handler: (req, ctx) => ({ body: { tenant: req.tenant ?? null, ctxTenant: ctx.tenant ?? null } }) }],
  });
}

/** What the suite's client got back. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body's bytes. */
  readonly bytes: readonly number[];
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: cases read answers' fields freely and check them with equal().
  readonly json: any;
}

/** What a case sends besides the path. */
export interface HttpCall {
  method?: string;
  headers?: Record<string, string>;
  /** A string or bytes, or chunks sent as a stream with no content-length (chunked). */
  body?: string | Uint8Array | readonly (string | Uint8Array)[];
  /** Keeps the chunked body open after its chunks until the answer arrives (a client that stalls). */
  stall?: boolean;
  /** Sends `authorization: Bearer <token>`. */
  token?: string;
}

/** A client for `base`: every request is bounded, so an adapter that hangs fails its case instead of the run. */
export function httpClient(base: string, timeoutMs: number) {
  return async (path: string, call: HttpCall = {}): Promise<HttpAnswer> => {
    const headers: Record<string, string> = { ...call.headers, ...(call.token ? { authorization: `Bearer ${call.token}` } : {}) };
    const chunks = call.body;
    let open: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body =
      typeof chunks === 'string' || chunks instanceof Uint8Array || chunks === undefined
        ? chunks
        : new ReadableStream<Uint8Array>({
            start(controller) {
              for (const c of chunks) controller.enqueue(typeof c === 'string' ? new TextEncoder().encode(c) : c);
              if (call.stall) open = controller;
              else controller.close();
            },
          });
    const init = { method: call.method ?? 'GET', headers, signal: AbortSignal.timeout(timeoutMs), ...(body !== undefined ? { body, duplex: 'half' } : {}) };
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, init as RequestInit);
    } finally {
      try {
        open?.close();
      } catch {
        // Already closed by the answer.
      }
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, bytes: [...bytes], json };
  };
}

/**
 * Listens with `server` on 127.0.0.1, on a free port, and gives what a factory of `describeHttpAdapter` returns:
 * `path` is where the modules are mounted (`/m`), `appPath` a route of the app's own on the same server.
 */
export async function serveOnLoopback(
  server: Server,
  options: { path?: string; appPath?: string } = {},
): Promise<{ url: string; appUrl?: string; close(): Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}${options.path ?? ''}`,
    ...(options.appPath !== undefined ? { appUrl: `${origin}${options.appPath}` } : {}),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets the client still holds would keep close() waiting.
        server.closeAllConnections();
      }),
  };
}
