import type { Clock } from './clock.js';
import type { ModuleManifest } from './define-module.js';
import type { Issue } from './errors.js';
import type { Emitter } from './events.js';
import type { LifecyclePhase, LifecycleState } from './lifecycle.js';
import type { AnyModuleDefinition } from './module.js';
import type { StorageAdapter } from './storage.js';

/** One recorded lifecycle transition. */
export interface TransitionRecord {
  /** `null` for the first entry (registration). */
  readonly from: LifecycleState | null;
  readonly to: LifecycleState;
  /** Milliseconds since the epoch, from the registry's clock. */
  readonly at: number;
  readonly reason?: string;
}

/** The last error a module version hit, reduced to plain data. */
export interface ModuleErrorRecord {
  /** A modhost error code, or the thrown error's name (e.g. `TypeError`). */
  readonly code: string;
  readonly message: string;
  readonly phase?: LifecyclePhase;
  readonly timedOut: boolean;
  /** One line summarising the underlying cause, if any. */
  readonly cause?: string;
  readonly at: number;
}

/** What a registry keeps for each registered module version. */
export interface ModuleVersionRecord {
  readonly name: string;
  readonly version: string;
  /** Content fingerprint of the definition (manifest + code text, or + the hash of the files its code came from). */
  readonly fingerprint: string;
  /** For code loaded from files (a module folder): the hash of those files. */
  readonly codeFingerprint?: string;
  readonly manifest: ModuleManifest;
  readonly status: LifecycleState;
  /** The newest transitions, oldest first, bounded by `historyLimit`. */
  readonly history: readonly TransitionRecord[];
  /** How many older transitions were dropped from `history`. */
  readonly historyDropped: number;
  readonly lastError?: ModuleErrorRecord;
  readonly registeredAt: number;
  readonly updatedAt: number;
}

/** A version that must not be tried again automatically. */
export interface RejectedVersion {
  readonly version: string;
  readonly reason: string;
  readonly at: number;
}

/** What a registry keeps per module name (across versions). */
export interface ModuleRecord {
  readonly name: string;
  /** The version the host wants running, or `null` for "no preference". */
  readonly desiredVersion: string | null;
  /** What `desiredVersion` was before the last change (a failed upgrade falls back to it). */
  readonly previousDesiredVersion: string | null;
  readonly rejected: readonly RejectedVersion[];
  /** Every registered version, ascending: finding a module's versions is one read, whatever the storage. */
  readonly versions: readonly string[];
  /** Config paths marked sensitive in any registered version (masked in all of them). */
  readonly sensitive: readonly string[];
  /** True when any registered version declares config. */
  readonly hasConfig: boolean;
  /**
   * Who a module serves. `host`: every request, with or without a tenant. `tenants`: only the tenants it is enabled
   * for (a request with no tenant never reaches it). Absent: `host` until it is first enabled for a tenant, which
   * makes it `tenants` (so disabling its last tenant never opens it to everyone). See `enable` and `disable`.
   */
  readonly access?: 'host' | 'tenants';
}

/** A module enabled for a tenant. */
export interface TenantEnablement {
  readonly tenant: string;
  readonly name: string;
  /** An optional semver range the tenant pins the module to. */
  readonly range?: string;
  readonly enabledAt: number;
}

/** One version of a config layer. */
export interface ConfigVersion {
  /** 1, 2, 3, … per (module, scope). */
  readonly version: number;
  readonly values: Record<string, unknown>;
  readonly at: number;
  readonly reason: 'set' | 'rollback';
  /** For a rollback: the version whose values were restored. */
  readonly restoredFrom?: number;
}

