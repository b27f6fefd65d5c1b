// What the admin console shows of one module beyond its status: what it contributes (routes, jobs, migrations), what
// it may do (permissions), the JSON Schema of its config, and what each registered version changed.
import { readHistory } from '@modhost/activation';
import { type ModuleManifest, maskConfig, type StorageAdapter, systemClock } from '@modhost/core';
import { z } from 'zod';
import type { ManagementHost } from './management-types.js';
import { find } from './management-view.js';

type JsonSchema = Record<string, unknown>;

/**
 * The input JSON Schema of a module's config: from a schema that implements Standard JSON Schema, else (zod, which
 * folder modules' JSON Schema config becomes too) zod's own converter; `null` when neither can say.
 */
function configJsonSchema(schema: unknown): JsonSchema | null {
  const standard = (schema as { '~standard'?: { vendor?: string; jsonSchema?: { input?: (o: { target: string }) => unknown } } } | undefined)?.['~standard'];
  try {
    const viaStandard = standard?.jsonSchema?.input?.({ target: 'draft-2020-12' });
    if (viaStandard && typeof viaStandard === 'object') return viaStandard as JsonSchema;
  } catch {
    // Not every schema can be written as JSON Schema (a transform, say): try the next way.
  }
  if (standard?.vendor !== 'zod') return null;
  try {
    return z.toJSONSchema(schema as z.ZodType, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as JsonSchema;
  } catch {
    return null;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
// Keywords that hold values of the data itself: at a sensitive path they would tell its secret.
const VALUE_KEYWORDS = new Set(['default', 'examples', 'const', 'enum']);
// Keywords whose subschemas describe the same value as their parent.
const SAME_VALUE = new Set(['anyOf', 'oneOf', 'allOf', 'not', 'if', 'then', 'else']);
// Keywords whose subschemas describe values at places a dotted path cannot name (array items, any key, a $ref target).
const ELSEWHERE = new Set(['items', 'prefixItems', 'additionalProperties', 'patternProperties', '$defs', 'definitions']);

/**
 * A config JSON Schema without the values it holds at sensitive paths: there a `default` (zod's `.default()`),
 * `examples`, `const` or `enum` is removed, and above them an object's `default` has its sensitive fields masked, as
 * the config values are. Subschemas whose place a path cannot name (array items, records, `$defs`) lose their values
 * when anything there may be sensitive.
 */
function withoutSecrets(schema: JsonSchema, sensitive: readonly string[]): JsonSchema {
  if (sensitive.length === 0) return schema;
  const paths = sensitive.map((p) => p.split('.'));
  // `at` undefined: a subschema whose place in the config is unknown, so treated as sensitive.
  const visit = (node: unknown, at: readonly string[] | undefined): unknown => {
    if (Array.isArray(node)) return node.map((n) => visit(n, at));
    if (!isObject(node)) return node;
    const secret = at === undefined || paths.some((p) => p.length <= at.length && p.every((seg, i) => seg === at[i]));
    const below = secret ? [] : paths.filter((p) => p.length > at.length && at.every((seg, i) => seg === p[i])).map((p) => p.slice(at.length).join('.'));
    const mask = (v: unknown) => maskConfig(v, below);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      if (VALUE_KEYWORDS.has(k)) {
        if (!secret) out[k] = below.length === 0 ? v : (k === 'examples' || k === 'enum') && Array.isArray(v) ? v.map(mask) : mask(v);
      } else if (k === 'properties' && isObject(v) && at !== undefined)
        out[k] = Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, visit(sub, [...at, name])]));
      else if (SAME_VALUE.has(k)) out[k] = visit(v, at);
      else if (ELSEWHERE.has(k) && (secret || below.length > 0 || k === '$defs' || k === 'definitions'))
        out[k] =
          isObject(v) && k !== 'items' && k !== 'additionalProperties'
            ? Object.fromEntries(Object.entries(v).map(([n, sub]) => [n, visit(sub, undefined)]))
            : visit(v, undefined);
      else
        out[k] =
          k === 'properties' && at === undefined && isObject(v) ? Object.fromEntries(Object.entries(v).map(([n, sub]) => [n, visit(sub, undefined)])) : v;
    }
    return out;
  };
  return visit(schema, []) as JsonSchema;
}

const redactedSchema = (schema: JsonSchema | null, sensitive: readonly string[]) => (schema === null ? null : withoutSecrets(schema, sensitive));
const keys = (o: Readonly<Record<string, unknown>> | undefined) => Object.keys(o ?? {});
const routeKey = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

