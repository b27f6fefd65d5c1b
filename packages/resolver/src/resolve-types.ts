import type { ModhostError } from '@modhost/core';
import type { Catalog, CatalogEntry } from './catalog.js';
import type { Explanation } from './explain.js';
import type { Plan } from './plan.js';
import type { SolverStats } from './pubgrub.js';

/** A module the host wants running, with an optional range and who asked for it. */
export interface RootRequest {
  readonly name: string;
  /** A semver range; default `*` (any release). */
  readonly range?: string;
  /** Who asked, shown in explanations: "enabled for tenant acme". */
  readonly source?: string;
}

/** Input of `resolve`. */
export interface ResolveInput {
  /** The host application's version; versions whose `engines.host` excludes it cannot be chosen. Omit to ignore `engines.host`. */
  readonly host?: string;
  /** The modules that must run: a list, or `{ name: range }`. */
  readonly roots: readonly RootRequest[] | Readonly<Record<string, string>>;
  /** Every known module version: prepared with `createCatalog` (faster when resolving often) or plain entries. */
  readonly catalog: Catalog | Iterable<CatalogEntry>;
  /** Versions running now (`{ name: version }`): kept when they still satisfy everything. */
  readonly preferred?: Readonly<Record<string, string>>;
}

/** Something the caller should know about a successful resolution. */
export interface ResolveNote {
  readonly kind: 'optional-left-out';
  readonly module: string;
  readonly version: string;
  readonly dependency: string;
  readonly range: string;
  readonly message: string;
}

/** Modules that depend on each other, and the shortest cycle among them with each step's range and field. */
export interface CycleReport {
  /** Every module in the tangle (a strongly connected component). */
  readonly modules: readonly string[];
  /**
   * True when `path` is proven the shortest cycle. A component so large that searching it from every member
   * would take too long (millions of edges) reports the shortest cycle found within the budget, and false here.
   */
  readonly shortest: boolean;
  /** The shortest cycle: each module, and the dependency that leads to the next (the last leads to the first). */
  readonly path: readonly { readonly module: string; readonly version: string; readonly dependsOn: string; readonly range: string; readonly field: string }[];
}

/** A successful resolution. */
export interface ResolveSuccess {
  readonly ok: true;
  /** The chosen version of every module that will run. */
  readonly selection: Readonly<Record<string, string>>;
  readonly plan: Plan;
  readonly notes: readonly ResolveNote[];
  /** `fast-path` when newest versions worked as they were; `solver` when conflicts had to be solved. */
  readonly strategy: 'fast-path' | 'solver';
  readonly stats?: SolverStats;
}

/** A failed resolution: the typed error, the explanation, and what would help. */
export interface ResolveFailure {
  readonly ok: false;
  readonly error: ModhostError;
  readonly explanation: Explanation;
  /** Changes that would have worked, where a different version or range helps. */
  readonly hints: readonly string[];
  /** For `DEPENDENCY_CYCLE`: each cycle with its exact path. */
  readonly cycles?: readonly CycleReport[];
  /** For `DEPENDENCY_CYCLE`: what can still run (everything not in or behind a cycle), and what is blocked. */
  readonly partial?: { readonly selection: Readonly<Record<string, string>>; readonly plan: Plan; readonly blocked: readonly string[] };
}

/** The result of {@link resolve}. It never throws for a bad graph. */
export type ResolveResult = ResolveSuccess | ResolveFailure;
