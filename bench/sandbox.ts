// bench/sandbox: what permissions and isolation cost. Run: npm run bench -- sandbox
// Every figure is compared, in the same run, with the same work done without modhost: a direct call, a bare
// worker or child process answering an echo.
import { fork } from 'node:child_process';
import { dirname } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createModuleStorage } from '@modhost/activation';
import { defineModule, memoryStorage } from '@modhost/core';
import { createAuditLog, createSandbox, loadIsolatedModule } from '@modhost/sandbox';
import { spawnWorkerGuest } from '../packages/sandbox/src/guest-channel.js';
import { validateGuestMessage } from '../packages/sandbox/src/guest-message.js';
import type { Comparison } from './lib.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const entry = fileURLToPath(new URL('../packages/sandbox/fixtures/crashy/index.mjs', import.meta.url));
const ECHO = `const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m)); parentPort.postMessage('up');`;
const PROCESS_ECHO = fileURLToPath(new URL('./sandbox-echo.cjs', import.meta.url));

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] as number;
const row = (name: string, subject: [string, number], baseline: [string, number]): Comparison => ({
  name,
  subject: { label: subject[0], opsPerSec: subject[1] },
  baseline: { label: baseline[0], opsPerSec: baseline[1] },
  ratio: baseline[1] / subject[1],
});

/** Young-generation collections while `fn` runs: 0 means it allocated (next to) nothing. */
async function gcsDuring(fn: () => void): Promise<number> {
  let count = 0;
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setImmediate(r));
  const obs = new PerformanceObserver((list) => {
    count += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  fn();
  await new Promise((r) => setImmediate(r));
  obs.disconnect();
  return count;
}

/** ns per call of a tight synchronous loop, median of interleaved rounds. */
function nsPerCall(fns: Record<string, (i: number) => number>, calls: number): Record<string, number> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  let sink = 0;
  for (let round = 0; round < 7; round++) {
    for (const [k, fn] of Object.entries(fns)) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) sink += fn(i);
      times[k]?.push(Number(process.hrtime.bigint() - start) / calls);
    }
  }
  if (sink === -1) console.log(sink);
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, percentile(v, 0.5)]));
}

async function inProcess(): Promise<{ rows: Comparison[]; facts: Record<string, unknown> }> {
  const impl = (i: number) => i + 1;
  const sandbox = createSandbox({
    audit: createAuditLog(),
    policy: { grant: { bench: ['tasks:read'] } },
    services: { tasks: () => ({ count: { permission: 'tasks:read', call: impl } }) },
  });
  const def = defineModule({ name: 'bench', version: '1.0.0', permissions: ['tasks:read'] });
  const input = {
    module: 'bench',
    version: '1.0.0',
    config: {},
    logger: quiet,
    storage: createModuleStorage(memoryStorage(), 'modhost', 'bench'),
    deps: new Map(),
  };
  const { ctx } = sandbox.contextFor(input, def);
  const count = (ctx.services.tasks as { count: (i: number) => number }).count;
  const CALLS = 5_000_000;
  const ns = nsPerCall({ direct: (i) => impl(i), ctx: (i) => count(i) }, CALLS);
  const gcDirect = await gcsDuring(() => {
    for (let i = 0; i < CALLS; i++) impl(i);
  });
  const gcCtx = await gcsDuring(() => {
    for (let i = 0; i < CALLS; i++) count(i);
  });

  // Denied: a revoked grant, so the capability is still there and the check throws.
  sandbox.grant('denied', 'tasks:read');
  const denied = sandbox.contextFor({ ...input, module: 'denied' }, defineModule({ name: 'denied', version: '1.0.0', permissions: ['tasks:read'] }));
  const deniedCount = (denied.ctx.services.tasks as { count: (i: number) => number } | undefined)?.count;
  sandbox.revoke('denied', 'tasks:read');
  const plainThrow = (i: number) => {
    try {
      throw new Error(`no ${i}`);
    } catch {
      return 1;
    }
  };
  const deniedCall = (i: number) => {
    try {
      return (deniedCount as (i: number) => number)(i);
    } catch {
      return 1;
    }
  };
  const nsDenied = nsPerCall({ plain: plainThrow, denied: deniedCall }, 20_000);
  return {
    rows: [
      row('allowed ctx call', ['ctx.services.tasks.count(i)', 1e9 / (ns.ctx as number)], ['impl(i), direct', 1e9 / (ns.direct as number)]),
      row(
        'denied ctx call (revoked grant)',
        ['PERMISSION_DENIED thrown + audited', 1e9 / (nsDenied.denied as number)],
        ['throw/catch new Error', 1e9 / (nsDenied.plain as number)],
      ),
    ],
    facts: {
      'allowed call, ns': `${(ns.ctx as number).toFixed(2)} vs direct ${(ns.direct as number).toFixed(2)} (target ≤ 1.6×)`,
      'young-gen GCs during 5M calls': `ctx ${gcCtx}, direct ${gcDirect} (0 = nothing allocated per call)`,
    },
  };
}

