import { createEventLoopDelaySampler } from './health-event-loop.js';
import { problem } from './problem.js';
import { requestIdOf } from './request-id.js';
import type { HttpHandler, HttpRequest, HttpResponse } from './types.js';

/** One module as `/readyz` reads it from `host.status()`. */
export interface ReadinessModule {
  readonly name: string;
  readonly state: string;
  readonly active: boolean;
  readonly health: { readonly status: string };
  readonly lastError?: { readonly code: string } | undefined;
}

/** What the endpoints need of a host: `createHost()`'s host fits. */
export interface HealthEndpointsHost {
  status(): Promise<{ readonly modules: readonly ReadinessModule[] }>;
  /** The monitor's view from memory: whether the host started, and each active module's health detail. */
  health?(): {
    readonly started: boolean;
    readonly modules: readonly { readonly name: string; readonly status: string; readonly detail?: string | undefined }[];
  };
}

/** Options for {@link createHealthEndpoints}. */
export interface HealthEndpointsOptions {
  /**
   * The modules `/readyz` waits for: each must be active and not `fail`. Default: every module that should be serving
   * here (each one `host.status()` lists, but those never started on this instance or stopped on purpose).
   */
  required?: readonly string[];
  /** `/livez` answers 503 when the event loop was blocked longer than this (ms) since the previous `/livez`. Default 2,000. */
  eventLoopDelayLimitMs?: number;
  /**
   * Where the event-loop delay comes from: the longest delay (ms) since the previous call. Default: Node's
   * `monitorEventLoopDelay` histogram. Tests pass their own.
   */
  eventLoopDelay?: () => number;
  /** The paths, below where the handler is mounted. Default `/livez` and `/readyz`. */
  paths?: { readonly live?: string; readonly ready?: string };
}

/** The liveness and readiness endpoints: an {@link HttpHandler} any adapter mounts, and `close()` to stop sampling. */
export interface HealthEndpoints extends HttpHandler {
  /** Stops the event-loop sampler. */
  close(): void;
}

/** Why one module keeps `/readyz` from 200. Short and safe: a code and the health detail, never an exception's text. */
export interface ReadinessReason {
  readonly module: string;
  readonly reason: string;
  readonly code?: string;
  readonly detail?: string;
}

// States of a module that is not meant to serve here: never started on this instance, or stopped on purpose.
const IDLE = new Set(['not-loaded', 'registered', 'stopped']);
const DETAIL_MAX = 200;

const json = (status: number, body: unknown, requestId: string, head: boolean): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-request-id': requestId },
  body: head ? undefined : JSON.stringify(body),
});

/**
 * `GET /livez` and `GET /readyz` as an {@link HttpHandler}, for the node:http, Express, Fastify, Hono and fetch adapters,
 * with or without the management API:
 *
 * - `/livez`: the process answers, and its event loop was not blocked beyond `eventLoopDelayLimitMs`: 200
 *   `{ status: 'ok' }`, else 503 `{ status: 'fail', eventLoopDelayMs }`. It reads no storage and no module.
 * - `/readyz`: 200 `{ status: 'ok', checked }` when the host has started and every required module is active and not
 *   `fail` (`degraded` is ready); else 503 `{ status: 'fail', reasons: [{ module, reason, code?, detail? }] }`.
 *
 * Any other request resolves to `undefined`, so the handler mounts beside others.
 *
 * @example
 * ```ts
 * const health = createHealthEndpoints(host, { required: ['billing'] })
 * http.createServer(createRequestListener(health)).listen(9000)
 * ```
 */
export function createHealthEndpoints(host: HealthEndpointsHost, options: HealthEndpointsOptions = {}): HealthEndpoints {
  const limit = options.eventLoopDelayLimitMs ?? 2_000;
  const sampler = options.eventLoopDelay ? undefined : createEventLoopDelaySampler();
  const delay = options.eventLoopDelay ?? (() => sampler?.maxSinceLastRead() ?? 0);
  const live = options.paths?.live ?? '/livez';
  const ready = options.paths?.ready ?? '/readyz';

  const liveness = (requestId: string, head: boolean) => {
    const ms = Math.round(delay());
    return ms > limit
      ? json(503, { status: 'fail', reason: `the event loop was blocked for ${ms} ms (limit ${limit} ms)`, eventLoopDelayMs: ms }, requestId, head)
      : json(200, { status: 'ok' }, requestId, head);
  };

  const readiness = async (requestId: string, head: boolean) => {
    const view = host.health?.();
    if (view && !view.started) return json(503, { status: 'fail', reasons: [{ module: '*', reason: 'the host has not started' }] }, requestId, head);
    let modules: readonly ReadinessModule[];
    try {
      modules = (await host.status()).modules;
    } catch {
      // The cause may name a database and its credentials: the client learns only that status could not be read.
      return json(503, { status: 'fail', reasons: [{ module: '*', reason: 'the host status could not be read' }] }, requestId, head);
    }
    const byName = new Map(modules.map((m) => [m.name, m]));
    const monitored = new Map((view?.modules ?? []).map((m) => [m.name, m]));
    const names = options.required ?? modules.filter((m) => m.active || !IDLE.has(m.state)).map((m) => m.name);
    const reasons: ReadinessReason[] = [];
    for (const name of names) {
      const m = byName.get(name);
      if (!m) reasons.push({ module: name, reason: 'not installed' });
      else if (!m.active) reasons.push({ module: name, reason: `not active (${m.state})`, ...(m.lastError ? { code: m.lastError.code } : {}) });
      else if (m.health.status === 'fail') {
        // Only the monitor's detail goes out: the module's own health() string, or one the monitor wrote.
        const detail = monitored.get(name)?.detail;
        reasons.push({ module: name, reason: 'failing its health probes', ...(detail ? { detail: detail.slice(0, DETAIL_MAX) } : {}) });
      }
    }
    return reasons.length === 0
      ? json(200, { status: 'ok', checked: names.length }, requestId, head)
      : json(503, { status: 'fail', checked: names.length, reasons }, requestId, head);
  };

  const ours = (request: HttpRequest): 'live' | 'ready' | undefined => {
    const path = request.path.length > 1 && request.path.endsWith('/') ? request.path.slice(0, -1) : request.path;
    return path === live ? 'live' : path === ready ? 'ready' : undefined;
  };

  return {
    async handle(request) {
      const which = ours(request);
      if (!which) return undefined;
      const requestId = requestIdOf(request);
      const method = request.method.toUpperCase();
      if (method !== 'GET' && method !== 'HEAD')
        return problem(405, requestId, { detail: `${which === 'live' ? live : ready} answers GET and HEAD`, headers: { allow: 'GET, HEAD' } });
      const head = method === 'HEAD';
      try {
        return which === 'live' ? liveness(requestId, head) : await readiness(requestId, head);
      } catch {
        return problem(503, requestId, { detail: 'the health check could not run' });
      }
    },
    admit: async (request) => (ours(request) ? { outcome: 'continue' } : { outcome: 'pass' }),
    notFound: (request) =>
      problem(404, requestIdOf(request), { detail: `no health endpoint for ${request.method.toUpperCase()} ${request.path.slice(0, 200)}` }),
    problem: (status, request, opts = {}) => problem(status, request ? requestIdOf(request) : requestIdOf({ headers: {} }), opts),
    close: () => sampler?.close(),
  };
}