/** The effective config of a module for a scope, as {@link Registry.getConfig} returns it. */
export interface ResolvedConfig {
  readonly name: string;
  readonly tenant: string | undefined;
  /** defaults → host → tenant, after the schema ran (so schema defaults and transforms apply). */
  readonly values: Record<string, unknown>;
  /** False when this process has no definition (no schema) for the module: values are merged, not validated. */
  readonly validated: boolean;
  /** When the schema rejects the stored layers (e.g. a host-wide change broke a tenant's), every problem; else empty. */
  readonly issues: readonly Issue[];
  readonly layers: {
    readonly defaults: Record<string, unknown>;
    readonly host: Record<string, unknown>;
    readonly tenant: Record<string, unknown>;
  };
  /** The current version of each stored layer (0 = never set). */
  readonly versions: { readonly host: number; readonly tenant: number };
  /** True when sensitive values were masked. */
  readonly masked: boolean;
}

/** Every event a registry emits, by name. Payloads never hold sensitive config values. */
export interface RegistryEvents extends Record<string, unknown> {
  'module:registered': { readonly name: string; readonly version: string; readonly fingerprint: string };
  'module:unregistered': { readonly name: string; readonly version: string };
  'module:transition': {
    readonly name: string;
    readonly version: string;
    readonly from: LifecycleState | null;
    readonly to: LifecycleState;
    readonly at: number;
    readonly reason?: string;
    readonly error?: ModuleErrorRecord;
  };
  'module:desired': { readonly name: string; readonly desiredVersion: string | null; readonly previous: string | null };
  'module:rejected': { readonly name: string; readonly version: string; readonly reason: string };
  'tenant:enabled': { readonly tenant: string; readonly name: string; readonly range?: string };
  'tenant:disabled': { readonly tenant: string; readonly name: string };
  /** Who a module serves changed: `host` (every request) or `tenants` (only those it is enabled for). */
  'module:access': { readonly name: string; readonly access: 'host' | 'tenants' };
  'config:changed': {
    readonly name: string;
    readonly tenant: string | undefined;
    readonly version: number;
    readonly reason: 'set' | 'rollback';
    /** The layer's new values, with sensitive values masked. */
    readonly values: Record<string, unknown>;
  };
}

/** Options for {@link createRegistry}. */
export interface RegistryOptions {
  /** Where state lives. Default: a fresh `memoryStorage()`. */
  storage?: StorageAdapter;
  /** Key prefix, so several registries can share one storage. Default `"modhost"`. */
  namespace?: string;
  /** Time source for timestamps. Default: the system clock. */
  clock?: Pick<Clock, 'now'>;
  /** Transitions kept per version. Default 50. */
  historyLimit?: number;
  /** Versions kept per config layer. Default 100. */
  configHistoryLimit?: number;
  /** Lost compare-and-set races in a row before `STORAGE_CONFLICT`. Default 100. */
  casMaxAttempts?: number;
  /**
   * Range matcher used when unregistering to decide whether a dependent still has a matching
   * version. Core has no range parser; pass `semver.satisfies` (the `modhost` package does).
   * Default: every version matches any range, so only removing the last version of a
   * depended-upon module is refused.
   */
  satisfies?: (version: string, range: string) => boolean;
  /** Called when an event listener throws. Default: `console.error`. */
  onListenerError?: (error: unknown, event: string) => void;
  /**
   * This host instance's id. With one, lifecycle state (status, history, last error) is **observed state**, kept
   * per instance under `<ns>:o:<instance>:…`: several instances share one storage without their records blocking
   * each other, and `resetObserved()` lets a restarted instance begin from the desired state. Without one (a
   * single process), lifecycle state lives in the shared version record as before.
   */
  instanceId?: string;
}

/** The lifecycle part of a version record: per instance when the registry has an `instanceId`. */
export interface ObservedState {
  readonly status: LifecycleState;
  readonly history: readonly TransitionRecord[];
  readonly historyDropped: number;
  readonly lastError?: ModuleErrorRecord;
  readonly updatedAt: number;
  /** How long each phase of this instance's last start of the version took, ms. */
  readonly timings?: Readonly<Record<string, number>>;
}

/** Filters for {@link Registry.list}. */
export interface ListFilter {
  readonly name?: string;
  readonly status?: LifecycleState | readonly LifecycleState[];
  /** Only modules enabled for this tenant. */
  readonly tenant?: string;
  /** At most this many records (a page). Default: all. */
  readonly limit?: number;
  /** Only records after this one, given as `name@version` (the last record of the previous page). */
  readonly after?: string;
}

