import type { Issue } from './errors.js';
import { cloneData, FORBIDDEN_KEYS, findNonJsonData, isPlainObject } from './safe-data.js';
import type { StandardSchemaIssue, StandardSchemaV1 } from './standard-schema.js';

/** What a masked value reads as. */
export const REDACTED = '[redacted]';

/** A config layer: JSON data, keyed by field. */
export type ConfigValues = Record<string, unknown>;

/**
 * Merges config layers left to right: later layers win; plain objects merge key by key,
 * anything else (arrays included) replaces. Forbidden keys are never copied.
 */
export function mergeConfig(...layers: readonly (ConfigValues | undefined)[]): ConfigValues {
  let out: ConfigValues = {};
  for (const layer of layers) if (layer) out = mergeTwo(out, layer);
  return out;
}

function mergeTwo(base: ConfigValues, over: ConfigValues): ConfigValues {
  const out: ConfigValues = { ...base };
  for (const key of Object.keys(over)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    const a = out[key];
    const b = over[key];
    out[key] = isPlainObject(a) && isPlainObject(b) ? mergeTwo(a, b) : cloneData(b);
  }
  return out;
}

/** Reads a dotted path; `undefined` when any step is missing. */
function getPath(value: unknown, path: string): unknown {
  let node = value;
  for (const seg of path.split('.')) {
    if (!isPlainObject(node) || !Object.hasOwn(node, seg)) return undefined;
    node = node[seg];
  }
  return node;
}

/** A copy of `values` with every sensitive path that holds a value replaced by {@link REDACTED}. */
export function maskConfig<T>(values: T, sensitive: readonly string[]): T {
  if (sensitive.length === 0 || !isPlainObject(values)) return values;
  const out = cloneData(values) as ConfigValues;
  for (const path of sensitive) {
    const segs = path.split('.');
    let node: unknown = out;
    for (let i = 0; i < segs.length - 1 && isPlainObject(node); i++) node = (node as ConfigValues)[segs[i] as string];
    const last = segs[segs.length - 1] as string;
    if (isPlainObject(node) && Object.hasOwn(node, last) && node[last] !== undefined) node[last] = REDACTED;
  }
  return out as T;
}

/** Every string or number held at (or under) a sensitive path, so messages can be scrubbed of them. */
export function sensitiveStrings(layers: readonly unknown[], sensitive: readonly string[]): string[] {
  const found = new Set<string>();
  const visit = (v: unknown) => {
    if (typeof v === 'string' && v.length > 0) found.add(v);
    else if (typeof v === 'number' || typeof v === 'boolean') found.add(String(v));
    else if (Array.isArray(v)) v.forEach(visit);
    else if (isPlainObject(v)) Object.values(v).forEach(visit);
  };
  for (const layer of layers) for (const path of sensitive) visit(getPath(layer, path));
  // Longest first so a secret that contains another is removed whole.
  return [...found].sort((a, b) => b.length - a.length);
}

/** Removes every secret from a message. */
export function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) if (s.length >= 3 || /^[^\d]/.test(s)) out = out.split(s).join(REDACTED);
  return out;
}

/** Checks that a config layer is JSON data without prototype-polluting keys. */
export function checkConfigData(values: unknown): Issue[] {
  if (!isPlainObject(values)) return [{ path: [], message: 'config values must be a plain object' }];
  return findNonJsonData(values);
}

/** The outcome of validating config with a module's schema. */
export type SchemaOutcome = { ok: true; value: unknown } | { ok: false; issues: Issue[] };

/**
 * Validates merged config with a Standard Schema. Issues under sensitive paths get a
 * neutral message, and every sensitive value is scrubbed from all messages.
 */
export async function validateConfig(
  schema: StandardSchemaV1,
  merged: ConfigValues,
  sensitive: readonly string[],
  secrets: readonly string[],
): Promise<SchemaOutcome> {
  let result: Awaited<ReturnType<StandardSchemaV1['~standard']['validate']>>;
  try {
    result = await schema['~standard'].validate(merged);
  } catch (e) {
    return { ok: false, issues: [{ path: [], message: scrub(`the config schema threw: ${e instanceof Error ? e.message : String(e)}`, secrets) }] };
  }
  if (!result.issues) return { ok: true, value: result.value };
  return {
    ok: false,
    issues: result.issues.map((issue) => {
      const path = issuePath(issue);
      const dotted = path.join('.');
      const underSensitive = sensitive.some((s) => dotted === s || dotted.startsWith(`${s}.`) || s.startsWith(`${dotted}.`));
      return { path, message: underSensitive ? 'invalid value (details withheld: sensitive field)' : scrub(issue.message, secrets) };
    }),
  };
}

function issuePath(issue: StandardSchemaIssue): (string | number)[] {
  return (issue.path ?? []).map((seg) => {
    const key = typeof seg === 'object' && seg !== null ? seg.key : seg;
    return typeof key === 'number' ? key : String(key);
  });
}
