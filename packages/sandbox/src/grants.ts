import { ModhostError } from '@modhost/core';
import type { AuditLog, UsageCounter } from './audit.js';
import { type Permission, parsePermission, permits } from './permission.js';

/**
 * Which requested permissions the host approves. Keys are module names (`*` for every module); values are
 * permission patterns (`tasks:*`, `fs:read:./data`, `net:fetch:*.example.com`). A module gets a permission
 * only when it asked for it in its manifest and a pattern here covers it.
 */
export type GrantTable = Readonly<Record<string, readonly string[]>>;

/** The host's permission policy. */
export interface PermissionPolicy {
  /** Host-wide approvals. */
  grant?: GrantTable;
  /** Per-tenant approvals, added to the host-wide ones for that tenant's contexts. */
  tenants?: Readonly<Record<string, GrantTable>>;
  /** Decide in code as well: return true to approve a request no table covers. */
  decide?: (request: { module: string; tenant: string | undefined; permission: string }) => boolean;
}

/**
 * The live state of one (module, tenant, permission): the sandbox reads `active` on each checked call and counts
 * allowed uses in `usage`. Revoking flips `active`; nothing is allocated per call.
 */
export interface GrantCell {
  readonly permission: Permission;
  active: boolean;
  readonly usage: UsageCounter;
}

interface Level {
  approved: Map<string, Permission[]>;
  denied: Map<string, Set<string>>;
}

/** Where a grant or revocation applies. */
export interface GrantScope {
  /** Only this tenant's contexts; omit for host-wide. */
  tenant?: string;
}

/** The grant table of a sandbox. */
export interface Grants {
  /** Registers what a module asks for (from its manifest). Throws `MANIFEST_INVALID` for a malformed permission. */
  request(module: string, permissions: readonly string[]): void;
  /** The cell for a requested permission, made on first use; `undefined` when the module did not request it. */
  cell(module: string, tenant: string | undefined, permission: string): GrantCell | undefined;
  /** The cells of every permission a module requested, for that tenant. */
  cells(module: string, tenant: string | undefined): GrantCell[];
  /** True when the module, in that tenant's context, holds the permission now. */
  holds(module: string, tenant: string | undefined, permission: string): boolean;
  /** Approves a permission at runtime (host-wide or for a tenant); live contexts that hold its capability regain it. */
  grant(module: string, permission: string, scope?: GrantScope): void;
  /** Withdraws a permission at runtime; live capabilities that need it start failing with `PERMISSION_DENIED`. */
  revoke(module: string, permission: string, scope?: GrantScope): void;
}

/** Options for the grant table a sandbox keeps (`createGrants`, internal). */
export interface GrantsOptions {
  policy?: PermissionPolicy;
  audit: AuditLog;
}

const HOST = '\u0000host';

