import { type GraphOrder, type IndexGraph, longestRemainingPath, orderGraph } from './graph.js';

/** A plain-data copy of a plan, for logs and APIs. */
export interface PlanJSON {
  readonly waves: readonly (readonly string[])[];
  readonly order: readonly string[];
  readonly shutdownOrder: readonly string[];
  readonly modules: Readonly<
    Record<
      string,
      { readonly version: string; readonly wave: number; readonly dependencies: string[]; readonly dependents: string[]; readonly longestPath: number }
    >
  >;
}

/**
 * An activation plan. Waves depend only on earlier waves; `order` is the waves flattened;
 * `shutdownOrder` is its reverse. `longestPath(name)` is the activation scheduler's priority:
 * the number of modules on the longest chain that waits for this one (itself included).
 *
 * Backed by typed arrays, so a plan over 100,000 modules stays small; per-module lists are built on request.
 */
export interface Plan {
  readonly size: number;
  readonly waves: readonly (readonly string[])[];
  readonly order: readonly string[];
  readonly shutdownOrder: readonly string[];
  has(name: string): boolean;
  versionOf(name: string): string | undefined;
  waveOf(name: string): number | undefined;
  dependenciesOf(name: string): string[];
  dependentsOf(name: string): string[];
  longestPath(name: string): number | undefined;
  toJSON(): PlanJSON;
}

/**
 * Builds a plan from an ordered graph. `names[i]`/`versions[i]` label node i; `include[i]` says
 * whether node i belongs in the plan (nodes in or behind a cycle are left out).
 * @internal
 */
export function createPlan(graph: IndexGraph | (() => IndexGraph), names: readonly string[], versionOf: (node: number) => string, ordered?: GraphOrder): Plan {
  const forward = typeof graph === 'function' ? graph : () => graph;
  const o = ordered ?? orderGraph(forward());
  // Per-name lookups, waves and priorities are built on first use: a plan of 100,000 modules is often
  // only walked in order.
  let lpCache: Int32Array | undefined;
  const lp = () => (lpCache ??= longestRemainingPath(o));
  let indexCache: Map<string, number> | undefined;
  const index = () => {
    if (!indexCache) {
      indexCache = new Map();
      for (let i = 0; i < o.ordered; i++) indexCache.set(names[o.order[i] as number] as string, o.order[i] as number);
    }
    return indexCache;
  };
  const indexOf = { has: (n: string) => index().has(n), get: (n: string) => index().get(n) };
  // The names in order are built on first read too: the plan itself is the typed arrays.
  let orderCache: string[] | undefined;
  const order = () => {
    if (!orderCache) {
      orderCache = new Array<string>(o.ordered);
      for (let i = 0; i < o.ordered; i++) orderCache[i] = names[o.order[i] as number] as string;
    }
    return orderCache;
  };
  let wavesCache: string[][] | undefined;
  const waves = () => {
    if (!wavesCache) {
      wavesCache = [];
      for (let w = 0; w + 1 < o.waveStart.length; w++) wavesCache.push(order().slice(o.waveStart[w], o.waveStart[w + 1]));
    }
    return wavesCache;
  };
  let shutdownCache: string[] | undefined;
  const shutdownOrder = () => (shutdownCache ??= [...order()].reverse());
  const listOf = (g: IndexGraph, v: number) => {
    const out: string[] = [];
    for (let e = g.start[v] as number; e < (g.start[v + 1] as number); e++) {
      const w = g.targets[e] as number;
      if ((o.wave[w] as number) >= 0) out.push(names[w] as string);
    }
    return out.sort();
  };
  const plan = {
    size: o.ordered,
    get order() {
      return order();
    },
    has: (name: string) => indexOf.has(name),
    versionOf: (name: string) => (indexOf.has(name) ? versionOf(indexOf.get(name) as number) : undefined),
    waveOf: (name: string) => (indexOf.has(name) ? (o.wave[indexOf.get(name) as number] as number) : undefined),
    dependenciesOf: (name: string) => (indexOf.has(name) ? listOf(forward(), indexOf.get(name) as number) : []),
    dependentsOf: (name: string) => (indexOf.has(name) ? listOf(o.dependents, indexOf.get(name) as number) : []),
    longestPath: (name: string) => (indexOf.has(name) ? (lp()[indexOf.get(name) as number] as number) : undefined),
    toJSON: (): PlanJSON => ({
      waves: waves(),
      order: order(),
      shutdownOrder: shutdownOrder(),
      modules: Object.fromEntries(
        order().map((name) => [
          name,
          {
            version: plan.versionOf(name) as string,
            wave: plan.waveOf(name) as number,
            dependencies: plan.dependenciesOf(name),
            dependents: plan.dependentsOf(name),
            longestPath: plan.longestPath(name) as number,
          },
        ]),
      ),
    }),
  } as Omit<Plan, 'waves' | 'shutdownOrder'>;
  Object.defineProperty(plan, 'waves', { enumerable: true, get: waves });
  Object.defineProperty(plan, 'shutdownOrder', { enumerable: true, get: shutdownOrder });
  return plan as Plan;
}
