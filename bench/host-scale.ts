// bench/host-scale: a host of 100,000 no-op modules (random DAG) started through `createHost`: time, peak heap, what
// `registry.list()` and `host.status()` cost at that size, and a clean stop. Also the host overhead per module at
// 100,000 through the activator (the 10,000 row is in activation.ts). Run: npm run bench -- host-scale
// Sizes: HOST_MODULES (default 100000).
import { createActivator } from '@modhost/activation';
import { type AnyModuleDefinition, createRegistry, defineModule } from '@modhost/core';
import { resolve } from '@modhost/resolver';
import { createHost } from 'modhost';
import { type Comparison, prng, report } from './lib.js';

const quiet = () => ({ debug() {}, info() {}, warn() {}, error() {} });
const name = (i: number) => `m${String(i).padStart(6, '0')}`;

/** A random DAG: module i depends on up to 3 modules below it (as in activation.ts). */
export function dag(n: number, seed = 11): AnyModuleDefinition[] {
  const random = prng(seed);
  return Array.from({ length: n }, (_, i) => {
    const deps: Record<string, string> = {};
    for (let k = 0; k < 3 && i > 0; k++) if (random() < 0.6) deps[name(Math.floor(random() * i))] = '^1.0.0';
    return defineModule({ name: name(i), version: '1.0.0', dependencies: deps, activate: () => ({}) });
  });
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

/** Samples the heap every 20 ms (and at the end) while `fn` runs: the peak it reached, in bytes. */
async function withPeakHeap<T>(fn: () => Promise<T>): Promise<{ result: T; peak: number; ms: number }> {
  let peak = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 20);
  const start = performance.now();
  try {
    const result = await fn();
    const ms = performance.now() - start;
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    return { result, peak, ms };
  } finally {
    clearInterval(timer);
  }
}

const time = async (fn: () => Promise<unknown>) => {
  const start = performance.now();
  await fn();
  return performance.now() - start;
};

/** Register + resolve + activate of `defs` through the activator, in ms (what activation.ts times at 10,000). */
async function activatorRun(defs: AnyModuleDefinition[]): Promise<number> {
  const start = performance.now();
  const registry = createRegistry();
  for (const d of defs) await registry.register(d);
  const plan = resolve({ roots: Object.fromEntries(defs.map((d) => [d.name, '*'])), catalog: defs });
  if (!plan.ok) throw new Error(plan.error.message);
  const report = await createActivator({ registry, slots: 8, logger: quiet, progressDeadlineMs: Number.POSITIVE_INFINITY }).activate(plan.plan);
  if (!report.ok) throw new Error('activation failed');
  return performance.now() - start;
}

export async function benchHostScale(): Promise<{ rows: Comparison[]; facts: Record<string, unknown> }> {
  const N = Number(process.env.HOST_MODULES ?? 100_000);
  const defs = dag(N);
  gc();
  const before = process.memoryUsage().heapUsed;
  const host = createHost({ version: '1.0.0', modules: defs, logger: quiet, healthMonitor: false, slots: 8 });
  const started = await withPeakHeap(() => host.start());
  if (!started.result.ok) throw new Error('the host did not start every module');
  const listMs = await time(() => host.registry.list());
  const pageMs = await time(() => host.registry.list({ limit: 100, after: `${name(50_000)}@1.0.0` }));
  const statusPageMs = await time(() => host.status({ limit: 100, after: name(50_000) }));
  const statusMs = await time(() => host.status());
  const stop = await withPeakHeap(() => host.stop());
  const stopped = stop.result as { ok?: boolean };
  const facts: Record<string, unknown> = {
    [`createHost: ${N.toLocaleString('en-US')} no-op modules, start() ms (register + resolve + activate)`]: Math.round(started.ms),
    'start(): host overhead per module µs': Math.round((started.ms * 1000) / N),
    'start(): peak heap MB (sampled every 20 ms; heap before the host)': `${mb(started.peak)} (${mb(before)})`,
    'registry.list() of every version ms': Math.round(listMs),
    'registry.list({ limit: 100, after }) ms': pageMs.toFixed(1),
    'host.status({ limit: 100, after }) ms': statusPageMs.toFixed(1),
    'host.status() of every module ms': Math.round(statusMs),
    'stop() ms, and it reported ok': `${Math.round(stop.ms)}, ${stopped.ok !== false}`,
  };
  if (process.env.HOST_SKIP_ACTIVATOR !== '1') {
    gc();
    const ms = await activatorRun(defs);
    facts[`createActivator: ${N.toLocaleString('en-US')} no-op modules, host overhead per module µs (incl. registry + resolve)`] = Math.round((ms * 1000) / N);
  }
  return { rows: [], facts };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { rows, facts } = await benchHostScale();
  report('host-scale', 'modhost: a host of 100,000 modules', rows, facts);
}
