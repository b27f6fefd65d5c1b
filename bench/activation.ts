// bench/activation: how close the scheduler gets to the ideal, and what the host costs per module.
// Run: npm run bench -- activation

import { createActivator } from '@modhost/activation';
import { type AnyModuleDefinition, createRegistry, defineModule } from '@modhost/core';
import { resolve } from '@modhost/resolver';
import { type Comparison, compare, prng, report } from './lib.js';

const quiet = () => ({ debug() {}, info() {}, warn() {}, error() {} });
const name = (i: number) => `m${String(i).padStart(5, '0')}`;

/** A random DAG: module i depends on up to 3 modules below it. */
function dag(n: number, work: () => unknown, seed = 7): AnyModuleDefinition[] {
  const random = prng(seed);
  return Array.from({ length: n }, (_, i) => {
    const deps: Record<string, string> = {};
    for (let k = 0; k < 3 && i > 0; k++) if (random() < 0.6) deps[name(Math.floor(random() * i))] = '^1.0.0';
    return defineModule({ name: name(i), version: '1.0.0', dependencies: deps, activate: work as () => void });
  });
}

async function activateAll(defs: AnyModuleDefinition[], slots: number) {
  const registry = createRegistry();
  for (const d of defs) await registry.register(d);
  const plan = resolve({ roots: Object.fromEntries(defs.map((d) => [d.name, '*'])), catalog: defs });
  if (!plan.ok) throw new Error(plan.error.message);
  const activator = createActivator({ registry, slots, logger: quiet, progressDeadlineMs: Number.POSITIVE_INFINITY });
  return { run: () => activator.activate(plan.plan), plan: plan.plan };
}

/** The naive alternative many hosts use: wave by wave, everything in a wave at once (no slot limit). */
async function wavesBaseline(defs: AnyModuleDefinition[], waves: readonly (readonly string[])[], slots: number) {
  const byName = new Map(defs.map((d) => [d.name, d]));
  for (const wave of waves) {
    for (let i = 0; i < wave.length; i += slots) await Promise.all(wave.slice(i, i + slots).map((n) => byName.get(n)?.activate?.({} as never)));
  }
}

export async function benchActivation(): Promise<{ rows: Comparison[]; facts: Record<string, unknown> }> {
  const N = 500;
  const SLOTS = 8;
  const WORK_MS = 10;
  // Record how long each 10 ms of "work" really takes: timers fire late, and the bound should know it.
  const actual: number[] = [];
  const sleep = () => {
    const t = performance.now();
    return new Promise<void>((r) =>
      setTimeout(() => {
        actual.push(performance.now() - t);
        r();
      }, WORK_MS),
    );
  };
  const defs = dag(N, sleep);
  const first = await activateAll(defs, SLOTS);
  // The ideal: no schedule beats the critical path, nor the total work spread over the slots.
  const critical = Math.max(...first.plan.order.map((m) => first.plan.longestPath(m) ?? 0));
  const bound = Math.max(critical * WORK_MS, (N * WORK_MS) / SLOTS);
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const { run } = await activateAll(defs, SLOTS);
    const start = performance.now();
    const rep = await run();
    runs.push(performance.now() - start);
    if (!rep.ok) throw new Error('activation failed');
  }
  const workMs = actual.reduce((a, b) => a + b, 0) / Math.max(1, actual.length);
  const measuredBound = Math.max(critical * workMs, (N * workMs) / SLOTS);
  const naive: number[] = [];
  for (let r = 0; r < 3; r++) {
    const start = performance.now();
    await wavesBaseline(defs, first.plan.waves, SLOTS);
    naive.push(performance.now() - start);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

  // Host overhead: 10,000 modules that do nothing, against calling their activate() directly.
  const M = 10_000;
  const idle = dag(M, () => ({}), 11);
  const rows: Comparison[] = [];
  rows.push(
    await compare(
      '10,000 no-op modules: activate through the host vs call activate() directly',
      [
        'createActivator().activate',
        async () => {
          const { run } = await activateAll(idle, SLOTS);
          await run();
        },
      ],
      [
        'for-loop of activate()',
        async () => {
          for (const d of idle) await d.activate?.({} as never);
        },
      ],
      1,
    ),
  );
  const hostMs = 1000 / (rows[0]?.subject.opsPerSec ?? 1);
  return {
    rows,
    facts: {
      'DAG: modules, slots, work each': `${N}, ${SLOTS}, ${WORK_MS} ms`,
      'critical path (modules)': critical,
      'ideal bound ms = max(critical path, total work / slots)': Math.round(bound),
      'scheduler ms (median of 5)': Math.round(median(runs)),
      'scheduler / ideal': `${(median(runs) / bound).toFixed(3)}×`,
      'work actually took ms (mean setTimeout(10) under this load)': workMs.toFixed(2),
      'scheduler / ideal with the measured work time': `${(median(runs) / measuredBound).toFixed(3)}×`,
      'naive wave-by-wave ms (median of 3)': Math.round(median(naive)),
      'naive / ideal': `${(median(naive) / bound).toFixed(3)}×`,
      'host overhead per module µs (10,000 no-op modules, incl. registry + resolve)': Math.round((hostMs * 1000) / M),
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { rows, facts } = await benchActivation();
  report('activation', 'activation: scheduling against the ideal, host overhead per module', rows, facts);
}
