import { ErrorCode, ModhostError, type StorageAdapter } from '@modhost/core';
import { parseManifest } from '@modhost/manifest';
import type { z } from 'zod';
import type { AuditQuery } from './management-audit.js';
import { dependencyGraph } from './management-graph.js';
import { inspectModule } from './management-inspect.js';
import { installFolder, installUpload, removeUploads, type UploadedPackage } from './management-install.js';
import { configBody, configRollbackBody, installBody, responses, statusBody, tenantsApplyBody, upgradeBody, validateBody } from './management-schemas.js';
import { registryStatus } from './management-status.js';
import { listTenants } from './management-tenants.js';
import type { ChangeReport, ManagementHost, ManagementRole } from './management-types.js';
import { enablement, find, servesView, summary } from './management-view.js';

/** What an endpoint's `run` gets. */
interface EndpointCall {
  readonly host: ManagementHost;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly tenant: string | undefined;
  readonly principal: unknown;
  /** The operation under way for a module, if any (what `UPDATING`/`REMOVING` come from). */
  readonly busy: (module: string) => string | undefined;
  readonly audit: (q: AuditQuery) => Promise<unknown[]>;
  readonly installRoots: readonly string[];
  /** Where uploads are unpacked (their folders go when their module is uninstalled). */
  readonly uploadRoot: string | undefined;
  readonly canSee: (module: string, permission: string) => boolean;
  /** The package uploaded instead of a JSON body (an endpoint with `uploadTypes`, called with one of them). */
  readonly upload: UploadedPackage | undefined;
  /** The host's storage, when the API was given it (migrations applied are read there). */
  readonly storage?: StorageAdapter | undefined;
}

/** What a changing endpoint gives back: the response, and what the audit record says changed. */
interface Outcome {
  readonly status?: number;
  readonly body: unknown;
  readonly before?: unknown;
  readonly after?: unknown;
}

/** One management endpoint: who may call it, what it takes, what it does. */
export interface Endpoint {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly summary: string;
  readonly role: ManagementRole;
  /** The audit action; an endpoint with one changes something and is serialised per module. */
  readonly action: string;
  readonly changes: boolean;
  readonly body?: z.ZodType;
  /** Media types under which the body is a module package's bytes (read once the call is allowed), not JSON. */
  readonly uploadTypes?: readonly string[];
  readonly response: z.ZodType;
  /** The tenant the call reads or changes (`undefined`: host-wide). */
  readonly scope: (call: ScopeInput) => string | undefined | Promise<string | undefined>;
  readonly run: (call: EndpointCall) => Promise<Outcome>;
}

/** What an endpoint's scope is decided from: the call, and the caller's own tenant. */
type ScopeInput = Pick<EndpointCall, 'body' | 'query' | 'host' | 'params'> & { readonly callerTenant: string | undefined };

const hostWide = () => undefined;
const bodyTenant = (c: Pick<EndpointCall, 'body'>) => (c.body as { tenant?: string }).tenant;
const queryTenant = (c: Pick<EndpointCall, 'query'>) => c.query.tenant;
/** What `POST /modules` takes as a package upload: the bytes say which archive it is, not the type. */
const UPLOAD_TYPES = ['application/gzip', 'application/x-gzip', 'application/x-tar', 'application/zip', 'application/octet-stream'] as const;

