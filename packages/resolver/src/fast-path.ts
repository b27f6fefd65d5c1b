import { type Catalog, type RangeIssue, versionCount } from './catalog.js';
import type { RootDependency } from './pubgrub.js';

/** What the fast path found: a selection, or that it needs the full solver. */
export type FastPathResult =
  | { readonly ok: true; readonly selection: Int32Array }
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
  const bit = (e: number, i: number) => (((maskWords[(depMask[e] as number) + (i >> 5)] as number) >>> (i & 31)) & 1) === 1;
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
    for (let e = depStart[gv] as number; e < (depEnd[gv] as number); e++) {
      const t = depTo[e] as number;
      if (selection[t] !== -1) {
        if (depOptional[e] === 0 && !bit(e, selection[t] as number)) return { ok: false, conflict: [m, t], parent };
        continue;
      }
      const i = chooseForEdge(t, e);
      if (i < 0) {
        if (depOptional[e] === 1) continue;
        return { ok: false, conflict: [m, t], parent };
      }
      selection[t] = i;
      parent[t] = m;
      queue[tail++] = t;
    }
  }
  return { ok: true, selection };
}
