import type { Plan } from '@modhost/resolver';
import { type CatalogEntry, resolve } from '@modhost/resolver';
import type { HostPlan } from './host-types.js';

/** A root that cannot resolve on its own, and why. */
interface SetAside {
  readonly name: string;
  readonly code: string;
  readonly message: string;
}

/** What can start: a plan for everything that resolves, and what was set aside. */
export type Runnable =
  | { readonly ok: true; readonly plan: Plan; readonly setAside: readonly SetAside[] }
  | { readonly ok: false; readonly setAside: readonly SetAside[] };

/**
 * The host's policy: resolve everything; if that fails, set aside each root that fails on its own, report why, and
 * start the rest. One broken module never keeps the others from starting.
 */
export function resolveRunnable(input: { host: string; catalog: readonly CatalogEntry[]; preferred: Record<string, string> }): Runnable {
  const { host, catalog, preferred } = input;
  const names = [...new Set(catalog.map((d) => d.name))];
  const all = (roots: readonly string[]) => resolve({ host, roots: Object.fromEntries(roots.map((n) => [n, '*'])), catalog: [...catalog], preferred });
  const first = all(names);
  if (first.ok) return { ok: true, plan: first.plan, setAside: [] };
  const setAside: SetAside[] = [];
  for (const n of names) {
    const alone = resolve({ host, roots: { [n]: '*' }, catalog: [...catalog] });
    if (!alone.ok) setAside.push({ name: n, code: alone.error.code, message: alone.explanation.text });
  }
  const rest = names.filter((n) => !setAside.some((s) => s.name === n));
  const second = all(rest);
  if (second.ok) return { ok: true, plan: second.plan, setAside };
  return { ok: false, setAside: [...setAside, { name: rest.join(', '), code: second.error.code, message: second.explanation.text }] };
}

/**
 * What a start or a rescan would do, from the catalog plus what the folders hold now (`pending`, read from their
 * manifests: no code runs). A folder's newer version is what a rescan would swap to, so it wins over what serves.
 */
export function previewPlan(input: {
  host: string;
  catalog: readonly CatalogEntry[];
  pending: readonly CatalogEntry[];
  serving: Record<string, string>;
}): HostPlan {
  const all = [...input.catalog, ...input.pending];
  const names = [...new Set(all.map((d) => d.name))];
  const preferred = { ...input.serving };
  for (const p of input.pending) delete preferred[p.name];
  const wanted = Object.fromEntries(names.map((n) => [n, input.pending.find((p) => p.name === n)?.version ?? '*']));
  const r = resolve({ host: input.host, roots: wanted, catalog: all, preferred });
  if (!r.ok) return { ok: false, start: [], upgrade: [], keep: [], explanation: r.explanation.text };
  const start: { name: string; version: string }[] = [];
  const upgrade: { name: string; from: string; to: string }[] = [];
  const keep: string[] = [];
  for (const name of r.plan.order) {
    const version = r.plan.versionOf(name) as string;
    const now = input.serving[name];
    if (now === undefined) start.push({ name, version });
    else if (now !== version) upgrade.push({ name, from: now, to: version });
    else keep.push(name);
  }
  return { ok: true, start, upgrade, keep, waves: r.plan.waves };
}
