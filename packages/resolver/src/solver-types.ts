// The solver's inputs and outputs (PubGrub's incompatibilities and their causes), apart from its algorithm.
import type { Catalog, RangeField, RangeIssue } from './catalog.js';
import type { Term } from './terms.js';

/** Why an incompatibility holds. */
export type Cause =
  | { readonly kind: 'root' }
  | { readonly kind: 'dependency'; readonly from: number; readonly to: number; readonly range: string; readonly field: RangeField; readonly source?: string }
  | { readonly kind: 'no-versions' }
  | { readonly kind: 'unavailable'; readonly from: number; readonly to: number; readonly range: string; readonly field: RangeField; readonly source?: string }
  | { readonly kind: 'host'; readonly range: string; readonly host: string }
  | { readonly kind: 'conflict'; readonly left: Incompat; readonly right: Incompat };

/** A set of terms that cannot all be true. */
export interface Incompat {
  readonly id: number;
  readonly terms: readonly Term[];
  readonly cause: Cause;
}

/** A requirement of the root (the host): module, allowed versions, the range text and who asked. */
export interface RootDependency {
  readonly pkg: number;
  readonly mask: bigint;
  readonly range: string;
  readonly source: string;
}

/** What the solver needs besides the catalog. */
export interface SolverInput {
  readonly catalog: Catalog;
  readonly roots: readonly RootDependency[];
  /** True when a global version id is allowed by the host (its engines.host admits the host version). */
  readonly hostAllows: (globalVersion: number) => boolean;
  readonly host: string;
  /** Per module: the version index to prefer (running now), or -1. */
  readonly preferred?: Int32Array;
  /** Optional-dependency edges to treat as required. */
  readonly promoted?: ReadonlySet<number>;
  /**
   * Modules to decide first (e.g. those around a requirement the fast path found unmet). Decision order never
   * changes whether a solution is found, only how soon a conflict surfaces.
   */
  readonly focus?: Uint8Array;
}

/** Solver outcome. `selection[m]` is the chosen version index of module m, or -1. */
export type SolverResult =
  | { readonly ok: true; readonly selection: Int32Array; readonly stats: SolverStats }
  | { readonly ok: false; readonly failure: Incompat; readonly root: number; readonly stats: SolverStats }
  | { readonly ok: false; readonly rangeIssues: readonly RangeIssue[]; readonly stats: SolverStats };

/** Work counters, for tests and benchmarks. */
export interface SolverStats {
  decisions: number;
  conflicts: number;
  incompatibilities: number;
}
