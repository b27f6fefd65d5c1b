// The shapes of `host.tenants`: plain JSON in and out, so `POST /tenants/apply` and the CLI pass them through as they are.

/**
 * What {@link HostTenants.apply} sets: the wanted modules (and their config) of each tenant listed. Tenants not
 * listed are not touched. {@link HostTenants.export} returns the current state in this shape.
 *
 * @example
 * ```json
 * { "tenants": {
 *     "acme": { "modules": { "billing": { "range": "^1.0.0", "config": { "currency": "USD" } }, "reports": {} } },
 *     "globex": { "modules": ["billing"], "mode": "merge" } } }
 * ```
 */
export interface TenantChanges {
  /** By tenant id (1 to 128 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit). */
  readonly tenants: Readonly<Record<string, TenantChange>>;
}

/** One tenant's wanted modules, in {@link TenantChanges}. */
export interface TenantChange {
  /** Module names (each enabled, with no range pin), or what to set per module name. */
  readonly modules: readonly string[] | Readonly<Record<string, TenantModuleChange>>;
  /**
   * `replace` (default): the tenant ends with exactly the modules listed as enabled (the others are disabled), each
   * pinned exactly as given (no `range`: no pin), and each `config` becomes its whole tenant layer. `merge`: only what
   * is listed changes (no `range`: the pin stays; `config` is deep-merged into the tenant layer).
   */
  readonly mode?: 'replace' | 'merge';
}

/** One module of one tenant, in {@link TenantChange}. */
export interface TenantModuleChange {
  /** False disables the module for the tenant. Default true. */
  readonly enabled?: boolean;
  /** A semver range the tenant is pinned to (`enable(name, { tenant, range })`); some registered version must satisfy it. */
  readonly range?: string;
  /**
   * The tenant's config layer of the module, checked by the module's schema before anything is written. A value of
   * `"[redacted]"` at a sensitive path keeps the stored value, so a masked export applies as it is.
   */
  readonly config?: Readonly<Record<string, unknown>>;
}

/** Options of {@link HostTenants.apply}. */
export interface TenantApplyOptions {
  /** Check and list every change and problem, and write nothing. Default false. */
  readonly dryRun?: boolean;
  /**
   * When a step fails while applying: `rollback` (default) puts every tenant touched back to the snapshot taken
   * before the first step; `stop` keeps what was applied and stops there (`rollback(snapshotId)` can still undo it).
   */
  readonly onFailure?: 'rollback' | 'stop';
}

/** A module's enablement for one tenant, before or after a step. */
export interface TenantEnablementState {
  /** True when the tenant has the module enabled. */
  readonly enabled: boolean;
  /** The semver range the tenant is pinned to, if any. */
  readonly range?: string;
}

/** Enabling or disabling a module for a tenant (enabling again with another `range` counts as `enable`). */
export interface TenantEnablementStep {
  /** The tenant changed. */
  readonly tenant: string;
  /** The module changed. */
  readonly module: string;
  /** What the step does. */
  readonly action: 'enable' | 'disable';
  /** The tenant's enablement of the module before the step. */
  readonly before: TenantEnablementState;
  /** The tenant's enablement of the module after the step. */
  readonly after: TenantEnablementState;
  /** What else the step changes, e.g. that the module's first tenant makes it tenant-gated for every request. */
  readonly note?: string;
}

/** Setting a module's config layer for a tenant. Sensitive values read `[redacted]`. */
export interface TenantConfigStep {
  /** The tenant changed. */
  readonly tenant: string;
  /** The module changed. */
  readonly module: string;
  /** What the step does. */
  readonly action: 'configure';
  /** The tenant's config layer before the step. */
  readonly before: Readonly<Record<string, unknown>>;
  /** The tenant's config layer after the step. */
  readonly after: Readonly<Record<string, unknown>>;
}

/** One change to one module of one tenant, in a {@link TenantApplyReport}. */
export type TenantStep = TenantEnablementStep | TenantConfigStep;

