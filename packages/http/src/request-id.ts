import type { HttpRequest } from './types.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// W3C trace context: version-traceid-parentid-flags; an all-zero trace id is invalid.
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

// A random part per process and a counter: unique within the process, unlikely to collide across a fleet, cheap.
const PROCESS = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
let counter = 0;
/** A new request id. */
function newRequestId(): string {
  counter++;
  return `req-${PROCESS}-${counter.toString(36)}`;
}

/** The first value of a header, as a string. */
export function headerOf(request: Pick<HttpRequest, 'headers'>, name: string): string | undefined {
  const v = request.headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? (v[0] as string | undefined) : undefined;
}

/**
 * The request's id: the client's `x-request-id` when it is well formed (1–128 of letters, digits, `._:-`), else the
 * trace id of a valid W3C `traceparent`, else a new one. Anything else a client sends is ignored, never echoed.
 */
export function requestIdOf(request: Pick<HttpRequest, 'headers'>): string {
  const given = headerOf(request, 'x-request-id');
  if (given !== undefined && REQUEST_ID.test(given)) return given;
  const trace = TRACEPARENT.exec(headerOf(request, 'traceparent') ?? '')?.[1];
  if (trace !== undefined && !/^0+$/.test(trace)) return trace;
  return newRequestId();
}
