// What the admin console shows of one module beyond its status: what it contributes (routes, jobs, migrations), what
// it may do (permissions), the JSON Schema of its config, and what each registered version changed.
import { readHistory } from '@modhost/activation';
import { type ModuleManifest, type StorageAdapter, systemClock } from '@modhost/core';
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
      schema: definition?.config ? configJsonSchema(definition.config.schema) : null,
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
