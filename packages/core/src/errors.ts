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
  /** The host application called an API with a bad argument (misuse, not a module's fault). */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
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
  /**
   * No version satisfies a dependency range (raised by `@modhost/resolver`), or a module folder's declared npm
   * package is missing from its own `node_modules` or has a version outside the range (raised by `modhost`).
   */
  DEPENDENCY_UNSATISFIED: 'DEPENDENCY_UNSATISFIED',
  /** A semver range that cannot be parsed (raised by `@modhost/resolver`). */
  RANGE_INVALID: 'RANGE_INVALID',
  /** The module's `engines.host` excludes this host (raised by `@modhost/resolver`). */
  HOST_INCOMPATIBLE: 'HOST_INCOMPATIBLE',
  /** The module's `engines.node` excludes the Node.js version the host runs on (raised by `modhost`). */
  NODE_INCOMPATIBLE: 'NODE_INCOMPATIBLE',
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
  /** A module failed its health probes while serving and the host's policy took its routes off: they answer 503 until it recovers (raised by `@modhost/activation`). */
  MODULE_UNHEALTHY: 'MODULE_UNHEALTHY',
} as const;

/** The union of every error code string. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * What to do about each code, in one line: shown by `host.status()`, `modhost doctor` and the CLI. A code without
 * a hint does not compile.
 */
export const RECOVERY_HINTS: { readonly [C in ErrorCode]: string } = {
  MODULE_NOT_FOUND: 'install the missing module, or remove the dependency on it',
  MODULE_VERSION_CONFLICT: 'publish the changed code as a new version (a patch release is enough)',
  MODULE_IN_USE: 'stop or remove its dependents first, or pass { cascade: true }',
  MANIFEST_INVALID: 'fix the listed problems in modhost.json or the entry, then save the folder again',
  INVALID_ARGUMENT: 'fix the call: the message says which argument and what it expects',
  ILLEGAL_TRANSITION: 'read the allowed next states in details.allowed; this is a bug in the caller or a stale record',
  CONFIG_INVALID: "fix the config with host.configure(name, values) so it passes the module's schema",
  CONFIG_VERSION_NOT_FOUND: 'list the config history (registry.configHistory) and pick a version that exists',
  TENANT_INVALID: 'use a non-empty tenant id of letters, digits, dots, dashes and underscores',
  STORAGE_ADAPTER_FAILED: 'check the storage backend (connection, permissions, disk) and retry',
  STORAGE_CONFLICT: 'too many writers raced for one key; retry, or spread the writes',
  STORAGE_DATA_INVALID: 'the stored value was not written by this modhost version; restore it from a backup or a snapshot',
  SNAPSHOT_INVALID: 'export the snapshot again with registry.exportSnapshot() (with includeSensitive to restore secrets)',
  SNAPSHOT_TARGET_NOT_EMPTY: 'import into an empty storage or another namespace',
  DEPENDENCY_CYCLE: 'break the cycle: move the shared part into a module both can depend on',
  DEPENDENCY_UNSATISFIED: 'install a version of the dependency that satisfies the range (npm packages: inside the module folder), or relax the range',
  RANGE_INVALID: 'write a semver range such as "^1.2.0" or ">=2 <3"',
  HOST_INCOMPATIBLE: "use a module version whose engines.host includes this host's version",
  NODE_INCOMPATIBLE: "run the host on a Node.js version the module's engines.node allows, or use a module version built for this one",
  ACTIVATION_TIMEOUT: 'make the slow hook faster or raise the matching timeout, then upgrade to a fixed version',
  HEALTH_CHECK_FAILED: 'fix what health() depends on and install a fixed version',
  MIGRATION_FAILED: 'fix the migration and publish a new version; the batch was undone',
  VERSION_REJECTED: 'publish a fixed version, or clear the rejection with registry.clearRejection(name, version) once the cause is fixed',
  VERSION_UNAVAILABLE: "copy that version's files back into its folder (the host loads them afresh), or install it from a folder of its own",
  ROLLBACK_FAILED: 'repair by hand what the failed undo left behind (see the error), then activate again',
  PERMISSION_DENIED: "grant the permission in the host's policy (or sandbox.grant) if the module should have it",
  INTEGRITY_MISMATCH: 'reinstall the module from a trusted source; a changed module must be a new version',
  LINK_OUTSIDE_MODULE: 'ship the files instead of links that lead outside the module folder',
  SIGNATURE_INVALID: 'sign the module with a key the host trusts (trustedKeys)',
  QUOTA_EXCEEDED: 'find the slow call in the audit log or raise the limit',
  MODULE_CRASHED: "read the module's crash records in the audit log, fix it, and install a fixed version",
  MODULE_UNHEALTHY: "read the module's health detail in host.status(), fix what health() depends on; its routes serve again once it passes",
};

/** A recovery hint for an error code (a thrown error's name, say `TypeError`, gets a pointer to the docs). */
export function recoveryHint(code: string | undefined): string | undefined {
  if (code === undefined) return undefined;
  return Object.hasOwn(RECOVERY_HINTS, code) ? RECOVERY_HINTS[code as ErrorCode] : 'read the error message and docs/errors.md';
}

/** One problem found while validating input, with the path to where it is. */
export interface Issue {
  /** Path from the root of the validated value, e.g. `['dependencies', 'auth']`. */
  readonly path: readonly (string | number)[];
  /** What is wrong and, where possible, what to do. */
  readonly message: string;
}

/** Facts most errors carry. Every field is optional: a code's own type says what it adds. */
interface Common {
  readonly module?: string | undefined;
  /** A module's version, or a stored format or config version (a number). */
  readonly version?: string | number | undefined;
  readonly tenant?: string | undefined;
  readonly [key: string]: unknown;
}