/** Why a change cannot be made, or a step that failed, in a {@link TenantApplyReport}. */
export interface TenantProblem {
  /** The tenant concerned. */
  readonly tenant: string;
  /** The module concerned, when there is one. */
  readonly module?: string;
  /** Where in the input the change came from, e.g. `['tenants', 'acme', 'modules', 'billing', 'config']`. */
  readonly path: readonly (string | number)[];
  /** A modhost error code: `MODULE_NOT_FOUND`, `DEPENDENCY_UNSATISFIED`, `CONFIG_INVALID`, `STORAGE_ADAPTER_FAILED`… */
  readonly code: string;
  /** What is wrong, and what to do. Never holds a sensitive value. */
  readonly message: string;
}

/** What {@link HostTenants.apply} and {@link HostTenants.rollback} did (or, for a dry run, would do). Plain JSON. */
export interface TenantApplyReport {
  /** True when every change was made (or, for a dry run, can be made). */
  readonly ok: boolean;
  /** True for a dry run: nothing was written. */
  readonly dryRun: boolean;
  /** A dry run: every change it would make. A real run: the changes made, in order (also those rolled back). */
  readonly changes: readonly TenantStep[];
  /** What stops the run (a real run with problems changes nothing), or the step that failed. */
  readonly problems: readonly TenantProblem[];
  /** Tenants with changes (`total`) and how many of them were fully applied (`done`). */
  readonly progress: { readonly done: number; readonly total: number };
  /** True when the tenants were put back to the snapshot (after a failed step, or by `rollback`). */
  readonly rolledBack: boolean;
  /** The snapshot taken before the first change: `rollback(snapshotId)` goes back to it. Absent when nothing changed. */
  readonly snapshotId?: string;
}

/** A stored snapshot, as {@link HostTenants.snapshots} lists it. */
export interface TenantSnapshotInfo {
  /** Pass it to {@link HostTenants.rollback}. */
  readonly id: string;
  /** When it was taken, ms since the epoch (the host's clock). */
  readonly at: number;
  /** The tenants it holds. */
  readonly tenants: readonly string[];
  /**
   * `applying`: the run is under way, or its process died during it (roll it back to be sure of the state);
   * `applied`, `stopped` (a step failed, `onFailure: 'stop'`), `rolled-back`, or `rollback-failed` (retry `rollback`).
   */
  readonly status: 'applying' | 'applied' | 'stopped' | 'rolled-back' | 'rollback-failed';
}

/** Moving many tenants at once: `host.tenants`. */
export interface HostTenants {
  /**
   * Sets the modules and config of every tenant in `changes`. Checks everything first: a dry run, or a run with
   * problems (a module not registered, a range no registered version satisfies, a config its schema rejects),
   * writes nothing. Otherwise it stores a snapshot of the tenants' state, applies tenant by tenant (a
   * `tenants:progress` event after each), and on a failing step rolls every tenant back or stops (`onFailure`).
   *
   * Rejects with `INVALID_ARGUMENT` (every issue in `details.issues`, with its path) when `changes` is not a valid
   * {@link TenantChanges}, and with the storage's error when reading the state or storing the snapshot fails: in
   * both cases nothing was changed. Once it has changed something it always resolves with a report.
   */
  apply(changes: TenantChanges, options?: TenantApplyOptions): Promise<TenantApplyReport>;
  /**
   * Puts every tenant of a stored snapshot back as it was (enabled modules, ranges, config layers), also after a
   * restart or on another instance. Config layers are restored by their version (`registry.rollbackConfig`), so
   * the module's definition must be loaded (after `host.start()`). Rejects with `INVALID_ARGUMENT` for an unknown id.
   */
  rollback(snapshotId: string): Promise<TenantApplyReport>;
  /**
   * The current state of `tenants` (default: every tenant with a module enabled) as {@link TenantChanges}: applying
   * it changes nothing. Sensitive config values read `[redacted]`, which `apply` reads as "keep".
   */
  export(tenants?: readonly string[]): Promise<TenantChanges>;
  /** Every stored snapshot, oldest first. */
  snapshots(): Promise<TenantSnapshotInfo[]>;
}
