import {
  type AnyModuleDefinition,
  type Clock,
  ModhostError,
  memoryStorage,
  noopTelemetry,
  type StorageAdapter,
  summarizeCause,
  systemClock,
  type Telemetry,
} from '@modhost/core';
import { createStore, KEEP } from '@modhost/core/internal';
import { type AuditLog, createAuditLog } from './audit.js';
import { type BuiltContext, type CapabilityContextInput, createCapabilityContext, type ServiceFactory } from './capability-context.js';
import { createGrants, type GrantScope, type Grants, type PermissionPolicy, permissionDenied } from './grants.js';
import {
  assertLinksInside,
  computeIntegrity,
  devRecordRefused,
  type IntegrityOptions,
  type IntegrityRecord,
  integrityKey,
  type StoredIntegrity,
  type TrustedKeys,
  verifyIntegrity,
  verifySignature,
} from './integrity.js';

/** Options for {@link createSandbox}. */
export interface SandboxOptions {
  /** Which requested permissions the host approves (default: none, so modules get only what needs no permission). */
  policy?: PermissionPolicy;
  /** Host services, by name; each method may require a permission. */
  services?: Readonly<Record<string, ServiceFactory>>;
  /** Default: a fresh log with a 1,000-record ring and no sink. */
  audit?: AuditLog;
  clock?: Clock;
  /** Where integrity records are kept (default: memory). Use the host's storage to keep them across restarts. */
  storage?: StorageAdapter;
  /** Key namespace (default `modhost`). */
  namespace?: string;
  /** ed25519 public keys the host trusts, by key id. */
  trustedKeys?: TrustedKeys;
  /** Refuse modules without a valid signature from a trusted key (default false). */
  requireSigned?: boolean;
  /** The fetch behind `ctx.net.fetch` (default: the global one). */
  fetch?: typeof fetch;
  /** Options for hashing module folders. */
  integrity?: IntegrityOptions;
  /** Told about each call that crosses to a worker or a process guest (default: nothing is recorded). */
  telemetry?: Telemetry;
  /**
   * Development mode (default false): `admit` marks what it records `dev: true`, and replaces an earlier development
   * record of the same name@version whose files changed (a record made outside development mode is never replaced).
   * A sandbox not in development mode refuses every version recorded in development mode (`INTEGRITY_MISMATCH` with
   * `details.dev: true`) until it gets a new version or {@link Sandbox.forgetDev} forgets the record.
   */
  dev?: boolean;
}

/** What {@link Sandbox.admit} takes. */
export interface AdmitInput {
  readonly name: string;
  readonly version: string;
  /** The module's folder. */
  readonly root: string;
  /** Its signature (`modhost.sig`), if it has one. */
  readonly signature?: unknown;
}

/** The permission sandbox: grants, audit, capability contexts, integrity. */
export interface Sandbox {
  readonly audit: AuditLog;
  readonly grants: Grants;
  /** Where calls crossing to a worker or a process guest are reported (the `telemetry` option, or a no-op). */
  readonly telemetry: Telemetry;
  /** Approves a permission at runtime, host-wide or for one tenant. */
  grant(module: string, permission: string, scope?: GrantScope): void;
  /** Withdraws a permission at runtime: live capabilities needing it fail with `PERMISSION_DENIED` from now on. */
  revoke(module: string, permission: string, scope?: GrantScope): void;
  /**
   * Builds a module's context from its grants (pass it as the activator's `contextFactory`). Throws
   * `PERMISSION_DENIED` when the module contributes routes without holding `routes:mount`.
   */
  contextFor(parts: CapabilityContextInput, definition: AnyModuleDefinition): BuiltContext;
  /**
   * Records the integrity of a module folder at install time (and checks its signature when there is one or the policy requires one).
   * Throws `LINK_OUTSIDE_MODULE` when the folder ships a link that leads outside it, dangling or not.
   */
  admit(input: AdmitInput): Promise<IntegrityRecord & { signedBy?: string; recorded: boolean; dev?: boolean }>;
  /**
   * Forgets the integrity records made in development mode (of one module, or one version, with `filter`), so a host
   * not in development mode admits those files afresh. Records made outside development mode are kept. Returns
   * what it forgot.
   */
  forgetDev(filter?: { readonly name?: string; readonly version?: string }): Promise<{ name: string; version: string }[]>;
  /**
   * Forgets the integrity recorded for a version, if it still is `integrity`: for a version whose load failed right
   * after `admit` recorded it (`recorded: true`), so fixed files under the same version can be admitted. A version
   * that loaded keeps its record: its content never changes. Returns whether it was forgotten.
   */
  withdraw(input: { readonly name: string; readonly version: string; readonly integrity: string }): Promise<boolean>;
  /** Checks a module folder against what was recorded at `admit`; throws `INTEGRITY_MISMATCH` before anything is loaded. */
  verify(input: Omit<AdmitInput, 'signature'>): Promise<void>;
  /** Tells the sandbox where a module's folder is (for `fs:` scopes). `admit` does this too. */
  setRoot(name: string, root: string): void;
}

