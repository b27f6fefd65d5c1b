import { type Catalog, flatLayout, type RangeIssue, versionCount } from './catalog.js';
import type { RootDependency } from './pubgrub.js';

/**
 * The optional edges a final selection leaves out, as (module, edge) pairs: an optional edge whose target is not
 * selected or whose selected version its range does not allow. @internal
 */
export function leftOutEdges(c: Catalog, selection: Int32Array): number[] {
  const M = c.names.length;
  const leftOut: number[] = [];
  for (let m = 0; m < M; m++) {
    const sel = selection[m] as number;
    if (sel < 0) continue;
    const gv = (c.versionStart[m] as number) + sel;
    for (let e = c.depStart[gv] as number; e < (c.depEnd[gv] as number); e++) {
      if (c.depOptional[e] === 0) continue;
      const ts = selection[c.depTo[e] as number] as number;
      if (ts < 0 || (((c.maskWords[(c.depMask[e] as number) + (ts >> 5)] as number) >>> (ts & 31)) & 1) === 0) leftOut.push(m, e);
    }
  }
  return leftOut;
}

/** What the fast path found: a selection, or that it needs the full solver. */
export type FastPathResult =
  | {
      readonly ok: true;
      readonly selection: Int32Array;
      /** Per module `m`, the edge range of its selected version: `span[2m]`, `span[2m + 1]`. */
      readonly span: Int32Array;
      /** Optional edges left out, as (module, edge) pairs; every other edge of a selected version is in the plan. */
      readonly leftOut: readonly number[];
    }
  | {
      readonly ok: false;
      readonly rangeIssues?: readonly RangeIssue[];
      /** The modules at the unmet requirement, and the selection tried: the solver looks there first. */
      readonly conflict?: readonly number[];
      /**
       * For each module the fast path selected, the module whose requirement selected it (-1 for roots); only
       * when asked for (`recordParents`).
       */
      readonly parent?: Int32Array;
    };

/**
 * Newest satisfying versions, chosen breadth-first from the roots and then checked in one pass.
 * Succeeds for the common case (a consistent catalog) in time linear in the reachable graph;
 * returns `ok: false` on the first unmet requirement, and the caller runs the full solver.
 * Optional dependencies are followed when they can be met; an optional edge the check rejects is
 * left out (the module runs without it), never a reason to fail.
 */
export function fastPath(
  c: Catalog,
  roots: readonly RootDependency[],
  hostAllows: ((gv: number) => boolean) | undefined,
  preferred: Int32Array | undefined,
  recordParents = false,
): FastPathResult {
  const M = c.names.length;
  const { versionStart, depStart, depEnd, depMask, depOptional, maskWords } = c;
  const { modules, edges } = flatLayout(c);
  // What choosing a module's version needs, in one 16-byte record, read once per module: [version count, first
  // version id (or -1 when it has more than 32 versions), start, end of its versions' shared edge range (or -1)].
  const rec = modules;
  // The selected version index of each module (-1: none yet), read once per edge: 4 bytes a module, so that it
  // stays in a fast cache.
  const selection = new Int32Array(M).fill(-1);
  // The edge range of each selected module's version, written when it is selected: the BFS reads it when it
  // visits the module, and the ordering after it reads it again.
  const span = new Int32Array(2 * M);
  // Only a failure needs to say which module's requirement selected which: the caller asks again for that.
  const parent = recordParents ? new Int32Array(M).fill(-1) : undefined;
  // The plan's edges are the catalog's edges of the selected versions (its CSR layout is the plan's): only the
  // optional edges left out are recorded.
  const leftOut: number[] = [];
  const queue = new Int32Array(M);
  let tail = 0;
  const push = (m: number, i: number, from: number) => {
    selection[m] = i;
    queue[tail++] = m;
    const shared = rec[4 * m + 2] as number;
    if (shared >= 0) {
      span[2 * m] = shared;
      span[2 * m + 1] = rec[4 * m + 3] as number;
    } else {
      const gv = (versionStart[m] as number) + i;
      span[2 * m] = depStart[gv] as number;
      span[2 * m + 1] = depEnd[gv] as number;
    }
    if (parent) parent[m] = from;
  };
  const allowed = (gv: number) => hostAllows === undefined || hostAllows(gv);
  const chooseForRoot = (m: number, mask: bigint): number => {
    const start = versionStart[m] as number;
    const pref = preferred?.[m] ?? -1;
    if (pref >= 0 && ((mask >> BigInt(pref)) & 1n) === 1n && allowed(start + pref)) return pref;
    for (let i = versionCount(c, m) - 1; i >= 0; i--) if (((mask >> BigInt(i)) & 1n) === 1n && allowed(start + i)) return i;
    return -1;
  };
  /** Whether the edge's range allows the target's version `i`. */
  const edgeAllows = (e: number, i: number): boolean =>
    ((i < 32 ? (edges[2 * e + 1] as number) >>> i : (maskWords[(depMask[e] as number) + (i >> 5)] as number) >>> (i & 31)) & 1) === 1;
  const chooseForEdge = (m: number, e: number): number => {
    const start = versionStart[m] as number;
    const pref = preferred === undefined ? -1 : (preferred[m] as number);
    if (pref >= 0 && edgeAllows(e, pref) && allowed(start + pref)) return pref;
    for (let i = (versionStart[m + 1] as number) - start - 1; i >= 0; i--) if (edgeAllows(e, i) && allowed(start + i)) return i;
    return -1;
  };
  // With no preferred versions and no host version, a module of at most 32 versions gets the newest its edge's
  // inline mask word allows: its highest set bit.
  const plain = preferred === undefined && hostAllows === undefined;
  for (const r of roots) {
    if (selection[r.pkg] !== -1) continue;
    const i = chooseForRoot(r.pkg, r.mask);
    if (i < 0) return { ok: false, conflict: [r.pkg], ...(parent ? { parent } : {}) };
    push(r.pkg, i, -1);
  }
  const hasIssues = c.rangeIssues.size > 0;
  for (let head = 0; head < tail; head++) {
    const m = queue[head] as number;
    if (hasIssues) {
      const issues = c.rangeIssues.get((versionStart[m] as number) + (selection[m] as number));
      if (issues) return { ok: false, rangeIssues: issues };
    }
    // One pass: a selection never changes once made, so checking each edge when its source is visited is enough.
    const end = span[2 * m + 1] as number;
    for (let e = span[2 * m] as number; e < end; e++) {
      const t = edges[2 * e] as number;
      const st = selection[t] as number;
      if (st !== -1) {
        if (!edgeAllows(e, st)) {
          if (depOptional[e] === 0) return { ok: false, conflict: [m, t], ...(parent ? { parent } : {}) };
          leftOut.push(m, e);
        }
        continue;
      }
      let i: number;
      if (plain && (rec[4 * t + 1] as number) >= 0) {
        const word = edges[2 * e + 1] as number;
        i = word === 0 ? -1 : 31 - Math.clz32(word);
      } else i = chooseForEdge(t, e);
      if (i < 0) {
        if (depOptional[e] === 1) {
          leftOut.push(m, e);
          continue;
        }
        return { ok: false, conflict: [m, t], ...(parent ? { parent } : {}) };
      }
      push(t, i, m);
    }
  }
  return { ok: true, selection, span, leftOut };
}
