import { ModhostError } from '@modhost/core';
import semver from 'semver';
import { type Catalog, createCatalog, edgeAllows, edgeMaskBig, parseRange, rangeMask, versionCount } from './catalog.js';
import type { ExplanationNode, RangeNames } from './explain.js';
import { probeFailure, rangeFailure, simpleFailure, solverFailure } from './failures.js';
import { fastPath, leftOutEdges } from './fast-path.js';
import { findCycles, type IndexGraph } from './graph.js';
import { createPlan } from './plan.js';
import { type RootDependency, type SolverStats, solve } from './pubgrub.js';
import type { CycleReport, ResolveFailure, ResolveInput, ResolveNote, ResolveResult, ResolveSuccess, RootRequest } from './resolve-types.js';
import { orderSelection, selectionGraph } from './selection-order.js';

export type { CycleReport, ResolveFailure, ResolveInput, ResolveNote, ResolveResult, ResolveSuccess, RootRequest } from './resolve-types.js';

const isCatalog = (x: unknown): x is Catalog => typeof x === 'object' && x !== null && (x as Catalog).versionStart instanceof Int32Array;

/**
 * Chooses a version of every module that must run and plans their activation.
 *
 * @example
 * ```ts
 * const result = resolve({
 *   host: '2.4.0',
 *   roots: { billing: '^1.0.0' },
 *   catalog: [
 *     { name: 'billing', version: '1.4.0', dependencies: { 'core-auth': '^1.3.0' } },
 *     { name: 'core-auth', version: '1.3.2' },
 *   ],
 * })
 * if (result.ok) console.log(result.plan.order) // ['core-auth', 'billing']
 * else console.log(result.explanation.text)
 * ```
 */
export function resolve(input: ResolveInput): ResolveResult {
  return resolveWith(input, true);
}

function resolveWith(input: ResolveInput, withHints: boolean): ResolveResult {
  const c = isCatalog(input.catalog) ? input.catalog : createCatalog(input.catalog);
  const rootList: RootRequest[] = Array.isArray(input.roots)
    ? [...(input.roots as readonly RootRequest[])]
    : Object.entries(input.roots as Record<string, string>).map(([name, range]) => ({ name, range }));

  const hostVersion = input.host === undefined ? undefined : semver.parse(input.host);
  if (input.host !== undefined && !hostVersion) {
    return simpleFailure('RANGE_INVALID', `the host version ${JSON.stringify(input.host)} is not a valid semver version; pass e.g. "2.4.0"`, {});
  }
  // Only a resolve with a host version needs the per-version cache (300,000 entries on a large catalog).
  const hostCache = hostVersion ? new Int8Array(c.versions.length) : undefined;
  const hostAllows = (gv: number) => {
    if (!hostVersion || !hostCache) return true;
    const r = c.hostRange[gv] as number;
    if (r < 0) return true;
    if (hostCache[gv] === 0) hostCache[gv] = (parseRange(c.ranges[r] as string) as semver.Range).test(hostVersion) ? 1 : 2;
    return hostCache[gv] === 1;
  };

  // Roots: parse ranges (an invalid one is an error, never "no match") and find the modules.
  const roots: RootDependency[] = [];
  const rangeNames: RangeNames = new Map();
  const nameRange = (pkg: number, mask: bigint, text: string) => {
    const m = rangeNames.get(pkg) ?? new Map<bigint, string>();
    if (!m.has(mask)) m.set(mask, text);
    rangeNames.set(pkg, m);
  };
  for (const r of rootList) {
    const range = r.range ?? '*';
    const parsed = parseRange(range);
    if (parsed instanceof Error) {
      return simpleFailure(
        'RANGE_INVALID',
        `the range ${JSON.stringify(range)} for root module "${r.name}"${r.source ? ` (${r.source})` : ''} is invalid: ${parsed.message}`,
        {
          module: r.name,
          field: 'root',
          range,
        },
      );
    }
    const pkg = c.indexOf.get(r.name);
    if (pkg === undefined || c.registered[pkg] === 0) {
      return simpleFailure(
        'MODULE_NOT_FOUND',
        `the host requires ${r.name} ${range}${r.source ? ` (${r.source})` : ''}, but no module named ${r.name} is registered`,
        {
          module: r.name,
          range,
        },
      );
    }
    const mask = rangeMask(c, pkg, parsed);
    roots.push({ pkg, mask, range, source: r.source ?? '' });
  }
  // Same roots in any order give the same result: order them by module (catalog index = name order).
  const byModule = roots.map((r, i) => [r, rootList[i] as RootRequest] as const).sort((a, b) => a[0].pkg - b[0].pkg);
  roots.splice(0, roots.length, ...byModule.map(([r]) => r));
  rootList.splice(0, rootList.length, ...byModule.map(([, q]) => q));
  const preferredEntries = Object.entries(input.preferred ?? {});
  const preferred = preferredEntries.length > 0 ? new Int32Array(c.names.length).fill(-1) : undefined;
  for (const [name, version] of preferredEntries) {
    const m = c.indexOf.get(name);
    if (m === undefined) continue;
    const start = c.versionStart[m] as number;
    for (let i = 0; i < versionCount(c, m); i++) if (c.versions[start + i] === version) (preferred as Int32Array)[m] = i;
  }

  const fast = fastPath(c, roots, hostVersion ? hostAllows : undefined, preferred);
  if (!fast.ok && fast.rangeIssues) return rangeFailure(fast.rangeIssues);
  let selection: Int32Array;
  let strategy: 'fast-path' | 'solver' = 'fast-path';
  let stats: SolverStats | undefined;
  const promoted = new Set<number>();
  if (fast.ok) {
    selection = fast.selection;
  } else {
    strategy = 'solver';
    // The fast path runs again to say which requirement led to the conflict (only a failure pays for that).
    const parent = fast.conflict ? fastPath(c, roots, hostVersion ? hostAllows : undefined, preferred, true) : undefined;
    const focus = fast.conflict && parent && !parent.ok && parent.parent ? conflictPaths(c, parent.parent, fast.conflict) : undefined;
    const solved = solve({ catalog: c, roots, hostAllows, host: input.host ?? '', ...(preferred ? { preferred } : {}), ...(focus ? { focus } : {}) });
    stats = solved.stats;
    if (!solved.ok) {
      if ('rangeIssues' in solved) return rangeFailure(solved.rangeIssues);
      if (!withHints) return probeFailure;
      for (const r of roots) nameRange(r.pkg, r.mask, r.range);
      return solverFailure(c, input, rootList, solved.failure, rangeNames, (relaxed) => resolveWith(relaxed, false));
    }
    selection = solved.selection;
    includeOptional(c, roots, hostAllows, input.host ?? '', selection, promoted);
  }
  return finish(c, selection, strategy, stats, fast.ok ? fast : undefined);
}

