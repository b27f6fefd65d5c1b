import { maskConfig, REDACTED } from './config.js';
import { ModhostError } from './errors.js';
import { KIND, type RegistryInternals } from './registry-internals.js';
import type { ImportResult, ModuleVersionRecord, RegistrySnapshot, SnapshotEntry } from './registry-types.js';
import { findNonJsonData, isPlainObject } from './safe-data.js';

const KINDS = new Set<string>(Object.values(KIND));
const kindOf: Record<string, string> = { v: KIND.version, m: KIND.module, t: KIND.tenant, c: KIND.config };

/** Exports every record under the registry's namespace. @internal */
export async function exportSnapshot(r: RegistryInternals, options: { includeSensitive?: boolean } = {}): Promise<RegistrySnapshot> {
  const keys = await r.store.keys();
  const entries: SnapshotEntry[] = [];
  for (const key of keys) {
    const segments = r.store.segments(key);
    const kind = kindOf[segments[0] as string];
    if (!kind) continue;
    const data = await r.store.read(key, kind);
    if (data !== undefined) entries.push({ key: segments, kind, data });
  }
  const redacted = !options.includeSensitive;
  if (redacted) {
    // A path marked sensitive in any version of a module is masked in all its config layers.
    const sensitive = new Map<string, Set<string>>();
    for (const e of entries) {
      if (e.kind !== KIND.version) continue;
      const v = e.data as ModuleVersionRecord;
      const set = sensitive.get(v.name) ?? new Set<string>();
      for (const p of v.manifest.config?.sensitive ?? []) set.add(p);
      sensitive.set(v.name, set);
    }
    for (const [i, e] of entries.entries()) {
      if (e.kind !== KIND.config) continue;
      const paths = [...(sensitive.get(e.key[1] as string) ?? [])];
      const doc = e.data as { versions: { values: Record<string, unknown> }[] };
      entries[i] = { ...e, data: { ...doc, versions: doc.versions.map((v) => ({ ...v, values: maskConfig(v.values, paths) })) } };
    }
  }
  return { format: 'modhost-snapshot', version: 1, namespace: r.store.namespace, exportedAt: r.clock.now(), redacted, entries };
}

/** Imports a snapshot into an empty namespace; every write is create-only. @internal */
export async function importSnapshot(r: RegistryInternals, input: unknown): Promise<ImportResult> {
  const snapshot = parseSnapshot(input);
  const existing = await r.store.keys();
  if (existing.length > 0) {
    throw new ModhostError(
      'SNAPSHOT_TARGET_NOT_EMPTY',
      `namespace "${r.store.namespace}" already holds ${existing.length} record(s); import into an empty storage or another namespace so nothing is overwritten`,
      { details: { namespace: r.store.namespace, records: existing.length } },
    );
  }
  for (const e of snapshot.entries) {
    const key = r.store.key(...e.key);
    // Create-only: if something appeared meanwhile, stop rather than overwrite it.
    await r.store.update(key, e.kind, (cur) => {
      if (cur !== undefined) {
        throw new ModhostError('SNAPSHOT_TARGET_NOT_EMPTY', `"${e.key.join(':')}" was written by someone else during the import; the import stopped`, {
          details: { key: e.key },
        });
      }
      return e.data;
    });
  }
  return { entries: snapshot.entries.length };
}

function parseSnapshot(input: unknown): RegistrySnapshot {
  const fail = (message: string, extra: Record<string, unknown> = {}) =>
    new ModhostError('SNAPSHOT_INVALID', `snapshot rejected: ${message}`, { details: extra });
  if (!isPlainObject(input) || input.format !== 'modhost-snapshot') throw fail('not a modhost snapshot (format must be "modhost-snapshot")');
  if (input.version !== 1) throw fail(`format version ${String(input.version)} is not supported by this modhost (it reads version 1)`);
  if (input.redacted !== false) {
    throw fail(
      'it was exported with sensitive values masked, so importing it would replace secrets with "[redacted]"; export with { includeSensitive: true } for a restorable backup',
    );
  }
  if (!Array.isArray(input.entries)) throw fail('entries must be an array');
  const issues = findNonJsonData(input.entries, ['entries']);
  input.entries.forEach((e, i) => {
    if (!isPlainObject(e)) {
      issues.push({ path: ['entries', i], message: 'must be an object { key, kind, data }' });
      return;
    }
    const key = e.key;
    if (!Array.isArray(key) || key.length < 2 || !key.every((s) => typeof s === 'string' && s.length > 0)) {
      issues.push({ path: ['entries', i, 'key'], message: 'must be an array of non-empty strings' });
    } else if (kindOf[key[0] as string] !== e.kind) {
      issues.push({ path: ['entries', i, 'kind'], message: `kind ${JSON.stringify(e.kind)} does not match key "${key.join(':')}"` });
    }
    if (typeof e.kind !== 'string' || !KINDS.has(e.kind)) issues.push({ path: ['entries', i, 'kind'], message: `unknown kind ${JSON.stringify(e.kind)}` });
    if (JSON.stringify(e.data)?.includes(JSON.stringify(REDACTED))) {
      issues.push({ path: ['entries', i, 'data'], message: 'holds a masked value; the snapshot was redacted' });
    }
  });
  if (issues.length > 0) {
    throw fail(
      `${issues.length} problem(s): ${issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
      { issues },
    );
  }
  return input as unknown as RegistrySnapshot;
}
