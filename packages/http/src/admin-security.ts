// The console's defences: a strict Content-Security-Policy (no inline script or style, nothing from another origin),
// and CSRF protection for changing requests (a custom header a cross-site form cannot send, plus Origin and
// Sec-Fetch-Site checks).
import { headerOf } from './request-id.js';
import type { HttpRequest } from './types.js';

/** The header every changing request from the console carries; a cross-origin page cannot add it without CORS. */
export const CSRF_HEADER = 'x-modhost-csrf';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every console response. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Why a changing request is refused as cross-site, or `undefined` when it may go on. */
export function csrfRefusal(request: HttpRequest, allowedOrigins: readonly string[]): string | undefined {
  if (SAFE.has(request.method)) return undefined;
  if (headerOf(request, CSRF_HEADER) !== '1') return `a changing request needs the ${CSRF_HEADER}: 1 header (the console sends it)`;
  const site = headerOf(request, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `a ${site} request may not change anything`;
  const origin = headerOf(request, 'origin');
  if (origin === undefined || origin === 'null') return origin === 'null' ? 'an opaque origin may not change anything' : undefined;
  if (allowedOrigins.includes(origin)) return undefined;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return 'the Origin header is not a URL';
  }
  const own = headerOf(request, 'x-forwarded-host')?.split(',')[0]?.trim() ?? headerOf(request, 'host');
  return host === own || host === headerOf(request, 'host') ? undefined : `origin ${origin} is not this host`;
}