/** A page of module names: at most `limit`, after `after`. */
export interface PageOptions {
  readonly limit?: number;
  readonly after?: string;
}

/** Details for a transition. */
export interface TransitionOptions {
  readonly reason?: string;
  /** For `failed`: what went wrong. Stored as {@link ModuleErrorRecord}. */
  readonly error?: unknown;
  readonly phase?: LifecyclePhase;
  readonly timedOut?: boolean;
  /** Milliseconds each start phase took (load, migrate, start, verify), kept in the observed state. */
  readonly timings?: Readonly<Record<string, number>>;
}

/** Options for {@link Registry.unregister}. */
export interface UnregisterOptions {
  /** Also unregister dependents that would be left without a matching version. */
  readonly cascade?: boolean;
}

/** Scope of a config operation: host-wide (no tenant) or one tenant. */
export interface ConfigScope {
  readonly tenant?: string;
}

/** Options for {@link Registry.configure}. */
export interface ConfigureOptions extends ConfigScope {
  /** `merge` (default) deep-merges into the current layer; `replace` sets the layer to exactly `values`. */
  readonly mode?: 'merge' | 'replace';
  /**
   * Check only: validate as a real call would (throwing `CONFIG_INVALID` the same way) and return the version that
   * would be written, but write nothing and emit nothing. Default false.
   */
  readonly dryRun?: boolean;
}

/** Options for reading config. */
export interface ReadConfigOptions extends ConfigScope {
  /** Return sensitive values in clear. Default false. */
  readonly reveal?: boolean;
}

/** A portable dump of a registry's whole state. */
export interface RegistrySnapshot {
  readonly format: 'modhost-snapshot';
  readonly version: 1;
  readonly namespace: string;
  readonly exportedAt: number;
  /** True when sensitive config values were masked: such a snapshot cannot be imported. */
  readonly redacted: boolean;
  readonly entries: readonly SnapshotEntry[];
}

/** One stored record in a snapshot. */
export interface SnapshotEntry {
  /** Key segments below the namespace. */
  readonly key: readonly string[];
  readonly kind: string;
  readonly data: unknown;
}

/** What an import wrote. */
export interface ImportResult {
  readonly entries: number;
}

/** Reported by validation helpers. */

/**
 * The registry: every module version, its lifecycle status and history, desired versions,
 * tenant enablement and config, all recorded in the injected storage. Every read-modify-write
 * goes through compare-and-set, so registries in several processes can share one storage.
 */
export interface Registry extends Pick<Emitter<RegistryEvents>, 'on' | 'once' | 'off' | 'onAny'> {
  /** Registers a module version. Same name@version with the same content is a no-op. */
  register(definition: AnyModuleDefinition): Promise<ModuleVersionRecord>;
  /**
   * Removes one version (or every version) of a module; refused with `MODULE_IN_USE` if dependents need it. A module
   * removed whole is remembered as uninstalled (see {@link Registry.wasUninstalled}).
   */
  unregister(name: string, version?: string, options?: UnregisterOptions): Promise<string[]>;
  /** True when the module was uninstalled whole and not installed again: hosts do not bring it back at start. */
  wasUninstalled(name: string): Promise<boolean>;
  /** Forgets that a module was uninstalled (an explicit install does this). */
  clearUninstalled(name: string): Promise<void>;
  get(name: string, version: string): Promise<ModuleVersionRecord | undefined>;
  /** The definition (with code) registered in this process, if any. */
  getDefinition(name: string, version: string): AnyModuleDefinition | undefined;
  /**
   * Module versions, sorted by name then version, filtered. With `limit` (and `after`, the `name@version` of the last
   * record of the previous page) it returns one page, and reads only the records it returns.
   */
  list(filter?: ListFilter): Promise<ModuleVersionRecord[]>;
  /** Names of registered modules, sorted; with `limit`/`after` (a name), one page. Reads no records. */
  moduleNames(options?: PageOptions): Promise<string[]>;
  /** Moves a version to a new lifecycle state (validated by the transition table) and records it. */
  transition(name: string, version: string, to: LifecycleState, options?: TransitionOptions): Promise<ModuleVersionRecord>;
  getModule(name: string): Promise<ModuleRecord | undefined>;
  setDesiredVersion(name: string, version: string | null): Promise<ModuleRecord>;
  /** Marks a version rejected (not to be retried automatically); a desired version falls back. */
  rejectVersion(name: string, version: string, reason: string): Promise<ModuleRecord>;
  /** Lets a rejected version be tried again. */
  clearRejection(name: string, version: string): Promise<ModuleRecord>;

