export { type Catalog, type CatalogEntry, createCatalog, type RangeField, type RangeIssue } from './catalog.js';
export type { Explanation, ExplanationNode } from './explain.js';
export { findCycles, longestRemainingPath, orderGraph } from './graph.js';
export type { Plan, PlanJSON } from './plan.js';
export type { SolverStats } from './pubgrub.js';
export {
  type CycleReport,
  type ResolveFailure,
  type ResolveInput,
  type ResolveNote,
  type ResolveResult,
  type ResolveSuccess,
  type RootRequest,
  resolve,
} from './resolve.js';
