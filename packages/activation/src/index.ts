export { createRouteTable, pathSegments, type RouteMatch, type RouteOwner, type RouteSpec, type RouteTable } from './route-table.js';
export { canaryBucket, createRouter, type Dispatch, type Router, type RouteSlot } from './router.js';