/** Creates a sandbox. */
export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const clock = options.clock ?? systemClock;
  const audit = options.audit ?? createAuditLog({ clock });
  const grants = createGrants({ audit, ...(options.policy ? { policy: options.policy } : {}) });
  const storage = options.storage ?? memoryStorage();
  const roots = new Map<string, string>();
  const keyOf = (name: string, version: string) => integrityKey(name, version, options.namespace);
  // Integrity records go through core's storage helper (keys `<ns>:integrity:<name>@<version>`, as before).
  const store = createStore(storage, { namespace: options.namespace ?? 'modhost', owner: { label: 'sandbox' } });

  return {
    audit,
    grants,
    telemetry: options.telemetry ?? noopTelemetry,
    grant: (m, p, s) => grants.grant(m, p, s),
    revoke: (m, p, s) => grants.revoke(m, p, s),
    setRoot: (name, root) => void roots.set(name, root),
    contextFor(parts, definition) {
      grants.request(definition.name, definition.permissions ?? []);
      if ((definition.routes?.length ?? 0) > 0 && !grants.holds(definition.name, parts.tenant, 'routes:mount')) {
        audit.record({
          kind: 'denial',
          module: definition.name,
          tenant: parts.tenant,
          permission: 'routes:mount',
          decision: 'deny',
          detail: 'mount routes: denied',
        });
        throw permissionDenied(definition.name, parts.tenant, 'routes:mount', `mounting its ${definition.routes?.length} route(s)`);
      }
      const root = parts.root ?? roots.get(definition.name);
      const built = createCapabilityContext(
        { ...parts, ...(root !== undefined ? { root } : {}) },
        {
          grants,
          audit,
          now: () => clock.now(),
          ...(options.services ? { services: options.services } : {}),
          ...(options.fetch ? { fetch: options.fetch } : {}),
        },
      );
      if ((definition.routes?.length ?? 0) === 0) return built;
      // Mounting is checked when the context is built; serving, on every request, so a revoke (for one tenant or
      // host-wide) takes effect on the next request.
      const checkServe = () => {
        if (!grants.holds(definition.name, parts.tenant, 'routes:mount'))
          throw permissionDenied(definition.name, parts.tenant, 'routes:mount', 'serving a request');
      };
      return { ...built, checkServe };
    },
    async admit(input) {
      const who = `${input.name}@${input.version}`;
      const record = await computeIntegrity(input.root, options.integrity);
      try {
        await assertLinksInside(input.root, record, input.name, who);
      } catch (e) {
        audit.record({ kind: 'integrity', module: input.name, decision: 'deny', detail: `link refused: ${summarizeCause(e)}` });
        throw e;
      }
      let signedBy: string | undefined;
      if (input.signature !== undefined || options.requireSigned) {
        try {
          signedBy = verifySignature({ name: input.name, version: input.version, integrity: record.integrity }, input.signature, options.trustedKeys ?? {});
        } catch (e) {
          audit.record({ kind: 'integrity', module: input.name, decision: 'deny', detail: `signature rejected: ${summarizeCause(e)}` });
          throw e;
        }
      }
      const stored: StoredIntegrity = {
        integrity: record.integrity,
        files: record.files,
        ...(signedBy ? { signedBy } : {}),
        ...(options.dev ? { dev: true as const } : {}),
      };
      const key = keyOf(input.name, input.version);
      let created = false;
      let dev = options.dev === true;
      try {
        await store.updateText(key, (raw) => {
          created = raw === undefined;
          if (raw === undefined) return JSON.stringify(stored);
          const previous = JSON.parse(raw) as StoredIntegrity;
          // Whatever its files, a version recorded in development mode may have been edited in place.
          if (previous.dev && !options.dev) throw devRecordRefused(input.name, input.version);
          if (previous.integrity === record.integrity) {
            dev = previous.dev === true;
            return KEEP;
          }
          // Development mode: the edited files replace the earlier development record.
          if (previous.dev && options.dev) {
            created = true;
            return JSON.stringify(stored);
          }
          throw new ModhostError(
            'INTEGRITY_MISMATCH',
            options.dev
              ? `${who} was installed before (not in development mode) with different files, and development mode never replaces such a record. Bump the version (e.g. to a prerelease) while you develop it`
              : `${who} was installed before with different files; a version's content never changes. Publish the change as a new version`,
            { details: { module: input.name, version: input.version, recorded: previous.integrity, now: record.integrity } },
          );
        });
      } catch (e) {
        if (e instanceof ModhostError && e.code === 'INTEGRITY_MISMATCH') {
          const detail = e.details.dev ? `${who} was recorded in development mode` : `${who} was installed before with other files`;
          audit.record({ kind: 'integrity', module: input.name, decision: 'deny', detail });
        }
        throw e;
      }
      roots.set(input.name, input.root);
      audit.record({
        kind: 'integrity',
        module: input.name,
        decision: 'allow',
        detail: `${who} recorded as ${record.integrity.slice(0, 20)}…${signedBy ? `, signed by ${signedBy}` : ''}${dev ? ' (development mode)' : ''}`,
      });
      return { ...record, ...(signedBy ? { signedBy } : {}), recorded: created, ...(dev ? { dev: true } : {}) };
    },
    async withdraw(input) {
      const key = keyOf(input.name, input.version);
      const raw = await store.readText(key);
      if (typeof raw !== 'string' || (JSON.parse(raw) as IntegrityRecord).integrity !== input.integrity) return false;
      return store.swap(key, raw, null);
    },
    async forgetDev(filter = {}) {
      const forgotten: { name: string; version: string }[] = [];
      for (const key of await store.keys('integrity')) {
        // `<ns>:integrity:<name>@<version>`, each part URI-encoded (so a scope's `@` is not the separator).
        const last = key.slice(key.lastIndexOf(':') + 1);
        const at = last.lastIndexOf('@');
        const name = decodeURIComponent(last.slice(0, at));
        const version = decodeURIComponent(last.slice(at + 1));
        if ((filter.name !== undefined && filter.name !== name) || (filter.version !== undefined && filter.version !== version)) continue;
        const raw = await store.readText(key);
        let dev = false;
        try {
          dev = raw !== undefined && (JSON.parse(raw) as StoredIntegrity).dev === true;
        } catch {}
        if (!dev || !(await store.swap(key, raw ?? null, null))) continue;
        forgotten.push({ name, version });
        audit.record({ kind: 'integrity', module: name, decision: 'allow', detail: `${name}@${version}: its development record was forgotten` });
      }
      return forgotten;
    },
    async verify(input) {
      const who = `${input.name}@${input.version}`;
      const raw = await store.readText(keyOf(input.name, input.version));
      if (typeof raw !== 'string') {
        throw new ModhostError(
          'INTEGRITY_MISMATCH',
          `${who} has no recorded integrity, so its files cannot be trusted; install it with sandbox.admit() first`,
          {
            details: { module: input.name, version: input.version },
          },
        );
      }
      try {
        const recorded = JSON.parse(raw) as StoredIntegrity;
        if (recorded.dev && !options.dev) throw devRecordRefused(input.name, input.version);
        await verifyIntegrity(input.root, recorded, who, options.integrity);
      } catch (e) {
        audit.record({ kind: 'integrity', module: input.name, decision: 'deny', detail: summarizeCause(e) });
        throw e;
      }
    },
  };
}
