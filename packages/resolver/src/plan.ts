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
export function createPlan(graph: IndexGraph, names: readonly string[], versions: readonly string[], ordered?: GraphOrder): Plan {
  const o = ordered ?? orderGraph(graph);
  const lp = longestRemainingPath(o);
  const indexOf = new Map<string, number>();
  for (let i = 0; i < o.ordered; i++) indexOf.set(names[o.order[i] as number] as string, o.order[i] as number);
  const order = Array.from(o.order.subarray(0, o.ordered), (v) => names[v] as string);
  const waves: string[][] = [];
  for (let w = 0; w + 1 < o.waveStart.length; w++) waves.push(order.slice(o.waveStart[w], o.waveStart[w + 1]));
  const shutdownOrder = [...order].reverse();
  const listOf = (g: IndexGraph, v: number) => {
    const out: string[] = [];
    for (let e = g.start[v] as number; e < (g.start[v + 1] as number); e++) {
      const w = g.targets[e] as number;
      if ((o.wave[w] as number) >= 0) out.push(names[w] as string);
    }
    return out.sort();
  };
  const plan: Plan = {
    size: o.ordered,
    waves,
    order,
    shutdownOrder,
    has: (name) => indexOf.has(name),
    versionOf: (name) => (indexOf.has(name) ? versions[indexOf.get(name) as number] : undefined),
    waveOf: (name) => (indexOf.has(name) ? (o.wave[indexOf.get(name) as number] as number) : undefined),
    dependenciesOf: (name) => (indexOf.has(name) ? listOf(graph, indexOf.get(name) as number) : []),
    dependentsOf: (name) => (indexOf.has(name) ? listOf(o.dependents, indexOf.get(name) as number) : []),
    longestPath: (name) => (indexOf.has(name) ? (lp[indexOf.get(name) as number] as number) : undefined),
    toJSON: () => ({
      waves,
      order,
      shutdownOrder,
      modules: Object.fromEntries(
        order.map((name) => [
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
  };
  return plan;
}