/**
 * The conflict modules and the chain of requirements that led the fast path to each, up to a root:
 * where a conflict's explanation lives, so the solver decides them first.
 */
function conflictPaths(c: Catalog, parent: Int32Array, conflict: readonly number[]): Uint8Array {
  const focus = new Uint8Array(c.names.length);
  for (const start of conflict) {
    for (let m = start; m >= 0 && focus[m] === 0; m = parent[m] as number) focus[m] = 1;
  }
  return focus;
}

/** Greedily adds optional dependencies that can be met, re-solving with each promoted to required. */
function includeOptional(
  c: Catalog,
  roots: readonly RootDependency[],
  hostAllows: (gv: number) => boolean,
  host: string,
  selection: Int32Array,
  promoted: Set<number>,
): void {
  const tried = new Set<number>();
  for (let changed = true; changed; ) {
    changed = false;
    for (let m = 0; m < selection.length; m++) {
      if ((selection[m] as number) < 0) continue;
      const gv = (c.versionStart[m] as number) + (selection[m] as number);
      for (let e = c.depStart[gv] as number; e < (c.depEnd[gv] as number); e++) {
        if (c.depOptional[e] === 0 || tried.has(e)) continue;
        tried.add(e);
        const t = c.depTo[e] as number;
        if ((selection[t] as number) >= 0 && edgeAllows(c, e, selection[t] as number)) continue;
        if (c.registered[t] === 0 || edgeMaskBig(c, e) === 0n) continue;
        const attempt = solve({ catalog: c, roots, hostAllows, host, preferred: selection, promoted: new Set([...promoted, e]) });
        if (attempt.ok) {
          promoted.add(e);
          selection.set(attempt.selection);
          changed = true;
        }
      }
    }
  }
}

