import type { Registry, StorageAdapter } from '@modhost/core';
import type { HttpHandlerOptions, HttpHost } from './types.js';

/** A management role: `viewer` reads, `operator` changes enablement, config and versions, `admin` installs and removes. */
export type ManagementRole = 'viewer' | 'operator' | 'admin';

/** A role a principal holds, host-wide or for one tenant. */
export interface RoleGrant {
  readonly role: ManagementRole;
  /** Only this tenant's enablement and config (and its views); omit for host-wide. */
  readonly tenant?: string;
}

/** What the app's `authorize` is asked for a management call. */
export interface ManagementAuthorizeRequest<P = unknown> {
  readonly principal: P | undefined;
  /** The request's own tenant (from `resolveTenant`). */
  readonly tenant: string | undefined;
  /** The role the call needs. */
  readonly role: ManagementRole;
  /** The tenant the call reads or changes; `undefined` for a host-wide call (which a tenant's role never allows). */
  readonly scope: string | undefined;
  /** What is asked, e.g. `modules.status`, `modules.upgrade`. */
  readonly action: string;
  readonly module: string | undefined;
}

/** One module as the management API lists it. */
export interface ModuleStatusLike {
  readonly name: string;
  readonly version: string;
  readonly state: string;
  readonly active: boolean;
  readonly isolation: string;
  readonly health: { readonly status: string; readonly detail?: string };
  readonly dir?: string;
  readonly lastError?: { readonly code: string; readonly message: string; readonly phase?: string; readonly hint: string | undefined };
  readonly refused?: { readonly version: string; readonly code: string; readonly message: string; readonly hint: string | undefined };
  /** What the health monitor says of the serving version, with its recent changes (oldest first). */
  readonly monitor?: { readonly history: readonly { readonly at: number; readonly status: string; readonly detail?: string }[] };
}

/** What an upgrade or a rollback reports (`UpgradeReport` of `@modhost/activation` fits). */
export interface ChangeReport {
  readonly outcome: string;
  readonly error?: { readonly code: string; readonly message: string };
  /** When refused for compatibility: the resolver's explanation. */
  readonly explanation?: string;
}

/** What the management API needs of a host: `createHost()`'s host fits. */
export interface ManagementHost extends HttpHost {
  readonly registry: Registry;
  /** The prefix of the host's storage keys: a trail in `auditStorage` is kept under it too. */
  readonly namespace?: string;
  status(page?: {
    readonly limit?: number;
    readonly after?: string;
  }): Promise<{ instance: { readonly id: string }; modules: ModuleStatusLike[]; problems: readonly unknown[]; next?: string }>;
  fleet(): Promise<readonly unknown[]>;
  plan(): Promise<unknown>;
  install(source: string): Promise<ModuleStatusLike>;
  uninstall(name: string, options?: { cascade?: boolean }): Promise<void>;
  enable(name: string, options?: { tenant?: string }): Promise<void>;
  disable(name: string, options?: { tenant?: string }): Promise<void>;
  configure(name: string, values: Record<string, unknown>, options?: { tenant?: string }): Promise<void>;
  upgrade(
    name: string,
    version: string,
    options?: { canary?: { readonly steps: readonly number[]; readonly stepMs: number }; rollbackWindowMs?: number },
  ): Promise<ChangeReport>;
  rollback(name: string): Promise<ChangeReport>;
  /** The permission grants, when the host has a sandbox (`createHost()`'s has): what `GET /modules/:name/inspect` counts. */
  readonly sandbox?: {
    readonly grants: {
      cells(
        module: string,
        tenant: string | undefined,
      ): readonly { readonly permission: { readonly text: string }; readonly active: boolean; readonly usage: { readonly count: number } }[];
    };
  };
  /** Tenant migration in bulk, when the host has it (`host.tenants.apply`). */
  readonly tenants?: { apply(changes: unknown, options?: { dryRun?: boolean }): Promise<unknown> };
}

/** Options for {@link createManagementApi}: the pipeline's identity hooks, plus who may do what. */
export interface ManagementApiOptions<P = unknown>
  extends Pick<
    HttpHandlerOptions<P>,
    'resolveTenant' | 'tenantFromHeader' | 'authenticate' | 'onError' | 'onWarning' | 'maxBodyBytes' | 'bodyTimeoutMs' | 'clock'
  > {
  /** Decides every call. Without it, `roles` decides; with neither, every call answers 403. */
  authorize?: (request: ManagementAuthorizeRequest<P>) => boolean | Promise<boolean>;
  /** The built-in role map for apps with no `authorize`: the roles a principal holds. */
  roles?: (principal: P | undefined) => readonly RoleGrant[];
  /** Folders `POST /modules` may install from (a path must resolve inside one of them). Default: none. */
  installRoots?: readonly string[];
  /**
   * Where `POST /modules` unpacks an uploaded package (`.tgz`, `.tar`, `.zip`), each into a fresh folder of its own.
   * Keep it apart from a watched `modulesDir`. Without it, uploads answer 403.
   */
  uploadRoot?: string;
  /** The largest package upload, in bytes (default 10 MiB); a larger one answers 413. */
  maxUploadBytes?: number;
  /** The most an upload may unpack to, in bytes: its files together, and the tar inside a `.tgz` (default 50 MiB). */
  maxUnpackedBytes?: number;
  /** The most entries (files and folders) an upload may hold (default 10,000). */
  maxUploadEntries?: number;
  /** How many audit records are kept (default 10,000); `onAudit` gets every one as it is made. */
  auditLimit?: number;
  /**
   * Where the audit trail lives: pass the host's storage and the trail survives restarts and is one trail for every
   * instance on that storage (records numbered by a shared counter; the oldest beyond `auditLimit` deleted). Default:
   * in memory, this instance's changes since it started.
   */
  auditStorage?: StorageAdapter;
  /** The host's storage, where `GET /modules/:name/inspect` reads the migrations applied (default: `auditStorage`). */
  storage?: StorageAdapter;
  /** How long records in `auditStorage` are kept (default 90 days; older ones are deleted in the background). */
  auditMaxAgeMs?: number;
  /** Told about every audit record (to store it, or ship it). */
  onAudit?: (record: ManagementAuditRecord) => void;
  /** Whether a navigation entry that declares a permission is shown to this caller (default: hidden). */
  canSee?: (request: { principal: P | undefined; tenant: string | undefined; module: string; permission: string }) => boolean;
}

/** One change made through the management API. */
export interface ManagementAuditRecord {
  readonly seq: number;
  readonly at: number;
  readonly action: string;
  readonly module: string | undefined;
  /** The tenant the change was for (`undefined`: host-wide). */
  readonly tenant: string | undefined;
  /** Who made it: what `authenticate` returned (its `id` when it has one). */
  readonly principal: unknown;
  readonly requestId: string;
  /** `refused`: the call was not allowed, or another change was under way; nothing changed. */
  readonly outcome: 'ok' | 'failed' | 'refused';
  /** The state before and after (config values with sensitive paths masked). */
  readonly before: unknown;
  readonly after: unknown;
  readonly error?: { readonly code: string; readonly message: string };
}
