// bench/health-probing: what continuous health probing costs a host with 10,000 modules, on the real clock.
// Measures CPU time per second of probing (process.cpuUsage), the timers the monitor created (one per wake-up,
// never one per module) and the probes done, against the same probes called from a plain loop (the baseline).

import { createActivator } from '@modhost/activation';
import { type AnyModuleDefinition, createRegistry, defineModule } from '@modhost/core';
import { resolve } from '@modhost/resolver';
import type { Comparison } from './lib.js';

const quiet = () => ({ debug() {}, info() {}, warn() {}, error() {} });
const name = (i: number) => `h${String(i).padStart(5, '0')}`;

const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

export async function benchHealthProbing(): Promise<{ rows: Comparison[]; facts: Record<string, unknown> }> {
  const N = 10_000;
  const PERIOD_MS = 1000;
  const SECONDS = 5;
  let calls = 0;
  // A tenth answer asynchronously (those probes get a deadline entry), the rest synchronously.
  const defs: AnyModuleDefinition[] = Array.from({ length: N }, (_, i) =>
    defineModule({
      name: name(i),
      version: '1.0.0',
      health:
        i % 10 === 0
          ? () => {
              calls++;
              return Promise.resolve(true);
            }
          : () => {
              calls++;
              return true;
            },
    }),
  );
  const registry = createRegistry();
  for (const d of defs) await registry.register(d);
  const plan = resolve({ roots: Object.fromEntries(defs.map((d) => [d.name, '*'])), catalog: defs });
  if (!plan.ok) throw new Error(plan.error.message);
  const activator = createActivator({
    registry,
    slots: 64,
    logger: quiet,
    progressDeadlineMs: Number.POSITIVE_INFINITY,
    healthMonitor: { periodMs: PERIOD_MS, timeoutMs: 500 },
  });
  const report = await activator.activate(plan.plan);
  if (!report.ok) throw new Error('activation failed');

  // Let the activation's garbage go first (run.ts has --expose-gc), so its collection is not billed to probing.
  await new Promise<void>((r) => setTimeout(r, 500));
  (globalThis as { gc?: () => void }).gc?.();

  // Monitor: N modules probed every PERIOD_MS for SECONDS on the real clock.
  calls = 0;
  const cpu = process.cpuUsage();
  const wall = performance.now();
  activator.monitor.start();
  await new Promise<void>((r) => setTimeout(r, SECONDS * 1000 + 50));
  activator.monitor.stop();
  const wallS = (performance.now() - wall) / 1000;
  const monitorCpu = cpuMs(cpu);
  const stats = activator.monitor.stats();
  const monitorCalls = calls;

  // Baseline: the same health() calls from a plain loop, as many as the monitor made.
  const probes = defs.map((d) => d.health as () => unknown);
  calls = 0;
  const base = process.cpuUsage();
  let done = 0;
  while (done < monitorCalls) {
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < N && done < monitorCalls; i++, done++) {
      const r = probes[i]?.();
      if (r instanceof Promise) pending.push(r);
    }
    await Promise.all(pending);
  }
  const baselineCpu = cpuMs(base);

  const perSecond = (ms: number) => ms / wallS;
  // As the other benches: probes per CPU-second, and how many times the baseline's cost per probe the monitor's is.
  const rows: Comparison[] = [
    {
      name: `${N.toLocaleString('en-US')} modules, period ${PERIOD_MS} ms, ${SECONDS} s`,
      subject: { label: 'health monitor (probes per CPU-second)', opsPerSec: Math.round(monitorCalls / Math.max(0.001, monitorCpu / 1000)) },
      baseline: { label: 'plain loop over the same health()', opsPerSec: Math.round(monitorCalls / Math.max(0.001, baselineCpu / 1000)) },
      ratio: Number((monitorCpu / Math.max(0.001, baselineCpu)).toFixed(2)),
    },
  ];
  const facts = {
    modules: N,
    periodMs: PERIOD_MS,
    seconds: Number(wallS.toFixed(2)),
    probesDone: stats.probes,
    healthCalls: monitorCalls,
    probesPerSecond: Math.round(stats.probes / wallS),
    timersCreated: stats.timersCreated,
    timersPerSecond: Number((stats.timersCreated / wallS).toFixed(1)),
    timedOut: stats.timedOut,
    skipped: stats.skipped,
    cpuMsPerSecondOfProbing: Number(perSecond(monitorCpu).toFixed(2)),
    cpuPercentOfOneCore: Number(((perSecond(monitorCpu) / 1000) * 100).toFixed(2)),
    cpuMicrosecondsPerProbe: Number(((monitorCpu * 1000) / Math.max(1, stats.probes)).toFixed(2)),
  };
  await activator.deactivate();
  return { rows, facts };
}
