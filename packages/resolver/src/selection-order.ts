import type { Catalog } from './catalog.js';
import { type GraphOrder, type IndexGraph, reverseGraph } from './graph.js';

/** Marks while ordering: a module on the search stack, one in or behind a cycle, one not selected. */
const OPEN = -2;
const BLOCKED = -3;
const UNSELECTED = -4;

/** {@link GraphOrder} of a selection, with how many modules are selected. */
export interface SelectionOrder extends GraphOrder {
  readonly selected: number;
}

/**
 * Activation waves of the selected modules, read straight from the catalog's own edge layout (CSR by version:
 * `depStart`/`depEnd`/`depTo`): no edge list is copied and no reverse adjacency is built. A module's wave is one
 * more than its latest dependency's (0 with none), computed in one iterative depth-first pass; a module in a
 * cycle, or depending on one, or on an unselected module, has wave -1 and is left out of `order`. This is the
 * same result Kahn's algorithm gives (FIFO Kahn fixes a node's wave by its last dependency).
 *
 * `skip[e] === 1` leaves out catalog edge `e` (an optional dependency not used). `selectedSpan` is each selected
 * module's edge range as the fast path recorded it (read from the catalog when absent). `forward` builds the
 * plan's dependency graph; the reverse graph (`dependents`) is built from it only when something reads it.
 */
export function orderSelection(
  c: Catalog,
  selection: Int32Array,
  skip: Uint8Array | undefined,
  forward: () => IndexGraph,
  selectedSpan?: Int32Array,
): SelectionOrder {
  const M = c.names.length;
  const { depTo } = c;
  // Each selected module's edge range (read once per module): the fast path's, or read from the catalog.
  const span = selectedSpan ?? spanOf(c, selection);
  // The mark or wave of each module, read once per edge: 4 bytes a module, so that it stays in a fast cache.
  // -1 not visited, UNSELECTED, OPEN (on the search stack), BLOCKED; ≥ 0 the wave.
  const mark = new Int32Array(M);
  let selected = 0;
  for (let m = 0; m < M; m++) {
    if ((selection[m] as number) < 0) mark[m] = UNSELECTED;
    else {
      mark[m] = -1;
      selected++;
    }
  }
  // The search stack, 3 ints a frame: module, next edge, the wave found so far. It grows as needed: a search is
  // as deep as the longest chain of dependencies, usually far fewer than the modules.
  let stack = new Int32Array(3 * Math.min(M, 1024));
  let blocked = 0;
  let maxWave = -1;
  for (let root = 0; root < M; root++) {
    if (mark[root] !== -1) continue;
    mark[root] = OPEN;
    stack[0] = root;
    stack[1] = span[2 * root] as number;
    stack[2] = 0;
    let sp = 1;
    while (sp > 0) {
      const top = 3 * (sp - 1);
      const v = stack[top] as number;
      let e = stack[top + 1] as number;
      const end = span[2 * v + 1] as number;
      let acc = stack[top + 2] as number;
      let child = -1;
      for (; e < end; e++) {
        if (skip !== undefined && skip[e] === 1) continue;
        const t = depTo[e] as number;
        const wt = mark[t] as number;
        if (wt >= 0) {
          if (wt >= acc) acc = wt + 1;
          continue;
        }
        if (wt === -1) {
          child = t;
          break;
        }
        // A module on the stack (a cycle), a blocked one, or one not selected: blocked too, and nothing further
        // here can change that (what this module leads to is still ordered from the outer loop).
        acc = BLOCKED;
        break;
      }
      if (child >= 0) {
        // Come back to this same edge once the child is done, to take its wave.
        stack[top + 1] = e;
        stack[top + 2] = acc;
        mark[child] = OPEN;
        if (top + 6 > stack.length) {
          const grown = new Int32Array(2 * stack.length);
          grown.set(stack);
          stack = grown;
        }
        stack[top + 3] = child;
        stack[top + 4] = span[2 * child] as number;
        stack[top + 5] = 0;
        sp++;
      } else {
        mark[v] = acc;
        if (acc === BLOCKED) blocked++;
        else if (acc > maxWave) maxWave = acc;
        sp--;
      }
    }
  }
  // Counting sort by wave, stable by module index (= name order).
  const waves = maxWave + 1;
  const wave = mark;
  const waveStart = new Int32Array(waves + 1);
  for (let v = 0; v < M; v++) {
    const w = wave[v] as number;
    if (w >= 0) waveStart[w + 1] = (waveStart[w + 1] as number) + 1;
    else wave[v] = -1;
  }
  for (let w = 0; w < waves; w++) waveStart[w + 1] = (waveStart[w + 1] as number) + (waveStart[w] as number);
  const fill = waveStart.slice(0, waves);
  const ordered = selected - blocked;
  const order = new Int32Array(ordered);
  for (let v = 0; v < M; v++) {
    const w = wave[v] as number;
    if (w < 0) continue;
    order[fill[w] as number] = v;
    fill[w] = (fill[w] as number) + 1;
  }
  let dependents: IndexGraph | undefined;
  return {
    order,
    ordered,
    wave,
    waveStart,
    selected,
    get dependents() {
      if (!dependents) dependents = reverseGraph(forward());
      return dependents;
    },
  };
}

/** Per module `m`, the edge range of its selected version at `2m`, `2m + 1` (0, 0 when not selected). */
function spanOf(c: Catalog, selection: Int32Array): Int32Array {
  const M = c.names.length;
  const span = new Int32Array(2 * M);
  for (let m = 0; m < M; m++) {
    const sel = selection[m] as number;
    if (sel < 0) continue;
    const gv = (c.versionStart[m] as number) + sel;
    span[2 * m] = c.depStart[gv] as number;
    span[2 * m + 1] = c.depEnd[gv] as number;
  }
  return span;
}

/** The plan's dependency graph (CSR, catalog edge order per module), without the skipped edges. */
export function selectionGraph(c: Catalog, selection: Int32Array, skip: Uint8Array | undefined): IndexGraph {
  const M = c.names.length;
  const { versionStart, depStart, depEnd, depTo } = c;
  const start = new Int32Array(M + 1);
  for (let m = 0; m < M; m++) {
    let n = 0;
    const sel = selection[m] as number;
    if (sel >= 0) {
      const gv = (versionStart[m] as number) + sel;
      for (let e = depStart[gv] as number; e < (depEnd[gv] as number); e++) if (skip === undefined || skip[e] === 0) n++;
    }
    start[m + 1] = (start[m] as number) + n;
  }
  const targets = new Int32Array(start[M] as number);
  let k = 0;
  for (let m = 0; m < M; m++) {
    const sel = selection[m] as number;
    if (sel < 0) continue;
    const gv = (versionStart[m] as number) + sel;
    for (let e = depStart[gv] as number; e < (depEnd[gv] as number); e++) if (skip === undefined || skip[e] === 0) targets[k++] = depTo[e] as number;
  }
  return { count: M, start, targets };
}