/** Every endpoint of the management API, in the order the OpenAPI document lists them. */
export const ENDPOINTS: readonly Endpoint[] = [
  {
    method: 'GET',
    path: '/modules',
    summary: "Every module with its status; with ?tenant=, that tenant's view; ?limit=&after= for one page (then `next`)",
    role: 'viewer',
    action: 'modules.list',
    changes: false,
    response: responses.modules,
    scope: queryTenant,
    async run({ host, query, busy }) {
      const tenant = query.tenant;
      // ?limit=&after= pages the list (`next` is the `after` of the next page); without them, every module. A limit
      // that is not a whole number from 1 is refused, as /audit does: never read as another page, or as no page.
      if (query.limit !== undefined && !/^[1-9]\d{0,8}$/.test(query.limit))
        throw new ModhostError('INVALID_ARGUMENT', '?limit= must be a whole number from 1', { details: { argument: 'limit' } });
      const page = {
        ...(query.limit !== undefined ? { limit: Number(query.limit) } : {}),
        ...(query.after !== undefined ? { after: query.after } : {}),
      };
      const { modules, next } = await host.status(page);
      return {
        body: {
          tenant: tenant ?? null,
          modules: modules.map((m) => summary(m, registryStatus(m, busy(m.name), servesView(host, m.name, tenant)))),
          ...(next !== undefined ? { next } : {}),
        },
      };
    },
  },
  {
    method: 'GET',
    path: '/modules/:name',
    summary: 'One module: versions, desired and serving version, status per instance, health, masked config, last error, history',
    role: 'viewer',
    action: 'modules.get',
    changes: false,
    response: responses.module,
    scope: queryTenant,
    async run({ host, params, query, busy }) {
      const name = params.name as string;
      const m = await find(host, name);
      const record = await host.registry.getModule(name);
      const versions = await Promise.all(
        (record?.versions ?? []).map(async (v) => {
          const r = await host.registry.get(name, v);
          return {
            version: v,
            state: r?.status ?? 'unknown',
            rejected: record?.rejected.some((x) => x.version === v) ?? false,
            history: (r?.history ?? []).map((h) => ({ from: h.from, to: h.to, at: h.at })),
          };
        }),
      );
      // A tenant's view names only that tenant: other tenants are none of its business.
      const tenants: string[] = [];
      for (const t of query.tenant !== undefined ? [query.tenant] : await host.registry.listTenants())
        if ((await host.registry.listEnabled(t)).some((e) => e.name === name)) tenants.push(t);
      const config = await host.registry.getConfig(name, query.tenant ? { tenant: query.tenant } : {});
      const instances = ((await host.fleet()) as { id: string; alive: boolean; modules: { name: string; version: string; state: string }[] }[]).flatMap((i) =>
        i.modules.filter((x) => x.name === name).map((x) => ({ id: i.id, alive: i.alive, version: x.version, state: x.state })),
      );
      return {
        body: {
          ...summary(m, registryStatus(m, busy(name), servesView(host, name, query.tenant))),
          desiredVersion: record?.desiredVersion ?? null,
          versions,
          access: record?.access ?? 'host',
          tenants,
          config: { values: config.values, issues: config.issues },
          instances,
          ...(m.refused ? { refused: { version: m.refused.version, code: m.refused.code, message: m.refused.message } } : {}),
        },
      };
    },
  },
  {
    method: 'GET',
    path: '/modules/:name/inspect',
    summary:
      "One module's contributions and rights: routes, jobs, migrations (declared and applied), permissions (requested, granted, denied), config JSON Schema, what each version changed",
    role: 'viewer',
    action: 'modules.inspect',
    changes: false,
    response: responses.inspect,
    scope: queryTenant,
    run: async ({ host, params, query, storage }) => ({ body: await inspectModule(host, params.name as string, query.tenant, storage) }),
  },
  {
    method: 'GET',
    path: '/graph',
    summary: "The dependency graph: modules in activation waves, edges with their ranges, and the resolver's explanation when the plan does not resolve",
    role: 'viewer',
    action: 'graph',
    changes: false,
    response: responses.graph,
    scope: queryTenant,
    run: async ({ host, query, busy }) => ({ body: await dependencyGraph(host, query.tenant, busy) }),
  },
  {
    method: 'GET',
    path: '/tenants',
    summary: 'Every tenant with the modules it has enabled and its config overrides (sensitive values masked); ?tenant= for one',
    role: 'viewer',
    action: 'tenants.list',
    changes: false,
    response: responses.tenants,
    scope: queryTenant,
    run: async ({ host, query }) => ({ body: await listTenants(host, query.tenant) }),
  },
  {
    method: 'PUT',
    path: '/modules/:name/status',
    summary: 'Enable or disable a module, host-wide or for a tenant',
    role: 'operator',
    action: 'modules.status',
    changes: true,
    body: statusBody,
    response: responses.change,
    // Enabling a module for its first tenant gates it for everyone else: a host-wide change, whatever tenant the body
    // names.
    async scope(c) {
      const tenant = bodyTenant(c);
      if (tenant === undefined || (c.body as z.infer<typeof statusBody>).enabled !== true) return tenant;
      return (await c.host.registry.getModule(c.params.name as string))?.access === 'tenants' ? tenant : undefined;
    },
    async run({ host, params, body, busy }) {
      const name = params.name as string;
      const { enabled, tenant } = body as z.infer<typeof statusBody>;
      await find(host, name);
      const before = await enablement(host, name, tenant);
      const options = tenant === undefined ? {} : { tenant };
      if (enabled) await host.enable(name, options);
      else await host.disable(name, options);
      const after = await enablement(host, name, tenant);
      const m = await find(host, name);
      return { body: { module: name, status: registryStatus(m, busy(name), servesView(host, name, tenant)), before, after }, before, after };
    },
  },
  {
    method: 'PUT',
    path: '/modules/:name/config',
    summary: "Merge config values into the host's layer or a tenant's (validated by the module's schema; secrets masked)",
    role: 'operator',
    action: 'modules.config',
    changes: true,
    body: configBody,
    response: responses.change,
    scope: bodyTenant,
    async run({ host, params, body }) {
      const name = params.name as string;
      const { values, preset, tenant } = body as z.infer<typeof configBody>;
      const options = tenant === undefined ? {} : { tenant };
      const before = (await host.registry.getConfig(name, options)).values;
      // A preset is the module's own named values: applied first, then any values given with it, as one change.
      let presetValues: Record<string, unknown> = {};
      if (preset !== undefined) {
        const m = await find(host, name);
        const presets = host.registry.getDefinition(name, m.version)?.config?.presets as Record<string, Record<string, unknown>> | undefined;
        if (!presets || !Object.hasOwn(presets, preset))
          throw new ModhostError(
            'INVALID_ARGUMENT',
            `${name} declares no config preset "${preset}"${presets ? `; it has: ${Object.keys(presets).join(', ') || 'none'}` : ''}`,
            {
              details: { argument: 'preset' },
            },
          );
        presetValues = presets[preset] as Record<string, unknown>;
      }
      await host.configure(name, { ...presetValues, ...(values as Record<string, unknown> | undefined) }, options);
      const after = (await host.registry.getConfig(name, options)).values;
      return { body: { module: name, before, after }, before, after };
    },
  },
  {
    method: 'POST',
    path: '/modules/:name/config/rollback',
    summary: 'Restore an earlier version of a config layer (host-wide or a tenant’s), as a new version',
    role: 'operator',
    action: 'modules.config.rollback',
    changes: true,
    body: configRollbackBody,
    response: responses.change,
    scope: bodyTenant,
    async run({ host, params, body }) {
      const name = params.name as string;
      const { to, tenant } = body as z.infer<typeof configRollbackBody>;
      const options = tenant === undefined ? {} : { tenant };
      const before = (await host.registry.getConfig(name, options)).values;
      const restored = await host.registry.rollbackConfig(name, { to, ...options });
      // The running module gets the restored values as for any config change.
      await host.configure(name, {}, options);
      const after = (await host.registry.getConfig(name, options)).values;
      return { body: { module: name, before, after }, before: { values: before }, after: { values: after, version: restored.version } };
    },
  },
  {
    method: 'POST',
    path: '/modules/:name/upgrade',
    summary: 'Hot-swap a module to a registered version through the health gate (422 with the reason when refused)',
    role: 'operator',
    action: 'modules.upgrade',
    changes: true,
    body: upgradeBody,
    response: responses.upgrade,
    scope: hostWide,
    run({ host, params, body }) {
      const { version, canary, rollbackWindowMs } = body as z.infer<typeof upgradeBody>;
      const options = { ...(canary ? { canary } : {}), ...(rollbackWindowMs !== undefined ? { rollbackWindowMs } : {}) };
      return swap(host, params.name as string, ['switched', 'unchanged'], (name) => host.upgrade(name, version, options));
    },
  },
  {
    method: 'POST',
    path: '/modules/:name/rollback',
    summary: 'Point a module back at the version it replaced, while that is warm',
    role: 'operator',
    action: 'modules.rollback',
    changes: true,
    response: responses.upgrade,
    scope: hostWide,
    run({ host, params }) {
      return swap(host, params.name as string, ['rolled-back', 'switched'], (name) => host.rollback(name));
    },
  },
  {
    method: 'DELETE',
    path: '/modules/:name',
    summary: 'Deactivate and remove a module (?cascade=true also removes what depends on it)',
    role: 'admin',
    action: 'modules.uninstall',
    changes: true,
    response: responses.removed,
    scope: hostWide,
    async run({ host, params, query, uploadRoot }) {
      const name = params.name as string;
      const before = (await find(host, name)).version;
      // The names status() lists, from the registry alone: no module's status is read for this.
      const known = async () => new Set((await host.registry.list()).map((r) => r.name));
      const had = await known();
      await host.uninstall(name, { cascade: query.cascade === 'true' });
      const left = await known();
      await removeUploads(uploadRoot, new Set([...had].filter((n) => !left.has(n))));
      return { body: { module: name, removed: true }, before, after: null };
    },
  },
  {
    method: 'POST',
    path: '/modules',
    summary: 'Install a module from a folder inside one of the install roots the host allows, or from an uploaded package (.tgz, .tar, .zip)',
    role: 'admin',
    action: 'modules.install',
    changes: true,
    body: installBody,
    uploadTypes: UPLOAD_TYPES,
    response: responses.module.pick({ name: true, version: true, status: true, state: true, health: true, isolation: true }),
    scope: hostWide,
    run: ({ host, body, installRoots, busy, upload }) =>
      upload ? installUpload(host, upload, busy) : installFolder(host, (body as z.infer<typeof installBody>).path, installRoots, busy),
  },
  {
    method: 'POST',
    path: '/modules/validate',
    summary: 'Check a manifest without installing it: every problem with its JSON path',
    role: 'viewer',
    action: 'modules.validate',
    changes: false,
    body: validateBody,
    response: responses.validation,
    scope: hostWide,
    async run({ body }) {
      const result = parseManifest((body as z.infer<typeof validateBody>).manifest);
      return { body: result.ok ? { ok: true, issues: [] } : { ok: false, issues: result.issues.map((i) => ({ path: [...i.path], message: i.message })) } };
    },
  },
  {
    method: 'GET',
    path: '/plan',
    summary: 'What starting or rescanning would change, before changing it (with the resolver’s explanation when it cannot)',
    role: 'viewer',
    action: 'plan',
    changes: false,
    response: responses.plan,
    scope: hostWide,
    run: async ({ host }) => ({ body: await host.plan() }),
  },
  {
    method: 'GET',
    path: '/audit',
    summary: 'Changes made through this API (?module=, ?tenant=, ?action=, ?after=<seq>, ?limit=)',
    role: 'viewer',
    action: 'audit.list',
    changes: false,
    response: responses.audit,
    scope: queryTenant,
    async run({ query, audit }) {
      const whole = (v: string | undefined, what: string) => {
        if (v === undefined) return undefined;
        if (!/^\d{1,9}$/.test(v)) throw new ModhostError('INVALID_ARGUMENT', `?${what}= must be a whole number`, { details: { argument: what } });
        return Number(v);
      };
      const limit = whole(query.limit, 'limit');
      const after = whole(query.after, 'after');
      return { body: { records: await audit({ module: query.module, tenant: query.tenant, action: query.action, after, limit }) } };
    },
  },
  {
    method: 'GET',
    path: '/ui/navigation',
    summary: "The navigation entries of the modules serving the caller's tenant that the caller may see",
    role: 'viewer',
    action: 'ui.navigation',
    changes: false,
    response: responses.navigation,
    // The caller's own tenant unless they ask for another: a view of what they use, allowed to any role they hold there.
    scope: (c) => c.query.tenant ?? c.callerTenant,
    async run({ host, tenant, canSee }) {
      const entries: { module: string; label: string; path: string; order?: number; icon?: string }[] = [];
      for (const m of (await host.status()).modules) {
        if (!m.active || !host.isEnabled(m.name, tenant)) continue;
        const def = await host.registry.getDefinition(m.name, m.version);
        for (const n of def?.ui?.navigation ?? []) {
          if (n.permission !== undefined && !canSee(m.name, n.permission)) continue;
          entries.push({
            module: m.name,
            label: n.label,
            path: n.path,
            ...(n.order !== undefined ? { order: n.order } : {}),
            ...(n.icon ? { icon: n.icon } : {}),
          });
        }
      }
      entries.sort((a, b) => (a.order ?? 0) - (b.order ?? 0) || a.label.localeCompare(b.label));
      return { body: { entries } };
    },
  },
  {
    method: 'POST',
    path: '/tenants/apply',
    summary: 'Set the enabled modules and config of many tenants at once (dryRun first); rolls back on failure',
    role: 'admin',
    action: 'tenants.apply',
    changes: true,
    body: tenantsApplyBody,
    response: responses.tenantsApply,
    scope: hostWide,
    async run({ host, body }) {
      if (!host.tenants) throw new ModhostError('INVALID_ARGUMENT', 'this host has no tenant migration (host.tenants)', { details: { argument: 'host' } });
      const { changes, dryRun } = body as z.infer<typeof tenantsApplyBody>;
      const report = await host.tenants.apply(changes, { dryRun: dryRun ?? false });
      return { body: report, before: null, after: dryRun ? null : report };
    },
  },
];

