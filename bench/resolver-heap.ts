// Child process for bench/resolver.ts (run with --trace-gc): marks each operation so the parent can read the
// peak heap from the GC trace, and prints {"baseline", "retained", "ends"} as JSON.
import { createCatalog, resolve } from '@modhost/resolver';
import { generate } from './resolver.js';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const used = () => process.memoryUsage().heapUsed / 2 ** 20;
// Typed arrays live outside the JS heap; the GC trace does not show them.
const buffers = () => process.memoryUsage().arrayBuffers / 2 ** 20;
const g = generate();
const name = (i: number) => `mod-${String(i).padStart(6, '0')}`;
const catalog = createCatalog(g.entries());
const roots = Object.fromEntries(g.roots.map((r) => [name(r), '^1.0.0']));
gc();
const baseline = used();
const buffersBefore = buffers();
console.log(`MARK begin resolve ${baseline}`);
const result = resolve({ roots, catalog });
console.log(`MARK end resolve ${used()}`);
const resolveBuffers = buffers() - buffersBefore;
gc();
const retained = used() - baseline;
if (!result.ok) throw new Error('expected success');

const n = g.from.length > 0 ? catalog.names.length : 0;
const planted = createCatalog([
  ...g.entries((i, d) => {
    if (i === n - 1) d[name(n)] = '^1.0.0';
    if (i === n - 2) d[name(n)] = '^2.0.0';
  }),
  { name: name(n), version: '1.0.0' },
  { name: name(n), version: '2.0.0' },
]);
gc();
const conflictBase = used();
const conflictBuffersBefore = buffers();
console.log(`MARK begin conflict ${conflictBase}`);
const failure = resolve({ roots, catalog: planted });
console.log(`MARK end conflict ${used()}`);
const conflictBuffers = buffers() - conflictBuffersBefore;
if (failure.ok) throw new Error('expected a conflict');
console.log(JSON.stringify({ baseline, retained, ends: { conflictBase, resolveBuffers, conflictBuffers } }));