function finish(
  c: Catalog,
  selection: Int32Array,
  strategy: 'fast-path' | 'solver',
  stats: SolverStats | undefined,
  found?: { readonly leftOut: readonly number[]; readonly span: Int32Array },
): ResolveResult {
  // Plan nodes are catalog module indices, which are in name order: waves come out sorted by name.
  const M = c.names.length;
  const leftOut = found?.leftOut ?? leftOutEdges(c, selection);
  const selected = (m: number) => (selection[m] as number) >= 0;
  const versionOf = (m: number) => c.versions[(c.versionStart[m] as number) + (selection[m] as number)] as string;
  const notes: ResolveNote[] = [];
  // The plan's edges are the catalog's edges of the selected versions, less the optional ones left out.
  let skip: Uint8Array | undefined;
  for (let k = 0; k < leftOut.length; k += 2) {
    const m = leftOut[k] as number;
    const e = leftOut[k + 1] as number;
    const t = c.depTo[e] as number;
    notes.push(leftOutNote(c, e, t, selection[t] as number, c.names[m] as string, versionOf(m)));
    skip ??= new Uint8Array(c.depTo.length);
    skip[e] = 1;
  }
  // The forward graph is only needed for per-module dependency lists, dependents and cycle reports.
  let forward: IndexGraph | undefined;
  const graph = () => (forward ??= selectionGraph(c, selection, skip));
  const ordered = orderSelection(c, selection, skip, graph, found?.span);
  const names = c.names;
  const plan = createPlan(graph, names, versionOf, ordered);
  const selectedCount = ordered.selected;
  // A 100,000-key object is costly to build: make it on first read.
  const record = (keep: (i: number) => boolean) => {
    let built: Record<string, string> | undefined;
    return () => {
      if (!built) {
        built = {};
        for (let i = 0; i < M; i++) if (selected(i) && keep(i)) built[names[i] as string] = versionOf(i);
      }
      return built;
    };
  };
  if (ordered.ordered === selectedCount) {
    const result = { ok: true as const, plan, notes, strategy, ...(stats ? { stats } : {}) };
    return withLazy(
      result,
      'selection',
      record(() => true),
    ) as ResolveSuccess;
  }
  // Cycles: report each exactly, block what depends on them, plan the rest.
  const edgeBetween = (i: number, j: number) => {
    const gv = (c.versionStart[i] as number) + (selection[i] as number);
    for (let e = c.depStart[gv] as number; e < (c.depEnd[gv] as number); e++) if (c.depTo[e] === j) return e;
    return -1;
  };
  const cycles: CycleReport[] = findCycles(graph(), ordered.wave).map(({ members, cycle, exact }) => ({
    modules: members.map((i) => names[i] as string),
    shortest: exact,
    path: cycle.map((i, k) => {
      const j = cycle[(k + 1) % cycle.length] as number;
      const e = edgeBetween(i, j);
      return {
        module: names[i] as string,
        version: versionOf(i),
        dependsOn: names[j] as string,
        range: c.ranges[c.depRange[e] as number] as string,
        field: c.depOptional[e] ? 'optionalDependencies' : 'dependencies',
      };
    }),
  }));
  const inCycle = new Set(cycles.flatMap((cy) => cy.modules));
  const blocked = names.filter((n, i) => selected(i) && (ordered.wave[i] as number) < 0 && !inCycle.has(n));
  const lines = cycles.flatMap((cy, k) => [
    `${cycles.length > 1 ? `Cycle ${k + 1}: ` : ''}${cy.modules.length === 1 ? `${cy.modules[0]} depends on itself` : `${cy.modules.join(', ')} depend on each other`}, so none of them can start first. The shortest cycle:`,
    ...cy.path.map(
      (s) => `  ${s.module} ${s.version} ${s.field === 'optionalDependencies' ? 'optionally depends on' : 'depends on'} ${s.dependsOn} ${s.range}`,
    ),
  ]);
  if (blocked.length > 0) lines.push(`Blocked because they depend on a cycle: ${blocked.join(', ')}.`);
  lines.push(`Everything else (${ordered.ordered} module${ordered.ordered === 1 ? '' : 's'}) can still activate.`);
  const text = lines.join('\n');
  const nodesOut: Record<number, ExplanationNode> = { 0: { id: 0, text: 'dependency cycle', kind: 'derived' } };
  const error = new ModhostError('DEPENDENCY_CYCLE', `${text}\nBreak the cycle: usually by moving what the modules share into a module they both depend on.`, {
    details: { cycles, blocked },
  });
  return {
    ok: false,
    error,
    explanation: { text, lines, tree: { root: 0, nodes: nodesOut } },
    hints: [
      'Break each cycle: move what the modules in it share into a new module they all depend on, or make one of the edges an optional dependency resolved at runtime.',
    ],
    cycles,
    partial: withLazy(
      { plan, blocked },
      'selection',
      record((i) => (ordered.wave[i] as number) >= 0),
    ) as NonNullable<ResolveFailure['partial']>,
  };
}

/** Adds an enumerable property computed on first read (JSON and spreading still see it). */
function withLazy<T extends object, K extends string, V>(target: T, key: K, get: () => V): T & Record<K, V> {
  Object.defineProperty(target, key, { enumerable: true, get });
  return target as T & Record<K, V>;
}

function leftOutNote(c: Catalog, e: number, t: number, sel: number, name: string, version: string): ResolveNote {
  const range = c.ranges[c.depRange[e] as number] as string;
  const dep = c.names[t] as string;
  const why =
    c.registered[t] === 0
      ? `no module named ${dep} is registered`
      : sel >= 0
        ? `${dep} ${c.versions[(c.versionStart[t] as number) + sel]} was chosen for the modules that require it`
        : `no version of ${dep} matching ${range} fits with the rest`;
  return {
    kind: 'optional-left-out',
    module: name,
    version,
    dependency: dep,
    range,
    message: `${name} ${version} runs without its optional dependency ${dep} ${range}: ${why}`,
  };
}
