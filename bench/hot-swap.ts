// bench/hot-swap: a node:http server whose handler goes through the activation dispatcher, under load from
// autocannon (a separate process), while a module is upgraded over 1,000 times and over 100 upgrades fail their
// health gate and are discarded. Counts failed requests and measures "new version healthy → serving".
// Run: npm run bench -- hot-swap   (HOT_SWAP_SECONDS sets the load duration, default 5)
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type BoundHandler, createActivator, createRouter } from '@modhost/activation';
import { createRegistry, defineModule } from '@modhost/core';
import { resolve } from '@modhost/resolver';
import { report } from './lib.js';

const HEALTHY = 1000;
const FAILING = 100;
const quiet = () => ({ debug() {}, info() {}, warn() {}, error() {} });
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;

interface LoadResult {
  requests: { total: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number };
}

/** Runs autocannon in its own process (so it does not share our event loop) and returns its JSON summary. */
function load(url: string, seconds: number, method = 'GET'): Promise<LoadResult> {
  const bin = new URL('../node_modules/.bin/autocannon', import.meta.url).pathname;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, ['-c', '32', '-d', String(seconds), '-m', method, '--json', url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('exit', () => {
      try {
        resolvePromise(JSON.parse(out.trim().split('\n').at(-1) as string) as LoadResult);
      } catch (e) {
        reject(e);
      }
    });
  });
}

