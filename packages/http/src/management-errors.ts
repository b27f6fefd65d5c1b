import { isModhostError } from '@modhost/core';
import { problem } from './problem.js';
import type { HttpResponse } from './types.js';

// A ModhostError's code says what went wrong; the status says it in HTTP. Anything not listed is a 500.
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  MODULE_NOT_FOUND: 404,
  CONFIG_VERSION_NOT_FOUND: 404,
  INVALID_ARGUMENT: 400,
  TENANT_INVALID: 400,
  RANGE_INVALID: 400,
  MANIFEST_INVALID: 422,
  CONFIG_INVALID: 422,
  MODULE_VERSION_CONFLICT: 409,
  MODULE_IN_USE: 409,
  ILLEGAL_TRANSITION: 409,
  STORAGE_CONFLICT: 409,
  DEPENDENCY_CYCLE: 422,
  DEPENDENCY_UNSATISFIED: 422,
  HOST_INCOMPATIBLE: 422,
  VERSION_REJECTED: 422,
  VERSION_UNAVAILABLE: 422,
  HEALTH_CHECK_FAILED: 422,
  ACTIVATION_TIMEOUT: 422,
  MIGRATION_FAILED: 422,
  ROLLBACK_FAILED: 422,
  INTEGRITY_MISMATCH: 422,
  LINK_OUTSIDE_MODULE: 422,
  SIGNATURE_INVALID: 422,
  PERMISSION_DENIED: 403,
  STORAGE_ADAPTER_FAILED: 503,
  MODULE_CRASHED: 503,
  QUOTA_EXCEEDED: 503,
};

/** The HTTP status for a `ModhostError` code (500 for any other error). */
export const statusOfCode = (code: string | undefined): number => (code !== undefined ? (STATUS_BY_CODE[code] ?? 500) : 500);

/**
 * A management failure as a problem document. A `ModhostError`'s message is meant for the operator (it says what to
 * do, and a refused upgrade carries the resolver's explanation), so it is the `detail`, with `hint` and the details
 * that are data; anything else is a 500 whose text goes only to `onError`.
 */
export function managementProblem(error: unknown, requestId: string, onError: (error: unknown, requestId: string) => void): HttpResponse {
  if (isModhostError(error)) {
    const status = statusOfCode(error.code);
    if (status >= 500) onError(error, requestId);
    return problem(status, requestId, { code: error.code, detail: status >= 500 ? undefined : error.message, extra: { hint: error.hint } });
  }
  onError(error, requestId);
  return problem(500, requestId);
}
