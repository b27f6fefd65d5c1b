// Runs every benchmark: `npm run bench` (or `npm run bench -- resolver` for one). Each prints a table and
// writes bench/results/<name>.json.
import { benchActivation } from './activation.js';
import { benchCoreRegistry } from './core-registry.js';
import { benchDevReload } from './dev-reload.js';
import { benchFleet } from './fleet.js';
import { benchHealthProbing } from './health-probing.js';
import { benchHostScale } from './host-scale.js';
import { benchHotSwap, benchQuiesce } from './hot-swap.js';
import { benchHttp } from './http.js';
import { report } from './lib.js';
import { benchOps } from './ops.js';
import { benchReload } from './reload.js';
import { benchRescan } from './rescan.js';
import { benchResolver } from './resolver.js';
import { benchSandbox } from './sandbox.js';
import { benchStoragePostgres } from './storage-postgres.js';
import { benchWorkerScale } from './worker-scale.js';

const only = process.argv[2];
if (!only || only === 'core') report('core-registry', 'core: registry overhead against the plain algorithm', await benchCoreRegistry());
if (!only || only === 'resolver') {
  const { rows, facts } = await benchResolver();
  report('resolver', 'resolver: 100,000 modules, ~300,000 edges', rows, facts);
}
if (!only || only === 'activation') {
  const { rows, facts } = await benchActivation();
  report('activation', 'activation: scheduling against the ideal, host overhead per module', rows, facts);
}
if (!only || only === 'worker-scale') {
  const { rows, facts } = await benchWorkerScale();
  report('worker-scale', 'modhost: a host of 200 worker modules against 200 bare workers started the same way', rows, facts);
}
if (!only || only === 'host-scale') {
  const { rows, facts } = await benchHostScale();
  report('host-scale', 'modhost: a host of 100,000 modules (start, peak heap, list, status, stop)', rows, facts);
}
if (!only || only === 'hot-swap') {
  const { rows, facts } = await benchHotSwap();
  report('hot-swap', 'activation: hot swap under HTTP load', rows, {
    ...facts,
    ...(await benchQuiesce()),
    ...(await benchQuiesce(undefined, 100, 'rollbacks')),
  });
}
if (!only || only === 'http') {
  const { rows, facts } = await benchHttp();
  report('http', '@modhost/http: each adapter against its framework serving the same handler as a plain route', rows, facts);
}
if (!only || only === 'sandbox') {
  const { rows, facts } = await benchSandbox();
  report('sandbox', 'sandbox: permission checks and isolation tiers', rows, facts);
}
if (!only || only === 'reload') {
  const { rows, facts } = await benchReload();
  report('reload', 'modhost: memory each module reload retains, by isolation tier', rows, facts);
}
if (!only || only === 'rescan') {
  const { rows, facts } = await benchRescan();
  report('rescan', 'modhost: a rescan that finds nothing changed, against hashing every folder once', rows, facts);
}
if (!only || only === 'dev') {
  const { rows, facts } = await benchDevReload();
  report('dev-reload', 'modhost dev: from saving a worker module until its new code answers over HTTP', rows, facts);
}
if (!only || only === 'storage') {
  const { rows, facts } = await benchStoragePostgres();
  report('storage-postgres', 'storage-postgres: compareAndSet against a bare UPDATE on the same pool', rows, facts);
}
if (!only || only === 'fleet') {
  const { rows, facts } = await benchFleet();
  report('fleet', 'fleet: a change on one instance until the others apply it', rows, facts);
}
if (!only || only === 'ops') {
  const { rows, facts } = await benchOps();
  report('ops', 'ops: request throughput with metrics (and traces) on, against the same server with telemetry off', rows, facts);
  const probing = await benchHealthProbing();
  report('ops-health', 'ops: health probing of 10,000 modules, against the same probes from a plain loop', probing.rows, probing.facts);
}
