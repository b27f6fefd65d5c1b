import { z } from 'zod';

const tenant = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a tenant id: 1–128 of letters, digits, ".", "_" or "-"')
  .describe('A tenant id');

/** `PUT /modules/:name/status`. */
export const statusBody = z.strictObject({ enabled: z.boolean(), tenant: tenant.optional() });
/** `PUT /modules/:name/config`: values to merge into the host's layer or a tenant's. */
export const configBody = z
  .strictObject({
    values: z.record(z.string(), z.json()).optional(),
    preset: z.string().min(1).max(100).optional().describe('A preset the module declares (config.presets), applied before `values`'),
    tenant: tenant.optional(),
  })
  .refine((b) => b.values !== undefined || b.preset !== undefined, { message: 'give values, a preset, or both', path: ['values'] });
/** `POST /modules/:name/config/rollback`: restore an earlier version of a layer. */
export const configRollbackBody = z.strictObject({ to: z.number().int().positive(), tenant: tenant.optional() });
/** `POST /modules/:name/upgrade`. */
export const upgradeBody = z.strictObject({
  version: z.string().min(1).max(256),
  canary: z
    .strictObject({ steps: z.array(z.number().min(0).max(100)).min(1).max(20), stepMs: z.number().int().positive().max(3_600_000) })
    .optional()
    .describe('Move traffic in steps (percent of request keys), each held for stepMs while health is probed; stateless modules with routes only'),
  rollbackWindowMs: z.number().int().nonnegative().max(86_400_000).optional(),
});
/** `POST /modules`: install from a folder the host may read. */
export const installBody = z.strictObject({ path: z.string().min(1).max(4096) });
/** `POST /modules/validate`: a manifest, checked without installing. */
export const validateBody = z.strictObject({ manifest: z.json() });
/** `POST /tenants/apply`. */
export const tenantsApplyBody = z.strictObject({ changes: z.json(), dryRun: z.boolean().optional() });

const problem = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    requestId: z.string(),
    code: z.string().optional(),
    hint: z.string().optional(),
  })
  .describe('An RFC 9457 problem document');

const status = z.enum(['REGISTERED', 'INSTALLING', 'ENABLED', 'DISABLED', 'UPDATING', 'REMOVING', 'FAILED']);
const health = z.object({ status: z.string(), detail: z.string().optional() });
const lastError = z.object({ code: z.string(), message: z.string(), phase: z.string().optional(), hint: z.string().optional() });

/** One module in `GET /modules`. */
const moduleSummary = z.object({
  name: z.string(),
  version: z.string(),
  status,
  state: z.string(),
  health,
  isolation: z.string(),
  lastError: lastError.optional(),
});

/** Response bodies, by what they answer. */
export const responses = {
  modules: z.object({
    tenant: z.string().nullable(),
    modules: z.array(moduleSummary),
    next: z.string().optional().describe('With ?limit=: the name to pass as ?after= for the next page, while more remain'),
  }),
  module: moduleSummary.extend({
    desiredVersion: z.string().nullable(),
    versions: z.array(
      z.object({
        version: z.string(),
        state: z.string(),
        rejected: z.boolean(),
        history: z.array(z.object({ from: z.string().nullable(), to: z.string(), at: z.number() })),
      }),
    ),
    access: z.enum(['host', 'tenants']),
    tenants: z.array(z.string()),
    config: z.object({ values: z.record(z.string(), z.unknown()), issues: z.array(z.unknown()) }),
    instances: z.array(z.object({ id: z.string(), alive: z.boolean(), version: z.string(), state: z.string() })),
    refused: z.object({ version: z.string(), code: z.string(), message: z.string() }).optional(),
  }),
  change: z.object({ module: z.string(), status: status.optional(), before: z.unknown(), after: z.unknown() }),
  upgrade: z.object({ outcome: z.string(), from: z.string().optional(), to: z.string().optional(), status }),
  validation: z.object({ ok: z.boolean(), issues: z.array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() })) }),
  plan: z.object({}).passthrough(),
  audit: z.object({
    records: z.array(
      z
        .object({
          seq: z.number(),
          at: z.number(),
          action: z.string(),
          module: z.string().optional(),
          tenant: z.string().optional(),
          outcome: z.string(),
          requestId: z.string(),
        })
        .passthrough(),
    ),
  }),
  navigation: z.object({
    entries: z.array(z.object({ module: z.string(), label: z.string(), path: z.string(), order: z.number().optional(), icon: z.string().optional() })),
  }),
  tenantsApply: z.unknown(),
  inspect: z.object({
    name: z.string(),
    version: z.string(),
    displayName: z.string().optional(),
    description: z.string().optional(),
    stateMode: z.string(),
    dependencies: z.record(z.string(), z.string()),
    dependents: z.array(z.object({ name: z.string(), range: z.string() })),
    routes: z.array(z.object({ method: z.string(), path: z.string(), permission: z.string().optional() })),
    jobs: z.array(z.object({ name: z.string(), schedule: z.string() })),
    migrations: z.object({
      declared: z.array(z.object({ name: z.string(), reversible: z.boolean() })),
      applied: z
        .array(z.object({ name: z.string(), batch: z.number(), version: z.string(), at: z.number() }))
        .nullable()
        .describe('null: the API has no storage to read'),
    }),
    permissions: z.object({
      requested: z.number(),
      granted: z.number(),
      denied: z.number(),
      list: z.array(z.object({ permission: z.string(), granted: z.boolean(), uses: z.number() })),
    }),
    config: z.object({
      schema: z.record(z.string(), z.unknown()).nullable().describe('The JSON Schema of the config (input), when the schema library can say'),
      sensitive: z.array(z.string()),
      presets: z.array(z.string()),
      values: z.record(z.string(), z.unknown()),
      layers: z.object({ host: z.record(z.string(), z.unknown()), tenant: z.record(z.string(), z.unknown()) }),
    }),
    versions: z.array(z.object({ version: z.string(), description: z.string().optional(), changes: z.array(z.string()) })),
    health: z.object({
      status: z.string(),
      detail: z.string().optional(),
      history: z.array(z.object({ at: z.number(), status: z.string(), detail: z.string().optional() })),
    }),
    canary: z.boolean().describe('Whether an upgrade may move traffic in canary steps (stateless modules with routes)'),
  }),
  graph: z.object({
    nodes: z.array(z.object({ name: z.string(), version: z.string().nullable(), state: z.string(), status: z.string(), wave: z.number() })),
    edges: z.array(z.object({ from: z.string(), to: z.string(), range: z.string(), optional: z.boolean() })),
    waves: z.array(z.array(z.string())),
    plan: z.object({ ok: z.boolean(), explanation: z.string().optional() }),
  }),
  tenants: z.object({
    tenants: z.array(
      z.object({
        tenant: z.string(),
        modules: z.array(z.object({ name: z.string(), enabled: z.boolean(), range: z.string().optional(), overrides: z.record(z.string(), z.unknown()) })),
      }),
    ),
  }),
  removed: z.object({ module: z.string(), removed: z.boolean() }),
  problem,
};
