import type { RouteResponse } from '@modhost/core';
import type { HttpResponse } from './types.js';

// Headers that frame the HTTP message itself: a module must not set them (it could forge a second response on a
// keep-alive connection, or desynchronise a proxy).
const FRAMING = new Set(['content-length', 'transfer-encoding', 'connection', 'upgrade', 'keep-alive', 'trailer', 'te', 'proxy-connection']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible ASCII, space and tab (and obs-text): no CR, LF or NUL, so a value cannot start a new header.
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const NO_BODY = new Set([204, 205, 304]);

/** Thrown when a module's response cannot be sent as it is; the pipeline answers 500 and logs this. */
class InvalidResponseError extends Error {
  override readonly name = 'InvalidResponseError';
}

/**
 * A module's response as bytes and safe headers: strings go as text, `Uint8Array` as bytes, anything else as JSON.
 * Framing headers are dropped; a header name or value that could split the response, or a status outside
 * 200–599, is refused.
 */
export function toHttpResponse(response: RouteResponse, method: string, requestId: string): HttpResponse {
  if (response === null || typeof response !== 'object')
    throw new InvalidResponseError(`a route handler returned ${response === null ? 'null' : typeof response}, not { status?, headers?, body? }`);
  const status = response.status ?? 200;
  if (!Number.isInteger(status) || status < 200 || status > 599)
    throw new InvalidResponseError(`a route handler returned status ${String(status)}; use 200–599`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers ?? {})) {
    const key = name.toLowerCase();
    if (FRAMING.has(key)) continue;
    if (!TOKEN.test(name) || typeof value !== 'string' || !VALUE.test(value))
      throw new InvalidResponseError(`a route handler returned header ${JSON.stringify(name)} with a name or value that is not allowed`);
    headers[key] = value;
  }
  headers['x-request-id'] = requestId;
  const b = response.body;
  let body: string | Uint8Array | undefined;
  if (b === undefined || NO_BODY.has(status)) body = undefined;
  else if (typeof b === 'string') {
    body = b;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (b instanceof Uint8Array || b instanceof ArrayBuffer) {
    body = b instanceof ArrayBuffer ? new Uint8Array(b) : b;
    headers['content-type'] ??= 'application/octet-stream';
  } else {
    body = JSON.stringify(b);
    if (body === undefined) throw new InvalidResponseError('a route handler returned a body that is not JSON data');
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  return { status, headers, body: method === 'HEAD' ? undefined : body };
}
