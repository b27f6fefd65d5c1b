// The compressed graph primitives under the resolver, for modhost's own benchmarks: `@modhost/resolver/internal`
// carries no semver promise.
export { type GraphOrder, graphFromEdges, type IndexCycle, type IndexGraph, orderEdges, reverseGraph } from './graph.js';
