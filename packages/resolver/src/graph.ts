/**
 * A dependency graph over nodes `0 … count - 1` in CSR form: the dependencies of node `v` are
 * `targets[start[v]] … targets[start[v + 1] - 1]`. An edge means "v needs target to be running first".
 */
export interface IndexGraph {
  readonly count: number;
  readonly start: Int32Array;
  readonly targets: Int32Array;
}

/** The result of {@link orderGraph}. */
export interface GraphOrder {
  /** Ordered nodes (dependencies first), wave by wave, ascending node index within a wave. */
  readonly order: Int32Array;
  /** How many nodes `order` holds; nodes in or behind a cycle are left out. */
  readonly ordered: number;
  /** Wave of each node (-1 when it is in or behind a cycle). A wave depends only on earlier waves. */
  readonly wave: Int32Array;
  /** Wave `w` is `order[waveStart[w]] … order[waveStart[w + 1] - 1]`. */
  readonly waveStart: Int32Array;
  /** For each node, the nodes that depend on it (reverse CSR). */
  readonly dependents: IndexGraph;
}

/** Builds an {@link IndexGraph} from parallel edge arrays (`from[i]` depends on `to[i]`). */
export function graphFromEdges(count: number, from: Int32Array, to: Int32Array): IndexGraph {
  const start = new Int32Array(count + 1);
  for (let i = 0; i < from.length; i++) start[(from[i] as number) + 1] = (start[(from[i] as number) + 1] as number) + 1;
  for (let v = 0; v < count; v++) start[v + 1] = (start[v + 1] as number) + (start[v] as number);
  const fill = start.slice(0, count);
  const targets = new Int32Array(from.length);
  for (let i = 0; i < from.length; i++) {
    const f = from[i] as number;
    targets[fill[f] as number] = to[i] as number;
    fill[f] = (fill[f] as number) + 1;
  }
  return { count, start, targets };
}

/** Reverses every edge. */
export function reverseGraph(g: IndexGraph): IndexGraph {
  const { count, start, targets } = g;
  const rstart = new Int32Array(count + 1);
  for (let i = 0; i < targets.length; i++) rstart[(targets[i] as number) + 1] = (rstart[(targets[i] as number) + 1] as number) + 1;
  for (let v = 0; v < count; v++) rstart[v + 1] = (rstart[v + 1] as number) + (rstart[v] as number);
  const fill = rstart.slice(0, count);
  const rtargets = new Int32Array(targets.length);
  for (let v = 0; v < count; v++) {
    for (let e = start[v] as number; e < (start[v + 1] as number); e++) {
      const t = targets[e] as number;
      rtargets[fill[t] as number] = v;
      fill[t] = (fill[t] as number) + 1;
    }
  }
  return { count, start: rstart, targets: rtargets };
}

/**
 * Orders a graph into activation waves with Kahn's algorithm: no recursion, linear time.
 * Within a wave nodes are in ascending index order (the resolver numbers modules by name, so
 * the order is deterministic).
 */
export function orderGraph(g: IndexGraph): GraphOrder {
  const degree = new Int32Array(g.count);
  for (let v = 0; v < g.count; v++) degree[v] = (g.start[v + 1] as number) - (g.start[v] as number);
  return kahn(g.count, degree, reverseGraph(g));
}

/**
 * Like {@link orderGraph}, straight from parallel edge arrays (`from[i]` depends on `to[i]`): builds only the
 * reverse adjacency Kahn's algorithm walks, which is the least work an ordering can do.
 */
export function orderEdges(count: number, from: Int32Array, to: Int32Array): GraphOrder {
  const degree = new Int32Array(count);
  for (let i = 0; i < from.length; i++) degree[from[i] as number] = (degree[from[i] as number] as number) + 1;
  return kahn(count, degree, graphFromEdges(count, to, from));
}

/** Kahn's algorithm given each node's number of dependencies (consumed) and the reverse adjacency. */
function kahn(count: number, degree: Int32Array, dependents: IndexGraph): GraphOrder {
  const remaining = degree;
  const wave = new Int32Array(count).fill(-1);
  const queue = new Int32Array(count);
  let tail = 0;
  for (let v = 0; v < count; v++) {
    if (remaining[v] === 0) {
      wave[v] = 0;
      queue[tail++] = v;
    }
  }
  // FIFO Kahn pops nodes in non-decreasing wave order, so a node's wave is fixed by its last dependency.
  const ds = dependents.start;
  const dt = dependents.targets;
  for (let head = 0; head < tail; head++) {
    const u = queue[head] as number;
    const next = (wave[u] as number) + 1;
    for (let e = ds[u] as number; e < (ds[u + 1] as number); e++) {
      const w = dt[e] as number;
      remaining[w] = (remaining[w] as number) - 1;
      if (remaining[w] === 0) {
        wave[w] = next;
        queue[tail++] = w;
      }
    }
  }
  // Counting sort by wave, stable by node index.
  const waves = tail === 0 ? 0 : (wave[queue[tail - 1] as number] as number) + 1;
  const waveStart = new Int32Array(waves + 1);
  for (let v = 0; v < count; v++) {
    const w = wave[v] as number;
    if (w >= 0) waveStart[w + 1] = (waveStart[w + 1] as number) + 1;
  }
  for (let w = 0; w < waves; w++) waveStart[w + 1] = (waveStart[w + 1] as number) + (waveStart[w] as number);
  const fill = waveStart.slice(0, waves);
  const order = new Int32Array(tail);
  for (let v = 0; v < count; v++) {
    const w = wave[v] as number;
    if (w < 0) continue;
    order[fill[w] as number] = v;
    fill[w] = (fill[w] as number) + 1;
  }
  return { order, ordered: tail, wave, waveStart, dependents };
}

