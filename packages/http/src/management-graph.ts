// The dependency graph as the admin console draws it: modules in waves (a module's dependencies sit in earlier
// waves), edges with their ranges, and the resolver's explanation when the host's plan does not resolve.

import { isModhostError } from '@modhost/core';
import { statusOfCode } from './management-errors.js';
import { registryStatus } from './management-status.js';
import type { ManagementHost } from './management-types.js';
import { servesView } from './management-view.js';

/** One module in the graph; `missing` for a dependency no installed module provides. */
interface GraphNode {
  readonly name: string;
  readonly version: string | null;
  readonly state: string;
  readonly status: string;
  readonly wave: number;
}

/** Modules, edges (dependent → dependency), waves left to right, and the plan's verdict. */
export async function dependencyGraph(host: ManagementHost, tenant: string | undefined, busy: (name: string) => string | undefined) {
  const { modules } = await host.status();
  const deps = new Map<string, { to: string; range: string; optional: boolean }[]>();
  for (const m of modules) {
    const manifest = (await host.registry.get(m.name, m.version))?.manifest;
    deps.set(m.name, [
      ...Object.entries(manifest?.dependencies ?? {}).map(([to, range]) => ({ to, range, optional: false })),
      ...Object.entries(manifest?.optionalDependencies ?? {}).map(([to, range]) => ({ to, range, optional: true })),
    ]);
  }
  const installed = new Set(modules.map((m) => m.name));
  // Longest path to a leaf: a module sits one wave after its deepest dependency (a cycle is cut where it closes).
  const wave = new Map<string, number>();
  const waveOf = (name: string, path: Set<string>): number => {
    const known = wave.get(name);
    if (known !== undefined) return known;
    if (path.has(name) || !installed.has(name)) return 0;
    path.add(name);
    let w = 0;
    for (const d of deps.get(name) ?? []) if (installed.has(d.to) && !path.has(d.to)) w = Math.max(w, waveOf(d.to, path) + 1);
    path.delete(name);
    wave.set(name, w);
    return w;
  };
  const nodes: GraphNode[] = modules.map((m) => ({
    name: m.name,
    version: m.version,
    state: m.state,
    status: registryStatus(m, busy(m.name), servesView(host, m.name, tenant)),
    wave: waveOf(m.name, new Set()),
  }));
  const edges = [...deps.entries()].flatMap(([from, list]) => list.map((d) => ({ from, to: d.to, range: d.range, optional: d.optional })));
  for (const e of edges)
    if (!installed.has(e.to) && !nodes.some((n) => n.name === e.to)) nodes.push({ name: e.to, version: null, state: 'missing', status: 'MISSING', wave: 0 });
  const waves: string[][] = [];
  for (const n of [...nodes].sort((a, b) => a.name.localeCompare(b.name))) {
    waves[n.wave] ??= [];
    waves[n.wave]?.push(n.name);
  }
  let plan: { ok: boolean; explanation?: string };
  try {
    const p = (await host.plan()) as { ok?: boolean; explanation?: string };
    plan = { ok: p.ok !== false, ...(typeof p.explanation === 'string' ? { explanation: p.explanation } : {}) };
  } catch (error) {
    // Only a ModhostError below 500 is written for operators; anything else (a storage failure) may name a database and
    // its credentials, so the graph says only that there is no plan.
    const known = isModhostError(error) && statusOfCode(error.code) < 500;
    plan = { ok: false, explanation: known ? error.message : 'the plan could not be made' };
  }
  return { nodes, edges, waves: waves.map((w) => w ?? []), plan };
}