async function workerBaseline() {
  const startTimes: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    const w = new Worker(ECHO, { eval: true });
    await new Promise((r) => w.once('message', r));
    startTimes.push(performance.now() - t);
    await w.terminate();
  }
  const w = new Worker(ECHO, { eval: true });
  await new Promise((r) => w.once('message', r));
  const pending = new Map<number, () => void>();
  w.on('message', (m: number) => pending.get(m)?.());
  let id = 0;
  const rt = () =>
    new Promise<void>((r) => {
      id += 1;
      pending.set(id, r);
      w.postMessage(id);
    });
  const rtt: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = performance.now();
    await rt();
    rtt.push(performance.now() - t);
  }
  const N = 100_000;
  const t = performance.now();
  for (let i = 0; i < N; i += 1000) await Promise.all(Array.from({ length: 1000 }, rt));
  const pipelined = N / ((performance.now() - t) / 1000);
  await w.terminate();
  return { start: percentile(startTimes, 0.5), rtt: percentile(rtt.slice(500), 0.5), pipelined };
}

/** Memory per module, MB: the host's RSS growth with 8 guests running the same module, each activated, divided by 8. */
async function memoryPerModule(sandboxed: boolean): Promise<number> {
  const N = 8;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().rss;
  const guests = [];
  for (let i = 0; i < N; i++) {
    const g = spawnWorkerGuest({}, { sandboxed });
    const pending = new Map<number, () => void>();
    let up: () => void = () => {};
    g.onMessage((m) => {
      const r = m as { t: string; id: number };
      if (r.t === 'up') up();
      else if (r.t === 'result') pending.get(r.id)?.();
    });
    await new Promise<void>((r) => {
      up = r;
    });
    let id = 0;
    const call = (op: string, args: unknown[]) =>
      new Promise<void>((r) => {
        id += 1;
        pending.set(id, r);
        g.post({ t: 'call', id, op, args });
      });
    const caps = { storage: true, net: false, fs: false, services: {}, deps: {} };
    await call('init', [{ entry, root: dirname(entry), module: 'crashy', version: '1.0.0', config: {}, caps }]);
    await call('activate', []);
    guests.push(g);
  }
  gc?.();
  const grown = (process.memoryUsage().rss - before) / N / 2 ** 20;
  for (const g of guests) await g.kill();
  return grown;
}

async function isolated(isolation: 'worker' | 'sandboxed' | 'process') {
  const sandbox = createSandbox({ policy: { grant: { crashy: ['storage:module'] } } });
  const iso = await loadIsolatedModule({ entry, isolation, sandbox, limits: { maxConcurrent: 2_000, maxQueued: 100_000, callTimeoutMs: 60_000 } });
  const input = {
    module: 'crashy',
    version: '1.0.0',
    config: {},
    logger: quiet,
    storage: createModuleStorage(memoryStorage(), 'modhost', 'crashy'),
    deps: new Map(),
  };
  const starts: number[] = [];
  for (let i = 0; i < 15; i++) {
    const { ctx } = sandbox.contextFor(input, iso.definition);
    const t = performance.now();
    await iso.definition.activate?.(ctx);
    starts.push(performance.now() - t);
    await iso.definition.deactivate?.(ctx);
  }
  const { ctx } = sandbox.contextFor(input, iso.definition);
  const api = (await iso.definition.activate?.(ctx)) as { ok: () => Promise<number> };
  const rtt: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = performance.now();
    await api.ok();
    rtt.push(performance.now() - t);
  }
  const N = 100_000;
  const t = performance.now();
  for (let i = 0; i < N; i += 1000) await Promise.all(Array.from({ length: 1000 }, () => api.ok()));
  const pipelined = N / ((performance.now() - t) / 1000);
  await iso.stop();
  return { start: percentile(starts, 0.5), rtt: percentile(rtt.slice(500), 0.5), pipelined };
}