/** What a version changed against the one registered before it, as short sentences (`+ route GET /x`). */
function manifestChanges(before: ModuleManifest | undefined, after: ModuleManifest): string[] {
  if (!before) return ['first registered version'];
  const out: string[] = [];
  const diff = (what: string, a: readonly string[], b: readonly string[]) => {
    for (const x of b) if (!a.includes(x)) out.push(`+ ${what} ${x}`);
    for (const x of a) if (!b.includes(x)) out.push(`− ${what} ${x}`);
  };
  diff('permission', before.permissions, after.permissions);
  diff('route', before.routes.map(routeKey), after.routes.map(routeKey));
  diff(
    'job',
    before.jobs.map((j) => j.name),
    after.jobs.map((j) => j.name),
  );
  diff(
    'migration',
    before.migrations.map((m) => m.name),
    after.migrations.map((m) => m.name),
  );
  const deps = (m: ModuleManifest) => Object.entries(m.dependencies).map(([n, r]) => `${n}@${r}`);
  diff('dependency', deps(before), deps(after));
  diff('config key', keys(before.config?.defaults), keys(after.config?.defaults));
  if (before.stateMode !== after.stateMode) out.push(`state mode ${before.stateMode} → ${after.stateMode}`);
  if ((before.description ?? '') !== (after.description ?? '')) out.push('description changed');
  if (out.length === 0) out.push('no change to its manifest (code only)');
  return out;
}

/** Everything `GET /modules/:name/inspect` answers. */
export async function inspectModule(host: ManagementHost, name: string, tenant: string | undefined, storage: StorageAdapter | undefined) {
  const status = await find(host, name);
  const record = await host.registry.getModule(name);
  const manifests: ModuleManifest[] = [];
  for (const v of record?.versions ?? []) {
    const r = await host.registry.get(name, v);
    if (r) manifests.push(r.manifest);
  }
  const manifest = manifests.find((m) => m.version === status.version) ?? manifests.at(-1);
  const definition = host.registry.getDefinition(name, status.version);
  const applied = storage
    ? (await readHistory({ storage, namespace: host.namespace ?? 'modhost', clock: systemClock, owner: 'admin-console' }, name)).applied
    : undefined;
  const cells = host.sandbox?.grants.cells(name, tenant) ?? [];
  const requested = manifest?.permissions ?? [];
  const granted = new Set(cells.filter((c) => c.active).map((c) => c.permission.text));
  const uses = new Map(cells.map((c) => [c.permission.text, c.usage.count]));
  const dependents: { name: string; range: string }[] = [];
  for (const m of (await host.status()).modules) {
    if (m.name === name) continue;
    const range = (await host.registry.get(m.name, m.version))?.manifest.dependencies[name];
    if (range !== undefined) dependents.push({ name: m.name, range });
  }
  const config = await host.registry.getConfig(name, tenant ? { tenant } : {});
  // Paths sensitive in any registered version are masked in all of them, as the registry masks the values.
  const sensitive = [...new Set(manifests.flatMap((m) => m.config?.sensitive ?? []))];
  const monitor = status.monitor;
  return {
    name,
    version: status.version,
    ...(manifest?.displayName ? { displayName: manifest.displayName } : {}),
    ...(manifest?.description ? { description: manifest.description } : {}),
    stateMode: manifest?.stateMode ?? 'stateless',
    dependencies: manifest?.dependencies ?? {},
    dependents,
    routes: (manifest?.routes ?? []).map((r) => ({ method: r.method, path: r.path, ...(r.permission ? { permission: r.permission } : {}) })),
    jobs: (manifest?.jobs ?? []).map((j) => ({ name: j.name, schedule: typeof j.schedule === 'string' ? j.schedule : `every ${j.schedule.everyMs} ms` })),
    migrations: {
      declared: manifest?.migrations ?? [],
      applied: applied?.map((a) => ({ name: a.name, batch: a.batch, version: a.version, at: a.at })) ?? null,
    },
    permissions: {
      requested: requested.length,
      granted: requested.filter((p) => granted.has(p)).length,
      denied: requested.filter((p) => !granted.has(p)).length,
      list: requested.map((p) => ({ permission: p, granted: granted.has(p), uses: uses.get(p) ?? 0 })),
    },
    config: {
      schema: definition?.config ? redactedSchema(configJsonSchema(definition.config.schema), sensitive) : null,
      sensitive: manifest?.config?.sensitive ?? [],
      presets: keys(manifest?.config?.presets),
      values: config.values,
      layers: { host: config.layers.host, tenant: config.layers.tenant },
    },
    versions: manifests.map((m, i) => ({
      version: m.version,
      ...(m.description ? { description: m.description } : {}),
      changes: manifestChanges(manifests[i - 1], m),
    })),
    health: {
      status: status.health.status,
      ...(status.health.detail ? { detail: status.health.detail } : {}),
      history: (monitor?.history ?? []).map((h) => ({ at: h.at, status: h.status, ...(h.detail ? { detail: h.detail } : {}) })),
    },
    // The activator moves traffic in steps only for stateless modules that serve routes.
    canary: (manifest?.stateMode ?? 'stateless') === 'stateless' && (manifest?.routes.length ?? 0) > 0,
  };
}
