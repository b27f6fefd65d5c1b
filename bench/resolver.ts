// bench/resolver: ordering, resolution and conflict explanation on a generated 100,000-module catalog.
// Run: npm run bench -- resolver   (or: npx tsx bench/resolver.ts)
import { execFileSync } from 'node:child_process';
import { type CatalogEntry, createCatalog, resolve } from '@modhost/resolver';
import { orderEdges } from '@modhost/resolver/internal';
import { DepGraph } from 'dependency-graph';
import toposort from 'toposort';
import { type Comparison, compare, prng, report, timeOnce } from './lib.js';

const N = Number(process.env.MODULES ?? 100_000);

const name = (i: number) => `mod-${String(i).padStart(6, '0')}`;

/**
 * A random DAG with ~3 edges per module: a random recursive tree (module i > 0 is required by a random module
 * below it, so module 0 reaches everything) plus two random edges from each module to modules above it.
 * Every version of a module has the same dependencies. One root, as a host enabling an app module.
 */
export function generate(n = N, seed = 42) {
  const random = prng(seed);
  const from: number[] = [];
  const to: number[] = [];
  const deps: Map<number, string>[] = Array.from({ length: n }, () => new Map());
  const edge = (a: number, b: number) => {
    if (deps[a]?.has(b)) return;
    deps[a]?.set(b, '^1.0.0');
    from.push(a);
    to.push(b);
  };
  for (let i = 1; i < n; i++) edge(Math.floor(random() * i), i);
  for (let i = 0; i < n - 1; i++) for (let k = 0; k < 2; k++) edge(i, i + 1 + Math.floor(random() * (n - i - 1)));
  const roots = [0];
  const entries = (plant?: (i: number, d: Record<string, string>) => void): CatalogEntry[] => {
    const out: CatalogEntry[] = [];
    for (let i = 0; i < n; i++) {
      const d: Record<string, string> = {};
      for (const [t, r] of deps[i] ?? []) d[name(t)] = r;
      plant?.(i, d);
      for (const v of ['1.0.0', '1.1.0', '1.2.0']) out.push({ name: name(i), version: v, dependencies: d });
    }
    return out;
  };
  return { from: Int32Array.from(from), to: Int32Array.from(to), roots, entries, deps };
}

/** The "no library" limit: Kahn's algorithm over integer arrays, from the same edge arrays. */
export function kahnBaseline(n: number, from: Int32Array, to: Int32Array): Int32Array {
  const indegree = new Int32Array(n);
  const start = new Int32Array(n + 1);
  // The casts are compile-time only: the loop is plain Kahn.
  for (let i = 0; i < from.length; i++) {
    const f = from[i] as number;
    const t = (to[i] as number) + 1;
    indegree[f] = (indegree[f] as number) + 1;
    start[t] = (start[t] as number) + 1;
  }
  for (let v = 0; v < n; v++) start[v + 1] = (start[v + 1] as number) + (start[v] as number);
  const fill = start.slice(0, n);
  const adj = new Int32Array(from.length);
  for (let i = 0; i < from.length; i++) {
    const t = to[i] as number;
    adj[fill[t] as number] = from[i] as number;
    fill[t] = (fill[t] as number) + 1;
  }
  const queue = new Int32Array(n);
  let tail = 0;
  for (let v = 0; v < n; v++) if (indegree[v] === 0) queue[tail++] = v;
  for (let head = 0; head < tail; head++) {
    const u = queue[head] as number;
    for (let e = start[u] as number; e < (start[u + 1] as number); e++) {
      const w = adj[e] as number;
      indegree[w] = (indegree[w] as number) - 1;
      if (indegree[w] === 0) queue[tail++] = w;
    }
  }
  return queue;
}

/** Depth of each module from the roots (longest path), to plant a conflict deep. */
function depths(n: number, deps: Map<number, string>[], roots: number[]): Int32Array {
  const depth = new Int32Array(n).fill(-1);
  for (const r of roots) depth[r] = 0;
  for (let i = 0; i < n; i++)
    if ((depth[i] as number) >= 0) for (const t of deps[i]?.keys() ?? []) depth[t] = Math.max(depth[t] as number, (depth[i] as number) + 1);
  return depth;
}