/**
 * What checking every guest message costs: `validateGuestMessage` alone (ns per message, on fresh clones as a
 * channel delivers them), and a worker round trip through the real guest runtime with the check on and off,
 * interleaved round by round (the supervisor around it is the same either way, so it is left out).
 */
async function messageCheck() {
  const kinds = {
    result: { t: 'result', id: 12_345, ok: true, value: 1 },
    error: {
      t: 'result',
      id: 12_346,
      ok: false,
      error: {
        name: 'TypeError',
        message: 'bad input',
        code: undefined,
        stack: 'TypeError: bad input\n    at x (file:///m/index.mjs:1:1)',
        details: undefined,
      },
    },
    ctx: { t: 'ctx', id: 7, path: 'storage.get', args: ['k'] },
    log: { t: 'log', level: 'info', message: 'notes starting', fields: { tenant: 'acme' } },
  };
  const pools: Record<string, unknown[]> = Object.fromEntries(
    Object.entries(kinds).map(([k, m]) => [k, Array.from({ length: 1024 }, () => structuredClone(m))]),
  );
  const results = pools.result as { t: string }[];
  const check = (pool: unknown[]) => (i: number) => (validateGuestMessage(pool[i & 1023]) === undefined ? 1 : 0);
  const ns = nsPerCall(
    {
      // The least a host does with a message anyway: look at its "t".
      readT: (i) => ((results[i & 1023] as { t: string }).t === 'result' ? 1 : 0),
      ...Object.fromEntries(Object.entries(pools).map(([k, pool]) => [k, check(pool)])),
    },
    2_000_000,
  );

  const g = spawnWorkerGuest();
  let checking = true;
  let up: () => void = () => {};
  const pending = new Map<number, () => void>();
  g.onMessage((m) => {
    if (checking && validateGuestMessage(m) !== undefined) throw new Error('the guest runtime sent a malformed message');
    const r = m as { t: string; id: number };
    if (r.t === 'up') up();
    else if (r.t === 'result') pending.get(r.id)?.();
  });
  await new Promise<void>((r) => {
    up = r;
  });
  let id = 0;
  const call = (op: string, args: unknown[]) =>
    new Promise<void>((r) => {
      id += 1;
      pending.set(id, () => {
        pending.delete(id);
        r();
      });
      g.post({ t: 'call', id, op, args });
    });
  await call('init', [{ entry }]);
  await call('activate', []);
  const rounds: Record<'on' | 'off', number[]> = { on: [], off: [] };
  for (let round = 0; round < 9; round++) {
    for (const mode of ['on', 'off'] as const) {
      checking = mode === 'on';
      const rtt: number[] = [];
      for (let i = 0; i < 1500; i++) {
        const t = performance.now();
        await call('api', ['ok', []]);
        rtt.push(performance.now() - t);
      }
      rounds[mode].push(percentile(rtt.slice(200), 0.5));
    }
  }
  await g.kill();
  return { ns, on: percentile(rounds.on, 0.5), off: percentile(rounds.off, 0.5) };
}

async function processBaseline() {
  const starts: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    const c = fork(PROCESS_ECHO, [], { serialization: 'advanced', execArgv: [], env: {} });
    await new Promise((r) => c.once('message', r));
    starts.push(performance.now() - t);
    c.kill();
  }
  const c = fork(PROCESS_ECHO, [], { serialization: 'advanced', execArgv: [], env: {} });
  await new Promise((r) => c.once('message', r));
  const rtt: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = performance.now();
    await new Promise<void>((r) => {
      c.once('message', () => r());
      c.send(i);
    });
    rtt.push(performance.now() - t);
  }
  c.kill();
  return { start: percentile(starts, 0.5), rtt: percentile(rtt.slice(500), 0.5) };
}