/**
 * The `details` of each code (see `docs/errors.md`): `isModhostError(e, 'X')` narrows `e.details` to `ErrorDetails['X']`.
 * Fields not listed may be present; none is ever a secret.
 */
export interface ErrorDetails {
  MODULE_NOT_FOUND: Common & { readonly known?: readonly string[] | undefined };
  MODULE_VERSION_CONFLICT: Common & { readonly registered?: string | undefined; readonly attempted?: string | undefined };
  MODULE_IN_USE: Common & { readonly dependents?: readonly unknown[] | undefined };
  MANIFEST_INVALID: Common & { readonly issues?: readonly Issue[] | undefined; readonly dir?: string | undefined };
  INVALID_ARGUMENT: Common & { readonly argument?: string | undefined };
  ILLEGAL_TRANSITION: Common & { readonly from?: string | undefined; readonly to?: string | undefined; readonly allowed?: readonly string[] | undefined };
  CONFIG_INVALID: Common & { readonly issues?: readonly Issue[] | undefined };
  CONFIG_VERSION_NOT_FOUND: Common & { readonly available?: readonly number[] | undefined };
  TENANT_INVALID: Common;
  STORAGE_ADAPTER_FAILED: Common & { readonly adapter?: string | undefined; readonly operation?: string | undefined; readonly key?: string | undefined };
  STORAGE_CONFLICT: Common & { readonly key?: string | undefined; readonly attempts?: number | undefined };
  STORAGE_DATA_INVALID: Common & { readonly key?: string | undefined; readonly kind?: string | undefined };
  SNAPSHOT_INVALID: Common & { readonly issues?: readonly Issue[] | undefined };
  SNAPSHOT_TARGET_NOT_EMPTY: Common & { readonly namespace?: string | undefined };
  DEPENDENCY_CYCLE: Common & { readonly cycles?: readonly unknown[] | undefined };
  DEPENDENCY_UNSATISFIED: Common & {
    readonly explanation?: unknown | undefined;
    readonly hints?: readonly string[] | undefined;
    /** For a module folder's npm packages: each one not satisfied, and what was found (`missing`, or its version). */
    readonly packages?: readonly { readonly name: string; readonly range: string; readonly found: string }[] | undefined;
    readonly dir?: string | undefined;
  };
  RANGE_INVALID: Common & { readonly field?: string | undefined; readonly dependency?: string | undefined; readonly range?: string | undefined };
  HOST_INCOMPATIBLE: Common & { readonly explanation?: unknown | undefined; readonly hints?: readonly string[] | undefined };
  NODE_INCOMPATIBLE: Common & { readonly range?: string | undefined; readonly node?: string | undefined };
  ACTIVATION_TIMEOUT: Common & { readonly phase?: string | undefined; readonly timeoutMs?: number | undefined };
  HEALTH_CHECK_FAILED: Common & { readonly probes?: number | undefined; readonly failures?: number | undefined; readonly detail?: string | undefined };
  MIGRATION_FAILED: Common & { readonly migration?: string | undefined; readonly batch?: number | undefined };
  VERSION_REJECTED: Common & { readonly reason?: string | undefined };
  VERSION_UNAVAILABLE: Common & { readonly dir?: string | undefined; readonly holds?: string | undefined };
  ROLLBACK_FAILED: Common & { readonly batch?: number | undefined };
  PERMISSION_DENIED: Common & { readonly permission?: string | undefined; readonly reason?: string | undefined };
  INTEGRITY_MISMATCH: Common & { readonly recorded?: string | undefined; readonly now?: string | undefined };
  LINK_OUTSIDE_MODULE: Common & { readonly path?: string | undefined; readonly target?: string | undefined };
  SIGNATURE_INVALID: Common & { readonly keyId?: string | undefined };
  QUOTA_EXCEEDED: Common & { readonly quota?: string | undefined };
  MODULE_CRASHED: Common & { readonly restarts?: boolean | undefined };
  MODULE_UNHEALTHY: Common;
}

/** Options for constructing a {@link ModhostError}. */
export interface ModhostErrorOptions<C extends ErrorCode = ErrorCode> {
  /** Structured facts about the failure (module name, issues, …). Never holds secrets. */
  details?: ErrorDetails[C];
  /** The underlying error, if any. */
  cause?: unknown;
}

// Marks modhost errors across copies of core: an ESM and a CJS build loaded side by side each have their own class.
const BRAND = Symbol.for('modhost.error');

/**
 * The one error class modhost throws. Switch on `code`, never on `message`. The message says what happened, to
 * which module, and what to do; it carries no code prefix (the code is its own field).
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
  readonly details: Readonly<ErrorDetails[C]>;
  /** What to do about it, in one line (the code's entry in {@link RECOVERY_HINTS}). */
  get hint(): string {
    return RECOVERY_HINTS[this.code];
  }

  constructor(code: C, message: string, options: ModhostErrorOptions<C> = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = Object.freeze({ ...options.details }) as Readonly<ErrorDetails[C]>;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** `ModhostError [CODE]: message`, for logs and stack traces. */
  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
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

/**
 * True when `value` is a {@link ModhostError}, optionally with the given code; narrows `details` to that code's type.
 * It also recognises an error from another copy of `@modhost/core` (an ESM and a CJS build loaded together).
 */
export function isModhostError<C extends ErrorCode>(value: unknown, code?: C): value is ModhostError<C> {
  const branded = value instanceof ModhostError || (typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true);
  return branded && (code === undefined || (value as ModhostError).code === code);
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
    try {
      return String(cause);
    } catch {
      return `a thrown ${typeof cause} that cannot be described`;
    }
  }
}
