import { type Catalog, edgeAllows, type RangeIssue, versionCount } from './catalog.js';
import type { RootDependency } from './pubgrub.js';

/** What the fast path found: a selection, or that it needs the full solver. */
export type FastPathResult = { readonly ok: true; readonly selection: Int32Array } | { readonly ok: false; readonly rangeIssues?: readonly RangeIssue[] };

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
  const queue = new Int32Array(M);
  let tail = 0;
  const choose = (m: number, allows: (i: number) => boolean): number => {
    const start = c.versionStart[m] as number;
    const pref = preferred?.[m] ?? -1;
    if (pref >= 0 && allows(pref) && hostAllows(start + pref)) return pref;
    for (let i = versionCount(c, m) - 1; i >= 0; i--) if (allows(i) && hostAllows(start + i)) return i;
    return -1;
  };
  for (const r of roots) {
    if (selection[r.pkg] !== -1) continue;
    const i = choose(r.pkg, (v) => ((r.mask >> BigInt(v)) & 1n) === 1n);
    if (i < 0) return { ok: false };
    selection[r.pkg] = i;
    queue[tail++] = r.pkg;
  }
  for (let head = 0; head < tail; head++) {
    const m = queue[head] as number;
    const gv = (c.versionStart[m] as number) + (selection[m] as number);
    const issues = c.rangeIssues.get(gv);
    if (issues) return { ok: false, rangeIssues: issues };
    for (let e = c.depStart[gv] as number; e < (c.depStart[gv + 1] as number); e++) {
      const t = c.depTo[e] as number;
      if (selection[t] !== -1) continue;
      const i = choose(t, (v) => edgeAllows(c, e, v));
      if (i < 0) {
        if (c.depOptional[e] === 1) continue;
        return { ok: false };
      }
      selection[t] = i;
      queue[tail++] = t;
    }
  }
  // The one-pass check: every required edge of every selected version is met.
  for (let k = 0; k < tail; k++) {
    const m = queue[k] as number;
    const gv = (c.versionStart[m] as number) + (selection[m] as number);
    for (let e = c.depStart[gv] as number; e < (c.depStart[gv + 1] as number); e++) {
      if (c.depOptional[e] === 1) continue;
      const t = c.depTo[e] as number;
      if (!edgeAllows(c, e, selection[t] as number)) return { ok: false };
    }
  }
  return { ok: true, selection };
}