export async function benchSandbox(): Promise<{ rows: Comparison[]; facts: Record<string, unknown> }> {
  const mem = await inProcess();
  const wb = await workerBaseline();
  const wk = await isolated('worker');
  const sb = await isolated('sandboxed');
  // Again in the other order: the machine's noise should not favour whichever ran first.
  const wk2 = await isolated('worker');
  const sb2 = await isolated('sandboxed');
  const best = (a: typeof wk, b: typeof wk) => ({
    start: Math.min(a.start, b.start),
    rtt: Math.min(a.rtt, b.rtt),
    pipelined: Math.max(a.pipelined, b.pipelined),
  });
  const w = best(wk, wk2);
  const x = best(sb, sb2);
  const memWorker = await memoryPerModule(false);
  const memSandboxed = await memoryPerModule(true);
  const mc = await messageCheck();
  const pb = await processBaseline();
  const pr = await isolated('process');
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  const us = (x: number) => `${(x * 1000).toFixed(0)} µs`;
  return {
    rows: [
      ...mem.rows,
      row('worker start (p50)', ['spawn + load + activate', 1000 / wk.start], ['bare Worker until first message', 1000 / wb.start]),
      row('worker round trip (p50, sequential)', ['api call through the supervisor', 1000 / wk.rtt], ['postMessage echo', 1000 / wb.rtt]),
      row('worker calls, pipelined', ['api calls, 1,000 in flight', wk.pipelined], ['postMessage echo, 1,000 in flight', wb.pipelined]),
      row('sandboxed start (p50)', ['spawn + lockdown + compartment load + activate', 1000 / x.start], ['worker tier, same module', 1000 / w.start]),
      row('sandboxed round trip (p50, sequential)', ['api call into the compartment', 1000 / x.rtt], ['worker tier, same call', 1000 / w.rtt]),
      row('sandboxed calls, pipelined', ['api calls, 1,000 in flight', x.pipelined], ['worker tier, same calls', w.pipelined]),
      row('guest message check, worker round trip (p50)', ['guest runtime, every message checked', 1000 / mc.on], ['same, unchecked', 1000 / mc.off]),
      row('guest message check alone', ['validateGuestMessage(result)', 1e9 / (mc.ns.result as number)], ['reading m.t', 1e9 / (mc.ns.readT as number)]),
      row('process start (p50)', ['fork + permission model + load + activate', 1000 / pr.start], ['bare fork until first message', 1000 / pb.start]),
      row('process round trip (p50, sequential)', ['api call over its framed socket', 1000 / pr.rtt], ['Node IPC echo', 1000 / pb.rtt]),
    ],
    facts: {
      ...mem.facts,
      'worker start p50': `${ms(wk.start)} (target ≤ 60 ms; bare worker ${ms(wb.start)})`,
      'worker round trip p50': `${us(wk.rtt)} (target ≤ 250 µs; bare echo ${us(wb.rtt)})`,
      'worker pipelined': `${Math.round(wk.pipelined).toLocaleString('en-US')} calls/s (target ≥ 100,000; bare echo ${Math.round(wb.pipelined).toLocaleString('en-US')})`,
      'sandboxed start p50': `${ms(x.start)} vs worker ${ms(w.start)}: ${(x.start / w.start).toFixed(2)}× (target ≤ 1.5×)`,
      'sandboxed round trip p50': `${us(x.rtt)} vs worker ${us(w.rtt)}: ${(x.rtt / w.rtt).toFixed(2)}× (target ≤ 1.2×)`,
      'sandboxed pipelined': `${Math.round(x.pipelined).toLocaleString('en-US')} calls/s vs worker ${Math.round(w.pipelined).toLocaleString('en-US')}: ${(w.pipelined / x.pipelined).toFixed(2)}× the time per call`,
      'memory per module (host RSS growth / module)': `sandboxed ${memSandboxed.toFixed(1)} MB vs worker ${memWorker.toFixed(1)} MB: ${(memSandboxed / memWorker).toFixed(2)}×`,
      'guest message check, ns per message': `result ${(mc.ns.result as number).toFixed(1)}, error result ${(mc.ns.error as number).toFixed(1)}, ctx ${(mc.ns.ctx as number).toFixed(1)}, log ${(mc.ns.log as number).toFixed(1)} (reading m.t: ${(mc.ns.readT as number).toFixed(1)})`,
      'guest message check, worker round trip p50': `${(mc.on * 1000).toFixed(1)} µs checked vs ${(mc.off * 1000).toFixed(1)} µs unchecked (one result message per call: ${(((mc.ns.result as number) / 1000 / (mc.on * 1000)) * 100).toFixed(2)}% of a round trip)`,
      'process start p50': `${ms(pr.start)} (target ≤ 200 ms; bare fork ${ms(pb.start)})`,
      'process round trip p50': `${us(pr.rtt)} (target ≤ 300 µs; bare echo ${us(pb.rtt)})`,
    },
  };
}