/**
 * For each ordered node, the number of nodes on the longest chain that starts with it and follows
 * dependents (1 for a node nothing depends on). The activation scheduler starts the longest first.
 */
export function longestRemainingPath(o: GraphOrder): Int32Array {
  const { order, ordered, dependents } = o;
  const lp = new Int32Array(o.wave.length);
  for (let i = ordered - 1; i >= 0; i--) {
    const v = order[i] as number;
    let best = 0;
    for (let e = dependents.start[v] as number; e < (dependents.start[v + 1] as number); e++) {
      const d = lp[dependents.targets[e] as number] as number;
      if (d > best) best = d;
    }
    lp[v] = best + 1;
  }
  return lp;
}

/** A strongly connected component with a cycle: its members, and its shortest cycle (`[a, b]` is a → b → a). */
export interface IndexCycle {
  readonly members: readonly number[];
  readonly cycle: readonly number[];
  /** False when the component was too large to search from every member within the work budget. */
  readonly exact: boolean;
}

/** Edge visits the shortest-cycle search may spend per component before it settles for the best found. */
const CYCLE_SEARCH_BUDGET = 4_000_000;

/**
 * Finds every strongly connected component with a cycle among the nodes `order` left out,
 * and the shortest cycle in each (ties: the one whose node sequence is smallest). Iterative Tarjan.
 */
export function findCycles(g: IndexGraph, wave: Int32Array): IndexCycle[] {
  const { count, start, targets } = g;
  const index = new Int32Array(count).fill(-1);
  const low = new Int32Array(count);
  const onStack = new Uint8Array(count);
  const stack: number[] = [];
  const comp = new Int32Array(count).fill(-1);
  const components: number[][] = [];
  let counter = 0;
  const callV: number[] = [];
  const callE: number[] = [];
  for (let root = 0; root < count; root++) {
    if ((wave[root] as number) >= 0 || (index[root] as number) >= 0) continue;
    callV.push(root);
    callE.push(start[root] as number);
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (callV.length > 0) {
      const v = callV[callV.length - 1] as number;
      const e = callE[callE.length - 1] as number;
      if (e < (start[v + 1] as number)) {
        callE[callE.length - 1] = e + 1;
        const w = targets[e] as number;
        if ((wave[w] as number) >= 0) continue;
        if ((index[w] as number) < 0) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          callV.push(w);
          callE.push(start[w] as number);
        } else if (onStack[w]) {
          low[v] = Math.min(low[v] as number, index[w] as number);
        }
        continue;
      }
      callV.pop();
      callE.pop();
      const parent = callV[callV.length - 1];
      if (parent !== undefined) low[parent] = Math.min(low[parent] as number, low[v] as number);
      if (low[v] === index[v]) {
        const members: number[] = [];
        let w: number;
        do {
          w = stack.pop() as number;
          onStack[w] = 0;
          comp[w] = components.length;
          members.push(w);
        } while (w !== v);
        components.push(members);
      }
    }
  }
  const cycles: IndexCycle[] = [];
  for (const [c, members] of components.entries()) {
    const only = members[0] as number;
    const selfLoop = members.length === 1 && hasEdge(g, only, only);
    if (members.length > 1 || selfLoop) {
      const sorted = [...members].sort((a, b) => a - b);
      cycles.push({ members: sorted, ...shortestCycle(g, comp, c, sorted) });
    }
  }
  return cycles.sort((a, b) => (a.members[0] as number) - (b.members[0] as number));
}

function hasEdge(g: IndexGraph, from: number, to: number): boolean {
  for (let e = g.start[from] as number; e < (g.start[from + 1] as number); e++) if (g.targets[e] === to) return true;
  return false;
}

/**
 * BFS from each member (ascending) inside the component; a search stops once it cannot beat the best.
 * A self-loop wins outright and a 2-cycle can only be beaten by one, so those end the search early.
 */
function shortestCycle(g: IndexGraph, comp: Int32Array, c: number, members: number[]): { cycle: number[]; exact: boolean } {
  for (const s of members) if (hasEdge(g, s, s)) return { cycle: [s], exact: true };
  let best: number[] | undefined;
  let budget = CYCLE_SEARCH_BUDGET;
  const parent = new Map<number, number>();
  for (const [k, s] of members.entries()) {
    if (best && best.length <= 2) return { cycle: best, exact: true };
    if (budget <= 0) return { cycle: best ?? members, exact: k >= members.length };
    parent.clear();
    parent.set(s, -1);
    let frontier = [s];
    let depth = 0;
    let found: number | undefined;
    while (frontier.length > 0 && found === undefined && (!best || depth + 1 < best.length)) {
      depth++;
      const next: number[] = [];
      for (const u of frontier) {
        for (let e = g.start[u] as number; e < (g.start[u + 1] as number); e++) {
          budget--;
          const w = g.targets[e] as number;
          if (comp[w] !== c) continue;
          if (w === s) {
            found = u;
            break;
          }
          if (!parent.has(w)) {
            parent.set(w, u);
            next.push(w);
          }
        }
        if (found !== undefined) break;
      }
      frontier = next;
    }
    if (found === undefined) continue;
    const path: number[] = [];
    for (let v: number = found; v !== -1; v = parent.get(v) as number) path.push(v);
    path.reverse();
    if (!best || path.length < best.length) best = path;
  }
  return { cycle: best ?? members, exact: true };
}