/**
 * An upgrade or a rollback: its answer says what serves after it (built once the change is done, so never
 * `UPDATING`); an outcome other than `ok` is a 422 with the reason.
 */
async function swap(host: ManagementHost, name: string, ok: readonly string[], change: (name: string) => Promise<ChangeReport>): Promise<Outcome> {
  const before = (await find(host, name)).version;
  const report = await change(name);
  if (!ok.includes(report.outcome)) throw refusedError(name, report);
  const m = await find(host, name);
  const status = registryStatus(m, undefined, servesView(host, name, undefined));
  return { body: { outcome: report.outcome, from: before, to: m.version, status }, before, after: m.version };
}

/** A refused upgrade or rollback as an error the API answers 422, with its reason and the resolver's explanation. */
function refusedError(name: string, report: { outcome: string; error?: unknown; explanation?: string }): ModhostError {
  const e = report.error as { code?: string; message?: string } | undefined;
  const code = e?.code !== undefined && e.code in ErrorCode ? (e.code as ErrorCode) : 'VERSION_REJECTED';
  const why = [e?.message, report.explanation].filter((x) => x !== undefined && x !== '').join('\n');
  return new ModhostError(code as 'VERSION_REJECTED', `${name}: ${report.outcome}${why ? `: ${why}` : ''}`, {
    details: { module: name, version: '' },
  });
}
