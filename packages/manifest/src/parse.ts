import { type Issue, ModhostError, type StandardSchemaV1, type ValidationResult } from '@modhost/core';
import { findForbiddenKeys } from '@modhost/core/internal';
import { z } from 'zod';
import { type ConfigJsonSchema, type Manifest, manifestSchema } from './schema.js';

/**
 * Parses a `modhost.json` (text or an already parsed value). Returns the manifest with defaults, or every
 * problem with its JSON path; never throws. Prototype-polluting keys are refused anywhere, and so is nesting
 * deeper than 64 levels, before the schema sees the input.
 */
export function parseManifest(input: unknown): ValidationResult<Manifest> {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (e) {
      return { ok: false, issues: [{ path: [], message: `not JSON: ${e instanceof Error ? e.message : String(e)}` }] };
    }
  }
  const forbidden = findForbiddenKeys(value);
  if (forbidden.length > 0) return { ok: false, issues: forbidden };
  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success) {
    const issues: Issue[] = [];
    for (const i of parsed.error.issues) {
      const path = i.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      // One issue per unknown key, at the key's own path, so editors and CI point at the right line.
      if (i.code === 'unrecognized_keys') for (const key of i.keys) issues.push({ path: [...path, key], message: `unknown field "${key}"` });
      // A bad record key says what a key must be (zod's own message is only "Invalid key in record").
      else if (i.code === 'invalid_key') issues.push({ path, message: `"${String(path.at(-1))}": ${i.issues[0]?.message ?? i.message}` });
      else issues.push({ path, message: i.message });
    }
    return { ok: false, issues };
  }
  const m = parsed.data;
  const issues: Issue[] = [];
  const seen = new Set<string>();
  (m.routes ?? []).forEach((r, i) => {
    const key = `${r.method} ${r.path}`;
    if (seen.has(key)) issues.push({ path: ['routes', i], message: `route ${key} is listed twice` });
    seen.add(key);
  });
  for (const field of ['dependencies', 'optionalDependencies'] as const) {
    if (m[field] && Object.hasOwn(m[field], m.name)) issues.push({ path: [field, m.name], message: 'a module cannot depend on itself' });
  }
  const tags = new Set<string>();
  (m.metadata?.tags ?? []).forEach((t, i) => {
    if (tags.has(t)) issues.push({ path: ['metadata', 'tags', i], message: `tag "${t}" is listed twice` });
    tags.add(t);
  });
  const perms = new Set<string>();
  (m.permissions ?? []).forEach((p, i) => {
    if (perms.has(p)) issues.push({ path: ['permissions', i], message: `permission "${p}" is listed twice` });
    perms.add(p);
  });
  if (m.config) {
    const props = m.config.schema.properties ?? {};
    (m.config.sensitive ?? []).forEach((path, i) => {
      if (!Object.hasOwn(props, path.split('.')[0] ?? ''))
        issues.push({ path: ['config', 'sensitive', i], message: `"${path}" is not a property of config.schema` });
    });
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: m };
}

/** Like {@link parseManifest}, but throws `MANIFEST_INVALID` with every issue in `details.issues`. */
export function assertManifest(input: unknown, where = 'modhost.json'): Manifest {
  const r = parseManifest(input);
  if (r.ok) return r.value;
  const lines = r.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new ModhostError('MANIFEST_INVALID', `${where} is not a valid manifest:\n  - ${lines.join('\n  - ')}`, { details: { issues: r.issues, where } });
}

/**
 * Turns a manifest's config JSON Schema into a Standard Schema the registry validates config with (the
 * JSON Schema has already been limited to keywords that cannot loop or backtrack).
 */
export function configSchemaFromJson(schema: ConfigJsonSchema): StandardSchemaV1<Record<string, unknown>, Record<string, unknown>> {
  return z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]) as unknown as StandardSchemaV1<Record<string, unknown>, Record<string, unknown>>;
}

/** The JSON Schema of `modhost.json`, as committed at `docs/manifest.schema.json` and shipped as `@modhost/manifest/schema.json`. */
export function manifestJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(manifestSchema, { target: 'draft-2020-12', io: 'input' });
}
