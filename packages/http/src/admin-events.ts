// The live view's feed: the host's and the registry's events in a ring buffer, numbered, served as server-sent events.
// A stream response ends after the first events (or after a while with none) and the browser's EventSource
// reconnects with `Last-Event-ID`: every adapter can send it (no response streaming needed), and nothing is lost
// between two responses while the buffer holds it.
import type { AdminHost } from './admin-types.js';

/** One event as the console gets it. */
interface FeedEvent {
  readonly id: number;
  readonly type: string;
  /** The tenant the event is about, when it is about one (tenant-scoped callers see only theirs). */
  readonly tenant: string | undefined;
  readonly data: string;
  /**
   * What a tenant-scoped caller gets of an event that names no tenant: identifiers and codes only (no message, path
   * or other text from the host or its storage); `undefined` for the host's operational events, which it never sees.
   */
  readonly shared: string | undefined;
}

// Registry events that mean something changed on screen; the host's events all do.
const REGISTRY_EVENTS = ['module:transition', 'module:desired', 'module:rejected', 'tenant:enabled', 'tenant:disabled', 'module:access', 'config:changed'];

/** The feed: events after an id, and a wait for the next one. */
export interface EventFeed {
  /** The id of the newest event (0 before any). */
  last(): number;
  /** Events after `id` a caller of `tenant` may see (`undefined`: host-wide, sees all). */
  after(id: number, tenant: string | undefined, hostWide: boolean): FeedEvent[];
  /** Resolves at the next event, after `ms`, or at `close()`. */
  next(ms: number): Promise<void>;
  close(): void;
}

/** A payload as data: only plain fields, and never config values (a tenant's values are not another's business). */
function payloadOf(type: string, payload: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (payload === null || typeof payload !== 'object') return out;
  for (const [k, v] of Object.entries(payload)) {
    if (type === 'config:changed' && k === 'values') continue;
    if (v === undefined || typeof v === 'function') continue;
    if (k === 'error' && v !== null && typeof v === 'object')
      out.error = { code: (v as { code?: unknown }).code, message: (v as { message?: unknown }).message };
    else if (typeof v !== 'object' || v === null) out[k] = v;
  }
  return out;
}

// What a tenant's viewer may see of a host-wide event: which module, which versions, which state, which code.
const SHARED_KEYS = new Set(['name', 'module', 'version', 'from', 'to', 'status', 'previous', 'state', 'code', 'action', 'outcome', 'access']);
const HOST_ONLY = new Set(['watch:error', 'folder:error', 'module:installed', 'module:reload-failed']);

/** `data` reduced to what every tenant's viewer may see (see {@link FeedEvent.shared}). */
function sharedOf(type: string, data: Record<string, unknown>): Record<string, unknown> | undefined {
  if (HOST_ONLY.has(type)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) if (SHARED_KEYS.has(k)) out[k] = v;
  const error = data.error as { code?: unknown } | undefined;
  if (error && typeof error === 'object') out.error = { code: error.code };
  return out;
}

/** Listens to the host's events (and its registry's) into a ring of `size`. */
export function createEventFeed(host: AdminHost, size: number): EventFeed {
  const ring: FeedEvent[] = [];
  let seq = 0;
  let waiters: (() => void)[] = [];
  let closed = false;
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const push = (type: string, payload: unknown) => {
    const data = payloadOf(type, payload);
    const tenant = typeof data.tenant === 'string' ? data.tenant : undefined;
    const at = Date.now();
    const shared = tenant === undefined ? sharedOf(type, data) : undefined;
    ring.push({
      id: ++seq,
      type,
      tenant,
      data: JSON.stringify({ type, at, ...data }),
      shared: shared === undefined ? undefined : JSON.stringify({ type, at, ...shared }),
    });
    if (ring.length > size) ring.shift();
    wake();
  };
  const offs = [
    ...(host.events ? [host.events.onAny((event, payload) => push(String(event), payload))] : []),
    ...REGISTRY_EVENTS.map((e) => host.registry.on(e as 'module:transition', (p) => push(e, p))),
  ];
  return {
    last: () => seq,
    after(id, tenant, hostWide) {
      const out: FeedEvent[] = [];
      for (const e of ring) {
        if (e.id <= id) continue;
        if (hostWide || (e.tenant !== undefined && e.tenant === tenant)) out.push(e);
        // A host-wide event, as a tenant's viewer may see it.
        else if (e.tenant === undefined && e.shared !== undefined) out.push({ ...e, data: e.shared });
      }
      return out;
    },
    next(ms) {
      return new Promise((resolve) => {
        if (closed) return resolve();
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          waiters = waiters.filter((w) => w !== done);
          resolve();
        }
        waiters.push(done);
      });
    },
    close() {
      closed = true;
      for (const off of offs) off();
      wake();
    },
  };
}

/** Events as a `text/event-stream` body; `retry` tells the browser how soon to come back. */
export function eventStreamBody(events: readonly FeedEvent[], cursor: number, retryMs: number): string {
  let body = `retry: ${retryMs}\n\n`;
  for (const e of events) body += `id: ${e.id}\nevent: host\ndata: ${e.data}\n\n`;
  // The cursor, also when nothing came: the browser's next request starts after it.
  if (events.length === 0) body += `id: ${cursor}\n: idle\n\n`;
  return body;
}