export async function benchResolver(): Promise<{ rows: Comparison[]; facts: Record<string, number | string> }> {
  const g = generate();
  const edges = g.from.length;
  const strEdges: [string, string][] = Array.from(g.from, (f, i) => [name(g.to[i] as number), name(f)]);
  const rows: Comparison[] = [];

  // 1. Ordering only.
  rows.push(
    await compare(
      'order 100k/300k: ours vs plain Kahn',
      ['orderEdges', () => orderEdges(N, g.from, g.to)],
      ['Kahn (int arrays)', () => kahnBaseline(N, g.from, g.to)],
      3,
    ),
  );
  rows.push(await compare('order: toposort vs ours', ['toposort', () => toposort(strEdges)], ['orderEdges', () => orderEdges(N, g.from, g.to)], 1));
  rows.push(
    await compare(
      'order: dependency-graph vs ours',
      [
        'dependency-graph',
        () => {
          const dg = new DepGraph<undefined>();
          for (let i = 0; i < N; i++) dg.addNode(name(i));
          for (let i = 0; i < edges; i++) dg.addDependency(name(g.from[i] as number), name(g.to[i] as number));
          return dg.overallOrder();
        },
      ],
      ['orderEdges', () => orderEdges(N, g.from, g.to)],
      1,
    ),
  );

  // 2. Resolve + order, three versions per module, on a prepared catalog.
  const entries = g.entries();
  let catalog = createCatalog(entries);
  const catalogMs = timeOnce(() => {
    catalog = createCatalog(entries);
  });
  const roots = Object.fromEntries(g.roots.map((r) => [name(r), '^1.0.0']));
  const check = resolve({ roots, catalog });
  if (!check.ok) throw new Error(`benchmark catalog should resolve: ${check.error.message}`);
  rows.push(
    await compare(
      'resolve + order vs plain Kahn',
      ['resolve (prepared catalog)', () => resolve({ roots, catalog })],
      ['Kahn (int arrays)', () => kahnBaseline(N, g.from, g.to)],
      3,
    ),
  );

  // 3. A conflict planted deep: two deep modules need incompatible majors of a third.
  const depth = depths(N, g.deps, g.roots);
  const deep = Array.from({ length: N }, (_, i) => i)
    .filter((i) => (depth[i] as number) >= 0)
    .sort((a, b) => (depth[b] as number) - (depth[a] as number));
  const [a, b] = [deep[0] as number, deep[1] as number];
  const x = N; // a module only the planted edges use
  const planted = g.entries((i, d) => {
    if (i === a) d[name(x)] = '^1.0.0';
    if (i === b) d[name(x)] = '^2.0.0';
  });
  planted.push({ name: name(x), version: '1.0.0' }, { name: name(x), version: '2.0.0' });
  const conflictCatalog = createCatalog(planted);
  let failure: ReturnType<typeof resolve> | undefined;
  const explainMs = timeOnce(() => {
    failure = resolve({ roots, catalog: conflictCatalog });
  });
  if (!failure || failure.ok) throw new Error('the planted conflict should fail');
  const stats = failure.explanation.lines.length;

  // 4. Peak extra heap: resolve in a child process whose heap is capped at its own baseline + 100 MB.
  const heap = heapCheck();
  return {
    rows,
    facts: {
      modules: N,
      edges,
      'createCatalog ms (once per catalog change)': Math.round(catalogMs),
      'conflict depth (longest path to the planted modules)': `${depth[a]} and ${depth[b]}`,
      'conflict: resolve + explanation + hints ms': Math.round(explainMs),
      'explanation lines': stats,
      'explanation first line': failure.explanation.lines[0] ?? '',
      'heap baseline MB (catalog loaded)': heap.baseline,
      'resolve: peak extra memory MB (JS heap + typed arrays)': heap.resolvePeak,
      'conflict explanation: peak extra memory MB (JS heap + typed arrays)': heap.conflictPeak,
      'resolve: extra heap retained by the result MB': heap.retained,
    },
  };
}

/**
 * Peak extra heap of one resolve and of one conflict explanation, measured in a fresh process: V8's GC trace
 * reports the heap in use before every collection, and the peak is the largest figure between the markers the
 * child prints around each operation (or the heap at the end, if larger), minus the heap before it.
 */
function heapCheck(): { baseline: number; resolvePeak: number; conflictPeak: number; retained: number } {
  const script = new URL('./resolver-heap.ts', import.meta.url).pathname;
  const out = execFileSync(process.execPath, ['--expose-gc', '--trace-gc', '--import', 'tsx', script], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const peaks: Record<string, number> = {};
  let current: string | undefined;
  let peak = 0;
  let facts: { baseline: number; retained: number; ends: Record<string, number> } | undefined;
  // Peak = JS heap peak from the GC trace, plus the typed-array memory the operation allocated (outside the heap).
  for (const line of out.split('\n')) {
    const mark = /^MARK (begin|end) (\w+) ([\d.]+)$/.exec(line);
    if (mark) {
      if (mark[1] === 'begin') {
        current = mark[2];
        peak = Number(mark[3]);
      } else if (current) {
        peaks[current] = Math.max(peak, Number(mark[3]));
        current = undefined;
      }
      continue;
    }
    const gc = /(?:Scavenge|Mark-Compact|Mark-sweep)[^\d]*([\d.]+) \(/.exec(line);
    if (gc && current) peak = Math.max(peak, Number(gc[1]));
    if (line.startsWith('{')) facts = JSON.parse(line);
  }
  const base = facts?.baseline ?? 0;
  return {
    baseline: Math.round(base),
    resolvePeak: Math.round((peaks.resolve ?? 0) - base + (facts?.ends.resolveBuffers ?? 0)),
    conflictPeak: Math.round((peaks.conflict ?? 0) - (facts?.ends.conflictBase ?? base) + (facts?.ends.conflictBuffers ?? 0)),
    retained: Math.round(facts?.retained ?? 0),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { rows, facts } = await benchResolver();
  report('resolver', 'resolver: 100,000 modules, ~300,000 edges', rows, facts);
}
