import { ModhostError } from '@modhost/core';
import { createRouteTable, type RouteTable } from './route-table.js';
import type { BoundHandler } from './types.js';
import type { Running, VersionRunner } from './version-runner.js';

/**
 * A table with the same routes as `r`'s whose every handler throws `MODULE_UNHEALTHY` (the HTTP pipeline answers 503
 * with a problem document). Same routes, so permissions, 404s and 405s stay what they were; only serving stops.
 * @internal
 */
export function unhealthyTable(r: Running, table: RouteTable<BoundHandler>): RouteTable<BoundHandler> {
  const refuse: BoundHandler = () => {
    throw new ModhostError('MODULE_UNHEALTHY', `${r.name}@${r.version} is unhealthy, so its routes answer 503 until it passes its health probes again`, {
      details: { module: r.name, version: r.version },
    });
  };
  return createRouteTable<BoundHandler>(
    { module: r.name, version: r.version },
    table.routes.map((route) => ({ method: route.method, path: route.path, permission: route.permission, accepts: route.accepts, handler: refuse })),
  );
}

/**
 * Points `r`'s route slot at a 503 table; returns what undoes it (pointing back at `r`'s table, unless something else,
 * an upgrade or a rollback, switched the slot since), or `undefined` when `r` serves no routes or a canary runs.
 * @internal
 */
export function unroute(e: VersionRunner, r: Running): (() => void) | undefined {
  const slot = e.options.router?.slot(e.prefixOf(r.name));
  const table = r.table;
  if (!slot || !table || slot.current !== table || slot.canary) return undefined;
  const refusing = unhealthyTable(r, table);
  slot.switchTo(refusing);
  return () => {
    if (slot.current === refusing && e.options.router?.slot(e.prefixOf(r.name)) === slot) slot.switchTo(table);
  };
}
