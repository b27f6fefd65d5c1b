import { ADMIN_ASSETS } from './admin-assets.js';
import { createEventFeed, eventStreamBody } from './admin-events.js';
import { CSRF_HEADER, csrfRefusal, SECURITY_HEADERS } from './admin-security.js';
import { sessionOf } from './admin-session.js';
import type { AdminConsole, AdminConsoleOptions, AdminHost } from './admin-types.js';
import { identify } from './identity.js';
import { createManagementApi } from './management-api.js';
import { rolesAllow } from './management-roles.js';
import { problem } from './problem.js';
import { headerOf, requestIdOf } from './request-id.js';
import type { HttpRequest, HttpResponse } from './types.js';

const PREFIX = /^(\/[A-Za-z0-9._~-]+)*$/;
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The admin console: a web page over the management API, for operators to see and run every module (status and
 * health, versions, upgrade with canary and rollback, config, tenants, the dependency graph, live events). Mount it
 * at its prefix: `app.use('/admin', modhostExpress(createAdminConsole(host, { authenticate, roles })))`. Every asset
 * ships in the package (no CDN); the API calls it makes are the management API's, with the same roles, under
 * `<prefix>/api/`, and a changing one needs the `x-modhost-csrf` header and a same-origin Origin. Every response
 * carries a Content-Security-Policy that allows no inline script or style.
 */
export function createAdminConsole<P = unknown>(host: AdminHost, options: AdminConsoleOptions<P> = {}): AdminConsole {
  const prefix = (options.prefix ?? '/admin').replace(/\/+$/, '');
  if (!PREFIX.test(prefix)) throw new TypeError(`admin console prefix ${JSON.stringify(options.prefix)} is not a path such as /admin`);
  const api = options.api ?? createManagementApi(host, options);
  const feed = createEventFeed(host, options.eventBuffer ?? 500);
  const holdMs = options.holdMs ?? 25_000;
  const maxHeld = Math.max(0, options.maxLiveConnections ?? 200);
  let held = 0;
  const allowedOrigins = options.allowedOrigins ?? [];
  const page = ADMIN_ASSETS.html.replace('%BASE%', escapeHtml(`${prefix}/`)).replaceAll('%TITLE%', escapeHtml(options.title ?? 'modhost admin'));
  const assets = new Map<string, { type: string; body: string }>([
    [`/assets/${ADMIN_ASSETS.jsName}`, { type: 'text/javascript; charset=utf-8', body: ADMIN_ASSETS.js }],
    [`/assets/${ADMIN_ASSETS.cssName}`, { type: 'text/css; charset=utf-8', body: ADMIN_ASSETS.css }],
  ]);

  const respond = (status: number, type: string, body: string | undefined, extra: Record<string, string> = {}): HttpResponse => ({
    status,
    headers: { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-store', ...extra },
    body,
  });
  const secured = (r: HttpResponse): HttpResponse => ({ ...r, headers: { ...SECURITY_HEADERS, ...r.headers } });

  const who = async (request: HttpRequest) => {
    const pending = identify(request, options);
    return pending instanceof Promise ? await pending : pending;
  };

  const stream = async (request: HttpRequest, requestId: string): Promise<HttpResponse> => {
    const id = await who(request);
    if (!id.ok) return secured(problem(id.status, requestId, { detail: id.detail }));
    const may = async (scope: string | undefined) =>
      options.authorize
        ? (await options.authorize({ principal: id.principal, tenant: id.tenant, role: 'viewer', scope, action: 'console.events', module: undefined })) === true
        : options.roles
          ? rolesAllow(options.roles(id.principal), { role: 'viewer', scope })
          : false;
    const hostWide = await may(undefined);
    if (!hostWide && (id.tenant === undefined || !(await may(id.tenant))))
      return secured(problem(403, requestId, { code: 'PERMISSION_DENIED', detail: 'the live view needs the viewer role' }));
    const headers = { 'content-type': 'text/event-stream; charset=utf-8', 'x-accel-buffering': 'no' };
    const raw = headerOf(request, 'last-event-id') ?? new URLSearchParams(request.search).get('after') ?? undefined;
    // A first connection starts from now: the page has just read the current state.
    if (raw === undefined || !/^\d{1,15}$/.test(raw))
      return respond(200, headers['content-type'], `retry: 100\n\nid: ${feed.last()}\nevent: ready\ndata: {}\n\n`, headers);
    let after = Number(raw);
    // A cursor from before a restart (ahead of this feed) starts from now.
    if (after > feed.last()) after = feed.last();
    let events = feed.after(after, id.tenant, hostWide);
    if (events.length === 0) {
      // Past the cap nothing is held: the browser is told to come back later instead.
      if (held >= maxHeld) return respond(200, headers['content-type'], eventStreamBody([], after, 5_000), headers);
      held += 1;
      try {
        await feed.next(holdMs);
        // Events come in bursts (a transition per phase): gather the rest of this one.
        await new Promise((r) => setTimeout(r, 30));
      } finally {
        held -= 1;
      }
      events = feed.after(after, id.tenant, hostWide);
    }
    return respond(200, headers['content-type'], eventStreamBody(events, Math.max(after, events.at(-1)?.id ?? after), 100), headers);
  };

  const handle = async (request: HttpRequest): Promise<HttpResponse | undefined> => {
    const requestId = requestIdOf(request);
    const path = request.path === '' ? '/' : request.path;
    const read = request.method === 'GET' || request.method === 'HEAD';
    try {
      if (path.startsWith('/api/') || path === '/api') {
        const refusal = csrfRefusal(request, allowedOrigins);
        if (refusal !== undefined) return secured(problem(403, requestId, { code: 'PERMISSION_DENIED', detail: refusal }));
        const answer = await api.handle({ ...request, path: path.slice(4) || '/' });
        return answer === undefined ? undefined : secured(answer);
      }
      if (!read) return undefined;
      const body = (r: HttpResponse) => (request.method === 'HEAD' ? { ...r, body: undefined } : r);
      if (path === '/' || path === '/index.html') return body(respond(200, 'text/html; charset=utf-8', page));
      const asset = assets.get(path);
      // Asset names carry their content hash: cache them for good.
      if (asset) return body(respond(200, asset.type, asset.body, { 'cache-control': 'public, max-age=31536000, immutable' }));
      if (path === '/session') {
        const id = await who(request);
        if (!id.ok) return secured(problem(id.status, requestId, { detail: id.detail }));
        return respond(
          200,
          'application/json; charset=utf-8',
          JSON.stringify({ ...(await sessionOf(options, id.principal, id.tenant)), csrfHeader: CSRF_HEADER }),
        );
      }
      if (path === '/events') return await stream(request, requestId);
      return undefined;
    } catch {
      // The hooks are the app's: a throw is reported as the management API reports it, never with its text.
      return secured(problem(500, requestId));
    }
  };

  return {
    handle,
    admit: async () => ({ outcome: 'continue' }),
    notFound: (request) => secured(problem(404, requestIdOf(request), { detail: `no admin console page at ${request.path.slice(0, 200)}` })),
    problem: (status, request, opts = {}) => secured(problem(status, request ? requestIdOf(request) : requestIdOf({ headers: {} }), opts)),
    close: () => feed.close(),
  };
}