/** Creates the grant table. Approvals come from the policy and from `grant`/`revoke` calls. */
export function createGrants(options: GrantsOptions): Grants {
  const { audit } = options;
  const policy = options.policy ?? {};
  const requested = new Map<string, Map<string, Permission>>();
  const levels = new Map<string, Level>();
  const cells = new Map<string, GrantCell>();

  const level = (tenant: string | undefined): Level => {
    const key = tenant ?? HOST;
    let l = levels.get(key);
    if (!l) {
      l = { approved: new Map(), denied: new Map() };
      levels.set(key, l);
    }
    return l;
  };
  const load = (table: GrantTable | undefined, tenant: string | undefined) => {
    for (const [module, patterns] of Object.entries(table ?? {})) {
      level(tenant).approved.set(
        module,
        patterns.map((p) => parsePermission(p)),
      );
    }
  };
  load(policy.grant, undefined);
  for (const [tenant, table] of Object.entries(policy.tenants ?? {})) load(table, tenant);

  const approvedAt = (l: Level | undefined, module: string, p: Permission) =>
    !!l && ((l.approved.get(module) ?? []).some((g) => permits(g, p)) || (l.approved.get('*') ?? []).some((g) => permits(g, p)));
  const deniedAt = (l: Level | undefined, module: string, p: Permission) => !!l?.denied.get(module)?.has(p.text);

  const decide = (module: string, tenant: string | undefined, p: Permission): boolean => {
    if (!requested.get(module)?.has(p.text)) return false;
    const host = levels.get(HOST);
    const ten = tenant === undefined ? undefined : levels.get(tenant);
    if (deniedAt(host, module, p) || deniedAt(ten, module, p)) return false;
    return approvedAt(host, module, p) || approvedAt(ten, module, p) || (policy.decide?.({ module, tenant, permission: p.text }) ?? false);
  };

  const cellKey = (module: string, tenant: string | undefined, permission: string) => `${module}\u0000${tenant ?? ''}\u0000${permission}`;
  const cellOf = (module: string, tenant: string | undefined, permission: string): GrantCell | undefined => {
    const p = requested.get(module)?.get(permission);
    if (!p) return undefined;
    const key = cellKey(module, tenant, permission);
    let c = cells.get(key);
    if (!c) {
      const active = decide(module, tenant, p);
      c = { permission: p, active, usage: audit.counter(module, tenant, permission) };
      cells.set(key, c);
      audit.record({
        kind: 'grant',
        module,
        tenant,
        permission,
        decision: active ? 'allow' : 'deny',
        detail: active ? 'granted by policy' : 'requested, not granted by policy',
      });
    }
    return c;
  };
  // After a change, every live cell of the module is decided again.
  const refresh = (module: string) => {
    for (const c of cells.values()) {
      if (c.usage.module === module) c.active = decide(module, c.usage.tenant, c.permission);
    }
  };

  return {
    request(module, permissions) {
      const map = new Map<string, Permission>();
      for (const text of permissions) map.set(text, parsePermission(text));
      requested.set(module, map);
      refresh(module);
    },
    cell: cellOf,
    cells(module, tenant) {
      return [...(requested.get(module)?.keys() ?? [])].map((p) => cellOf(module, tenant, p) as GrantCell);
    },
    holds(module, tenant, permission) {
      return cellOf(module, tenant, permission)?.active ?? false;
    },
    grant(module, permission, scope = {}) {
      const p = parsePermission(permission);
      const l = level(scope.tenant);
      l.denied.get(module)?.delete(p.text);
      l.approved.set(module, [...(l.approved.get(module) ?? []), p]);
      refresh(module);
      const note = requested.get(module)?.has(p.text) ? '' : ' (the module has not requested it, so it has no effect until it does)';
      audit.record({ kind: 'grant', module, tenant: scope.tenant, permission: p.text, decision: 'allow', detail: `granted at runtime${note}` });
    },
    revoke(module, permission, scope = {}) {
      const p = parsePermission(permission);
      const l = level(scope.tenant);
      const kept = (l.approved.get(module) ?? []).filter((g) => g.text !== p.text);
      l.approved.set(module, kept);
      let denied = l.denied.get(module);
      if (!denied) {
        denied = new Set();
        l.denied.set(module, denied);
      }
      denied.add(p.text);
      refresh(module);
      audit.record({ kind: 'revoke', module, tenant: scope.tenant, permission: p.text, decision: 'deny', detail: 'revoked at runtime' });
    },
  };
}

/** The error a dynamic check raises: it names the module, the permission and how to grant it. */
export function permissionDenied(module: string, tenant: string | undefined, permission: string, what: string): ModhostError {
  const where = tenant === undefined ? '' : ` for tenant "${tenant}"`;
  const scope = tenant === undefined ? '' : `, { tenant: '${tenant}' }`;
  return new ModhostError(
    'PERMISSION_DENIED',
    `${module}${where}: ${what} needs permission "${permission}", which it does not hold. List it in the module's "permissions" and grant it: policy.grant['${module}'] = ['${permission}'], or sandbox.grant('${module}', '${permission}'${scope})`,
    { details: { module, tenant, permission } },
  );
}
