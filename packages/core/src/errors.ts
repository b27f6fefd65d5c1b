/**
 * Every error code modhost can raise. Each has a section in `docs/errors.md`
 * (the anchor is the code in lower case).
 */
export const ErrorCode = {
  /** A module name or name@version is not registered. */
  MODULE_NOT_FOUND: 'MODULE_NOT_FOUND',
  /** The same name@version was registered again with different content. */
  MODULE_VERSION_CONFLICT: 'MODULE_VERSION_CONFLICT',
  /** Unregistering would leave a registered dependent without a matching version. */
  MODULE_IN_USE: 'MODULE_IN_USE',
  /** A module definition or manifest is malformed; `details.issues` lists every problem. */
  MANIFEST_INVALID: 'MANIFEST_INVALID',
  /** A lifecycle transition that the transition table does not allow. */
  ILLEGAL_TRANSITION: 'ILLEGAL_TRANSITION',
  /** Config values rejected by the module's schema or by the safety rules. */
  CONFIG_INVALID: 'CONFIG_INVALID',
  /** A config rollback named a version that does not exist (or was pruned). */
  CONFIG_VERSION_NOT_FOUND: 'CONFIG_VERSION_NOT_FOUND',
  /** A tenant id that is empty or not allowed. */
  TENANT_INVALID: 'TENANT_INVALID',
  /** The storage adapter threw or rejected; `cause` holds its error. */
  STORAGE_ADAPTER_FAILED: 'STORAGE_ADAPTER_FAILED',
  /** A read-modify-write lost its compare-and-set race too many times in a row. */
  STORAGE_CONFLICT: 'STORAGE_CONFLICT',
  /** A stored value is not a modhost envelope, or was written by a newer format. */
  STORAGE_DATA_INVALID: 'STORAGE_DATA_INVALID',
  /** A snapshot document is malformed, redacted, or from an unknown format version. */
  SNAPSHOT_INVALID: 'SNAPSHOT_INVALID',
  /** A snapshot import into a storage that already holds modhost data. */
  SNAPSHOT_TARGET_NOT_EMPTY: 'SNAPSHOT_TARGET_NOT_EMPTY',
  /** A dependency graph contains a cycle (raised by `@modhost/resolver`). */
  DEPENDENCY_CYCLE: 'DEPENDENCY_CYCLE',
  /** No version satisfies a dependency range (raised by `@modhost/resolver`). */
  DEPENDENCY_UNSATISFIED: 'DEPENDENCY_UNSATISFIED',
  /** A semver range that cannot be parsed (raised by `@modhost/resolver`). */
  RANGE_INVALID: 'RANGE_INVALID',
  /** The module's `engines.host` excludes this host (raised by `@modhost/resolver`). */
  HOST_INCOMPATIBLE: 'HOST_INCOMPATIBLE',
  /** A lifecycle phase ran past its timeout (raised by `@modhost/activation`). */
  ACTIVATION_TIMEOUT: 'ACTIVATION_TIMEOUT',
  /** A module's health gate said no (raised by `@modhost/activation`). */
  HEALTH_CHECK_FAILED: 'HEALTH_CHECK_FAILED',
  /** A module's migration failed; its batch was undone (raised by `@modhost/activation`). */
  MIGRATION_FAILED: 'MIGRATION_FAILED',
  /** A version was rejected earlier (a failed upgrade or a rollback) and is not tried again until the rejection is cleared (raised by `@modhost/activation`). */
  VERSION_REJECTED: 'VERSION_REJECTED',
  /** A version's code is no longer available to start (its folder now holds another version) (raised by `@modhost/activation`, `modhost`). */
  VERSION_UNAVAILABLE: 'VERSION_UNAVAILABLE',
  /** Undoing a failed activation or upgrade itself failed (raised by `@modhost/activation`). */
  ROLLBACK_FAILED: 'ROLLBACK_FAILED',
  /** A module used a capability it was not granted (raised by `@modhost/sandbox`). */
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  /** A module's files do not match their recorded hash (raised by `@modhost/sandbox`). */
  INTEGRITY_MISMATCH: 'INTEGRITY_MISMATCH',
  /** A module folder ships a symbolic link that leads outside the folder, or a path a module uses leads out through one (raised by `@modhost/sandbox`). */
  LINK_OUTSIDE_MODULE: 'LINK_OUTSIDE_MODULE',
  /** A module's signature is missing, malformed or not made by a trusted key (raised by `@modhost/sandbox`). */
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
  /** An isolated module hit a limit: call timeout, concurrency or queue cap, memory (raised by `@modhost/sandbox`). */
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  /** An isolated module's worker or process died; `details.restarts` says whether it will be restarted (raised by `@modhost/sandbox`). */
  MODULE_CRASHED: 'MODULE_CRASHED',
} as const;

/** The union of every error code string. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One problem found while validating input, with the path to where it is. */
export interface Issue {
  /** Path from the root of the validated value, e.g. `['dependencies', 'auth']`. */
  readonly path: readonly (string | number)[];
  /** What is wrong and, where possible, what to do. */
  readonly message: string;
}

/** Options for constructing a {@link ModhostError}. */
export interface ModhostErrorOptions {
  /** Structured facts about the failure (module name, issues, …). Never holds secrets. */
  details?: Record<string, unknown>;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * The one error class modhost throws. Switch on `code`, never on `message`.
 *
 * @example
 * ```ts
 * try { await registry.register(def) }
 * catch (e) { if (isModhostError(e, 'MANIFEST_INVALID')) console.log(e.details.issues) }
 * ```
 */
export class ModhostError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name = 'ModhostError';
  /** Stable, machine-readable code; see `docs/errors.md`. */
  readonly code: C;
  /** Structured facts about the failure. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: C, message: string, options: ModhostErrorOptions = {}) {
    super(`[${code}] ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = Object.freeze({ ...options.details });
  }

  /** Plain-data form for logs and APIs (the cause reduced to its message). */
  toJSON(): { code: C; message: string; details: Record<string, unknown>; cause?: string } {
    const json: { code: C; message: string; details: Record<string, unknown>; cause?: string } = {
      code: this.code,
      message: this.message,
      details: { ...this.details },
    };
    if (this.cause !== undefined) json.cause = summarizeCause(this.cause);
    return json;
  }
}

/** True when `value` is a {@link ModhostError}, optionally with the given code. */
export function isModhostError<C extends ErrorCode>(value: unknown, code?: C): value is ModhostError<C> {
  return value instanceof ModhostError && (code === undefined || value.code === code);
}

/** A one-line summary of any thrown value, safe to store and show. */
export function summarizeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' && !cause.message.includes(code) ? `${cause.name} (${code}): ${cause.message}` : `${cause.name}: ${cause.message}`;
  }
  if (typeof cause === 'string') return cause;
  try {
    return JSON.stringify(cause) ?? String(cause);
  } catch {
    return String(cause);
  }
}