  /**
   * Enables a module for a tenant (it becomes tenant-gated if it was not set host-wide), or with no tenant host-wide:
   * it serves every request, with or without a tenant. Returns the tenant's enablement, or `undefined` host-wide.
   */
  enable(name: string, options: { tenant: string; range?: string }): Promise<TenantEnablement>;
  enable(name: string, options?: { tenant?: undefined }): Promise<undefined>;
  /**
   * Stops serving a tenant from a module, or with no tenant takes away its host-wide access: it then serves only the
   * tenants it is enabled for.
   */
  disable(name: string, options?: { tenant?: string }): Promise<void>;
  listEnabled(tenant: string): Promise<TenantEnablement[]>;
  listTenants(): Promise<string[]>;
  /** Sets a config layer (host-wide, or a tenant's) after validating the merged result; with `dryRun`, only validates. */
  configure(name: string, values: Record<string, unknown>, options?: ConfigureOptions): Promise<ConfigVersion>;
  getConfig(name: string, options?: ReadConfigOptions): Promise<ResolvedConfig>;
  configHistory(name: string, options?: ReadConfigOptions): Promise<ConfigVersion[]>;
  /** Restores an earlier version of a config layer, as a new version. */
  rollbackConfig(name: string, options: { tenant?: string; to: number }): Promise<ConfigVersion>;

  /** The whole state as one document. Sensitive values are masked unless `includeSensitive`. */
  exportSnapshot(options?: { includeSensitive?: boolean }): Promise<RegistrySnapshot>;
  /** Loads a snapshot into this registry's (empty) namespace. */
  importSnapshot(snapshot: unknown): Promise<ImportResult>;
  /** This registry's instance id, when lifecycle state is kept per instance. */
  readonly instanceId: string | undefined;
  /**
   * Forgets this instance's observed state (every version reads `registered` again), so a restarted instance with
   * the same id starts from the desired state, whatever its old records said. Returns how many records it dropped.
   */
  resetObserved(): Promise<number>;
  /** Drops this instance's observed state of one module's versions (after it was uninstalled elsewhere). */
  forgetObserved(name: string): Promise<void>;
  /** Another instance's observed state of every version, by `name@version` (for a fleet view). */
  observedBy(instanceId: string): Promise<Record<string, ObservedState>>;
  /** Records (or renews) this instance's lease: it is alive until `now + ttlMs`. Needs an `instanceId`. */
  renewLease(ttlMs: number, meta?: Record<string, unknown>): Promise<InstanceLease>;
  /** Ends this instance's lease (a clean stop): others see it stopped at once; its last observations stay readable. */
  endLease(): Promise<void>;
  /**
   * Forgets instances whose lease ended or expired more than `olderThanMs` ago (their lease and observed state), so
   * crashed or retired instances do not pile up. Returns their ids.
   */
  pruneInstances(olderThanMs: number): Promise<string[]>;
  /** Every instance that holds or held a lease on this storage, with `alive` from the clock. */
  instances(): Promise<(InstanceLease & { readonly alive: boolean })[]>;
}

/** An instance's lease: it renews it while it runs; when `expiresAt` passes, its observed state is stale. */
export interface InstanceLease {
  readonly instanceId: string;
  readonly startedAt: number;
  readonly renewedAt: number;
  readonly expiresAt: number;
  /** True when the instance stopped cleanly (`endLease`); otherwise an expired lease means it crashed or lost the storage. */
  readonly ended?: boolean;
  readonly meta?: Record<string, unknown>;
}
