import { type Catalog, type RangeIssue, versionCount } from './catalog.js';
import type { RootDependency } from './pubgrub.js';

/** What the fast path found: a selection, or that it needs the full solver. */
/** A plan's edges in module-index space, with the counts Kahn's algorithm needs. @internal */
export interface PlanEdges {
  readonly from: Int32Array;
  readonly to: Int32Array;
  readonly length: number;
  /** Dependencies per module. */
  readonly degree: Int32Array;
  /** Dependents of module t counted at index t + 1 (ready for a prefix sum). */
  readonly dependentCounts: Int32Array;
  /** Optional edges left out, as (module, edge) pairs. */
  readonly leftOut: readonly number[];
}

/** Edge buffers sized for the catalog: the selected versions' edge ranges never overlap, so they all fit. */
function edgeBuffers(c: Catalog) {
  const M = c.names.length;
  return {
    from: new Int32Array(c.depTo.length),
    to: new Int32Array(c.depTo.length),
    degree: new Int32Array(M),
    dependentCounts: new Int32Array(M + 1),
    leftOut: [] as number[],
  };
}

/** Collects a plan's edges for a final selection: required edges, and optional ones whose target fits. @internal */
export function collectEdges(c: Catalog, selection: Int32Array): PlanEdges {
  const M = c.names.length;
  const { from, to, degree, dependentCounts, leftOut } = edgeBuffers(c);
  let n = 0;
  for (let m = 0; m < M; m++) {
    const sel = selection[m] as number;
    if (sel < 0) continue;
    const gv = (c.versionStart[m] as number) + sel;
    for (let e = c.depStart[gv] as number; e < (c.depEnd[gv] as number); e++) {
      const t = c.depTo[e] as number;
      const ts = selection[t] as number;
      if (c.depOptional[e] === 1 && (ts < 0 || (((c.maskWords[(c.depMask[e] as number) + (ts >> 5)] as number) >>> (ts & 31)) & 1) === 0)) {
        leftOut.push(m, e);
        continue;
      }
      from[n] = m;
      to[n++] = t;
      degree[m] = (degree[m] as number) + 1;
      dependentCounts[t + 1] = (dependentCounts[t + 1] as number) + 1;
    }
  }
  return { from, to, length: n, degree, dependentCounts, leftOut };
}

export type FastPathResult =
  | { readonly ok: true; readonly selection: Int32Array; readonly edges: PlanEdges }
  | {
      readonly ok: false;
      readonly rangeIssues?: readonly RangeIssue[];
      /** The modules at the unmet requirement, and the selection tried: the solver looks there first. */
      readonly conflict?: readonly number[];
      /** For each module the fast path selected, the module whose requirement selected it (-1 for roots). */
      readonly parent?: Int32Array;
    };

/**
 * Newest satisfying versions, chosen breadth-first from the roots and then checked in one pass.
 * Succeeds for the common case (a consistent catalog) in time linear in the reachable graph;
 * returns `ok: false` on the first unmet requirement, and the caller runs the full solver.
 * Optional dependencies are followed when they can be met; an optional edge the check rejects is
 * left out (the module runs without it), never a reason to fail.
 */
export function fastPath(c: Catalog, roots: readonly RootDependency[], hostAllows: (gv: number) => boolean, preferred: Int32Array | undefined): FastPathResult {
  const M = c.names.length;
  const selection = new Int32Array(M).fill(-1);
  const parent = new Int32Array(M).fill(-1);
  // The plan's edges are recorded as they are checked, so nothing walks the catalog twice.
  const { from, to, degree, dependentCounts, leftOut } = edgeBuffers(c);
  let n = 0;
  const queue = new Int32Array(M);
  let tail = 0;
  const chooseForRoot = (m: number, mask: bigint): number => {
    const start = c.versionStart[m] as number;
    const pref = preferred?.[m] ?? -1;
    if (pref >= 0 && ((mask >> BigInt(pref)) & 1n) === 1n && hostAllows(start + pref)) return pref;
    for (let i = versionCount(c, m) - 1; i >= 0; i--) if (((mask >> BigInt(i)) & 1n) === 1n && hostAllows(start + i)) return i;
    return -1;
  };
  // Hot loops below run once per edge of the reachable graph: keep the arrays in locals.
  const { versionStart, depStart, depEnd, depTo, depOptional, depMask, maskWords } = c;
  const chooseForEdge = (m: number, e: number): number => {
    const start = versionStart[m] as number;
    const pref = preferred === undefined ? -1 : (preferred[m] as number);
    const base = depMask[e] as number;
    if (pref >= 0 && (((maskWords[base + (pref >> 5)] as number) >>> (pref & 31)) & 1) === 1 && hostAllows(start + pref)) return pref;
    for (let i = (versionStart[m + 1] as number) - start - 1; i >= 0; i--) {
      if ((((maskWords[base + (i >> 5)] as number) >>> (i & 31)) & 1) === 1 && hostAllows(start + i)) return i;
    }
    return -1;
  };
  for (const r of roots) {
    if (selection[r.pkg] !== -1) continue;
    const i = chooseForRoot(r.pkg, r.mask);
    if (i < 0) return { ok: false, conflict: [r.pkg], parent };
    selection[r.pkg] = i;
    queue[tail++] = r.pkg;
  }
  const hasIssues = c.rangeIssues.size > 0;
  for (let head = 0; head < tail; head++) {
    const m = queue[head] as number;
    const gv = (versionStart[m] as number) + (selection[m] as number);
    if (hasIssues) {
      const issues = c.rangeIssues.get(gv);
      if (issues) return { ok: false, rangeIssues: issues };
    }
    // One pass: a selection never changes once made, so checking each edge when its source is visited is enough.
    const end = depEnd[gv] as number;
    for (let e = depStart[gv] as number; e < end; e++) {
      const t = depTo[e] as number;
      const st = selection[t] as number;
      if (st !== -1) {
        if ((((maskWords[(depMask[e] as number) + (st >> 5)] as number) >>> (st & 31)) & 1) === 0) {
          if (depOptional[e] === 0) return { ok: false, conflict: [m, t], parent };
          leftOut.push(m, e);
          continue;
        }
      } else {
        const i = chooseForEdge(t, e);
        if (i < 0) {
          if (depOptional[e] === 1) {
            leftOut.push(m, e);
            continue;
          }
          return { ok: false, conflict: [m, t], parent };
        }
        selection[t] = i;
        parent[t] = m;
        queue[tail++] = t;
      }
      from[n] = m;
      to[n++] = t;
      degree[m] = (degree[m] as number) + 1;
      dependentCounts[t + 1] = (dependentCounts[t + 1] as number) + 1;
    }
  }
  return { ok: true, selection, edges: { from, to, length: n, degree, dependentCounts, leftOut } };
}