export async function benchHotSwap(seconds = Number(process.env.HOT_SWAP_SECONDS ?? 5)) {
  const versions = Array.from({ length: HEALTHY + FAILING }, (_, i) => `1.0.${i + 1}`);
  const failing = new Set(versions.filter((_, i) => (i + 1) % 11 === 0));
  const make = (v: string) =>
    defineModule({
      name: 'echo',
      version: v,
      routes: [{ method: 'GET', path: '/', handler: () => ({ body: v }) }],
      health: failing.has(v) ? () => false : () => true,
    });
  const registry = createRegistry();
  const first = make('1.0.0');
  await registry.register(first);
  for (const v of versions) await registry.register(make(v));
  const router = createRouter<BoundHandler>();
  const activator = createActivator({
    registry,
    router,
    logger: quiet,
    health: { periodMs: 1, failureThreshold: 1 },
    progressDeadlineMs: Number.POSITIVE_INFINITY,
  });
  const plan = resolve({ roots: { echo: '1.0.0' }, catalog: [first] });
  if (!plan.ok) throw new Error(plan.error.message);
  await activator.activate(plan.plan);

  let served = 0;
  let failedInServer = 0;
  const server = createServer(async (req, res) => {
    try {
      const r = await router.handle(req.method ?? 'GET', req.url ?? '/', (d) =>
        d.handler({ method: 'GET', path: '/', params: d.params, query: {}, headers: {} }),
      );
      if (!r) {
        failedInServer++;
        res.statusCode = 404;
        res.end();
        return;
      }
      served++;
      res.statusCode = r.status ?? 200;
      res.end(String(r.body));
    } catch {
      failedInServer++;
      res.statusCode = 500;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo`;

  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  // Baseline in the same run: the same server and load, with nothing swapping.
  const baseline = await load(url, 5);

  const loaded = load(url, seconds);
  await new Promise((r) => setTimeout(r, 1000));
  const switchMs: number[] = [];
  let swapped = 0;
  let discarded = 0;
  const started = performance.now();
  for (const v of process.env.NO_SWAPS ? [] : versions) {
    const r = await activator.upgrade('echo', v);
    if (r.outcome === 'switched') {
      swapped++;
      switchMs.push(r.switchMs ?? 0);
    } else if (r.outcome === 'failed') discarded++;
    else throw new Error(`unexpected upgrade outcome ${r.outcome} for ${v}`);
  }
  const swapSeconds = (performance.now() - started) / 1000;
  const during = await loaded;
  await new Promise<void>((r) => server.close(() => r()));
  gc?.();
  const retainedMb = gc ? ((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20).toFixed(1) : 'n/a (run with --expose-gc)';
  const swapsWithinLoad = swapSeconds + 1 < seconds;
  return {
    rows: [
      {
        name: 'throughput while swapping vs same server idle',
        subject: { label: `${swapped} swaps + ${discarded} rejected upgrades`, opsPerSec: during.requests.average },
        baseline: { label: 'no swaps', opsPerSec: baseline.requests.average },
        ratio: baseline.requests.average / during.requests.average,
      },
    ],
    facts: {
      'requests during swaps': during.requests.total,
      'req/s during swaps (autocannon, 32 connections)': Math.round(during.requests.average),
      'baseline (no swaps): socket errors / timeouts': `${baseline.errors} / ${baseline.timeouts}`,
      'non-2xx responses': during.non2xx,
      'socket errors': during.errors,
      timeouts: during.timeouts,
      'failed in the server (no route / threw)': failedInServer,
      'healthy swaps': swapped,
      'upgrades that failed their health gate, discarded': discarded,
      'all swaps done while load ran': swapsWithinLoad ? `yes (${swapSeconds.toFixed(1)} s of ${seconds} s)` : `NO: swaps took ${swapSeconds.toFixed(1)} s`,
      'healthy → serving p50 ms': percentile(switchMs, 50).toFixed(4),
      'healthy → serving p99 ms': percentile(switchMs, 99).toFixed(4),
      'request latency p50 / p99 ms (during swaps)': `${during.latency.p50} / ${during.latency.p99}`,
      'served by the handler': served,
      'heap retained after the swaps, MB (gc before and after)': retainedMb,
    },
  };
}

/**
 * Quiesce under load: a counter module whose state lives in the process takes POST /inc from autocannon while it
 * is upgraded over and over with stateMode 'quiesce'. Every increment the server acknowledged must be in the final
 * count.
 */
export async function benchQuiesce(seconds = Number(process.env.HOT_SWAP_SECONDS ?? 5), swaps = 200, mode: 'upgrades' | 'rollbacks' = 'upgrades') {
  const make = (v: string) => {
    let count = 0;
    return defineModule({
      name: 'counter',
      version: v,
      stateMode: 'quiesce',
      routes: [
        { method: 'POST', path: '/inc', handler: () => ({ body: ++count }) },
        { method: 'GET', path: '/', handler: () => ({ body: count }) },
      ],
      exportState: () => ({ count }),
      importState: (state) => {
        count = (state as { count: number }).count;
      },
      health: () => true,
    });
  };
  const versions = Array.from({ length: swaps }, (_, i) => `1.0.${i + 1}`);
  const registry = createRegistry();
  for (const v of ['1.0.0', ...versions]) await registry.register(make(v));
  const router = createRouter<BoundHandler>();
  const activator = createActivator({
    registry,
    router,
    logger: quiet,
    health: { periodMs: 1 },
    progressDeadlineMs: Number.POSITIVE_INFINITY,
    // Rollbacks need the previous version warm.
    rollbackWindowMs: mode === 'rollbacks' ? 600_000 : 0,
  });
  const plan = resolve({ roots: { counter: '1.0.0' }, catalog: [make('1.0.0')] });
  if (!plan.ok) throw new Error(plan.error.message);
  await activator.activate(plan.plan);
  let acknowledged = 0;
  let failed = 0;
  const server = createServer(async (req, res) => {
    try {
      const r = await router.handle(req.method ?? 'POST', req.url ?? '/', (d) =>
        d.handler({ method: 'POST', path: '/inc', params: d.params, query: {}, headers: {} }),
      );
      if (!r) {
        failed++;
        res.statusCode = 404;
        res.end();
        return;
      }
      acknowledged++;
      res.end(String(r.body));
    } catch {
      failed++;
      res.statusCode = 500;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/counter/inc`;
  const loaded = load(url, seconds, 'POST');
  await new Promise((r) => setTimeout(r, 500));
  let done = 0;
  for (const v of versions) {
    const r = await activator.upgrade('counter', v);
    if (r.outcome !== 'switched') throw new Error(`quiesce upgrade to ${v}: ${r.outcome} ${r.error?.message}`);
    if (mode === 'rollbacks') {
      // The new version serves for a moment; then the rollback points back at 1.0.0, which must take its state.
      await new Promise((r) => setTimeout(r, 10));
      if ((await activator.rollback('counter')).outcome !== 'rolled-back') throw new Error(`rollback from ${v} refused`);
    }
    done++;
  }
  const result = await loaded;
  await new Promise<void>((r) => server.close(() => r()));
  const final = (await router.handle('GET', '/counter', (d) => d.handler({ method: 'GET', path: '/', params: {}, query: {}, headers: {} })))?.body as number;
  const what = mode === 'upgrades' ? 'quiesce' : 'quiesce, upgrade then rollback';
  return {
    [`${what}: ${mode === 'upgrades' ? 'swaps' : 'upgrade + rollback cycles'} under POST load`]: done,
    [`${what}: increments acknowledged by the server`]: acknowledged,
    [`${what}: final count in the serving version`]: final,
    [`${what}: lost updates`]: acknowledged - final,
    [`${what}: failed requests (server) / non-2xx / errors / timeouts`]: `${failed} / ${result.non2xx} / ${result.errors} / ${result.timeouts}`,
    [`${what}: req/s`]: Math.round(result.requests.average),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { rows, facts } = await benchHotSwap();
  report('hot-swap', 'activation: hot swap under HTTP load', rows, {
    ...facts,
    ...(await benchQuiesce()),
    ...(await benchQuiesce(undefined, 100, 'rollbacks')),
  });
}
