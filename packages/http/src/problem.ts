import type { HttpResponse } from './types.js';

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** What a problem document says beyond its status. */
export interface ProblemOptions {
  /** A `ModhostError` code, when telling it helps the client (403, 503). */
  readonly code?: string | undefined;
  /** One sentence for the client. Never a module's error text (unless the app exposes errors in development). */
  readonly detail?: string | undefined;
  readonly headers?: Readonly<Record<string, string>>;
  /** More members of the document (RFC 9457 extension members), e.g. a `hint`. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** An RFC 9457 problem document (`application/problem+json`) carrying the request id. */
export function problem(status: number, requestId: string, options: ProblemOptions = {}): HttpResponse {
  const title = TITLES[status] ?? 'Error';
  const body = {
    type: 'about:blank',
    title,
    status,
    detail: options.detail ?? (status >= 500 ? `see the host's log for request ${requestId}` : title),
    requestId,
    ...(options.code !== undefined ? { code: options.code } : {}),
    ...options.extra,
  };
  return {
    status,
    headers: { 'content-type': 'application/problem+json', 'x-request-id': requestId, ...options.headers },
    body: JSON.stringify(body),
  };
}
