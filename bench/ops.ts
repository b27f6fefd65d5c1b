// bench/ops: what observability costs a request. The same module served through @modhost/http's node:http listener by
// hosts that differ only in their telemetry: none (the baseline: metrics and tracing off), Prometheus metrics
// (@modhost/http/metrics, target ≤ 1.1×), and, when @modhost/opentelemetry is there, OpenTelemetry traces with a no-op
// tracer provider and with the SDK's BasicTracerProvider + BatchSpanProcessor over an in-memory exporter (≤ 1.3×).
// Load comes from autocannon in its own process (bench/http-load.cjs); baseline and subject run in alternating rounds
// and the medians are compared.
// Run: npm run bench -- ops   (OPS_SECONDS: seconds per measurement, default 2)
import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineModule, type Telemetry } from '@modhost/core';
import { createHttpHandler } from '@modhost/http';
import { createMetrics } from '@modhost/http/metrics';
import { createRequestListener } from '@modhost/http/node';
import { silentLogger } from '@modhost/testkit';
import { createHost, type Host } from 'modhost';
import type { Comparison } from './lib.js';

const SECONDS = Number(process.env.OPS_SECONDS ?? 2);
const ROUNDS = 3;
const CONNECTIONS = 8;
const PATH = '/tasks/items/42';

/** One telemetry to compare with the baseline: how it is made, and the slowdown it may cost. */
export interface OpsVariant {
  readonly label: string;
  /** Made once, before its host: the host takes its telemetry at construction. */
  readonly telemetry: () => Telemetry | Promise<Telemetry>;
  /** The largest acceptable ratio (baseline req/s ÷ this variant's). */
  readonly target: number;
  /** Run after the measurement (flush an exporter, say); its result goes into the facts. */
  readonly after?: () => Promise<Record<string, unknown>>;
}

const tasks = defineModule({
  name: 'tasks',
  version: '1.0.0',
  permissions: ['routes:mount'],
  routes: [{ method: 'GET', path: '/items/:id', handler: (req) => ({ body: { id: req.params.id, title: `item ${req.params.id}`, done: false } }) }],
  health: () => true,
});

interface LoadResult {
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
}

/** autocannon in its own process, as bench/http.ts runs it (same script, same messages). */
async function startLoader() {
  const child = fork(fileURLToPath(new URL('./http-load.cjs', import.meta.url)), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('error', reject);
  });
  const waiting = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();
  child.on('message', (m: { id: number; result?: LoadResult; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.result) w?.resolve(m.result);
    else w?.reject(new Error(`autocannon: ${m.error}`));
  });
  let next = 0;
  return {
    run(url: string): Promise<LoadResult> {
      const id = next++;
      const result = new Promise<LoadResult>((resolve, reject) => waiting.set(id, { resolve, reject }));
      // autocannon stops on its once-a-second tick: a duration just under a whole second ends on the tick it means.
      child.send({ id, options: { url, connections: CONNECTIONS, duration: SECONDS - 0.05 } });
      return result;
    },
    close: () => child.disconnect(),
  };
}

interface Served {
  readonly host: Host;
  readonly url: string;
  close(): Promise<void>;
}

async function serve(telemetry: Telemetry | undefined, extra?: (server: Server) => void): Promise<Served> {
  const host = createHost({
    version: '1.0.0',
    modules: [tasks],
    logger: silentLogger,
    policy: { grant: { '*': ['routes:mount'] } },
    ...(telemetry ? { telemetry } : {}),
  });
  const report = await host.start();
  if (!report.ok) throw new Error(`the host did not start: ${JSON.stringify(report.modules)}`);
  const listener = createRequestListener(host, { onError: () => {}, onWarning: () => {} });
  const server = createServer((req, res) => void listener(req, res));
  extra?.(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await host.stop();
    },
  };
}

async function warm(url: string, requests = 1000): Promise<void> {
  let left = requests;
  const worker = async () => {
    while (left-- > 0) {
      const r = await fetch(url + PATH);
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`warm-up of ${url}${PATH}: ${r.status}`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** The part of `@opentelemetry/sdk-trace-base` the bench uses. */
interface OtelSdk {
  InMemorySpanExporter: new () => { getFinishedSpans(): readonly unknown[]; reset(): void };
  BatchSpanProcessor: new (exporter: unknown) => { forceFlush(): Promise<void> };
  BasicTracerProvider: new (config: { spanProcessors: readonly unknown[] }) => unknown;
}

/** OpenTelemetry variants, when `@modhost/opentelemetry` exports `openTelemetry` (another package; absent, no rows). */
async function openTelemetryVariants(): Promise<OpsVariant[]> {
  const otel = (await import('@modhost/opentelemetry').catch(() => ({}))) as Record<string, unknown>;
  const openTelemetry = otel.openTelemetry as ((options?: { tracerProvider?: unknown }) => Telemetry) | undefined;
  if (typeof openTelemetry !== 'function') return [];
  const api = await import('@opentelemetry/api');
  // The SDK is @modhost/opentelemetry's (dev) dependency, not the bench's: loaded only when that package is there.
  const sdkName = '@opentelemetry/sdk-trace-base';
  const sdk = (await import(sdkName)) as OtelSdk;
  const exporter = new sdk.InMemorySpanExporter();
  const processor = new sdk.BatchSpanProcessor(exporter);
  const provider = new sdk.BasicTracerProvider({ spanProcessors: [processor] });
  return [
    { label: 'OpenTelemetry, no-op tracer provider', telemetry: () => openTelemetry({ tracerProvider: new api.ProxyTracerProvider() }), target: 1.3 },
    {
      label: 'OpenTelemetry SDK: BasicTracerProvider, BatchSpanProcessor, in-memory exporter',
      telemetry: () => openTelemetry({ tracerProvider: provider }),
      target: 1.3,
      after: async () => {
        await processor.forceFlush();
        const spans = exporter.getFinishedSpans().length;
        exporter.reset();
        return { 'OpenTelemetry SDK: spans exported': spans };
      },
    },
  ];
}

/**
 * What the pipeline itself costs per request with `telemetry`, in process (no sockets, no load generator competing
 * for the 2 cores): the median of 5 rounds of 50,000 requests through `createHttpHandler(host).handle`, in µs.
 */
async function pipelineMicros(telemetry: Telemetry | undefined): Promise<number> {
  const host = createHost({
    version: '1.0.0',
    modules: [tasks],
    logger: silentLogger,
    policy: { grant: { '*': ['routes:mount'] } },
    healthMonitor: false,
    ...(telemetry ? { telemetry } : {}),
  });
  await host.start();
  const handler = createHttpHandler(host, { onError: () => {}, onWarning: () => {} });
  const request = { method: 'GET', path: PATH, search: '', headers: { host: 'bench' }, body: { kind: 'none' as const }, native: undefined };
  for (let i = 0; i < 20_000; i++) await handler.handle(request);
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < 50_000; i++) await handler.handle(request);
    rounds.push(((performance.now() - t) * 1000) / 50_000);
  }
  await host.stop();
  return median(rounds);
}

/**
 * Request throughput with each telemetry against the same server with none. `variants` defaults to Prometheus
 * metrics plus the OpenTelemetry ones when `@modhost/opentelemetry` provides them; pass more to compare them too.
 */
export async function benchOps(variants?: readonly OpsVariant[]): Promise<{ rows: Comparison[]; facts: Record<string, unknown> }> {
  const metrics = createMetrics();
  const all: readonly OpsVariant[] = variants ?? [
    { label: 'Prometheus metrics (@modhost/http/metrics)', telemetry: () => metrics.telemetry, target: 1.1 },
    // OpenTelemetry: @modhost/opentelemetry's telemetry goes here, in the same comparison.
    ...(await openTelemetryVariants()),
  ];
  const load = await startLoader();
  const rows: Comparison[] = [];
  const facts: Record<string, unknown> = {
    'machine load average (1, 5, 15 min) at the start': `${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${availableParallelism()} cores`,
    load: `autocannon, ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} alternating rounds, GET ${PATH}`,
  };
  const baseline = await serve(undefined);
  try {
    await warm(baseline.url);
    for (const variant of all) {
      const telemetry = await variant.telemetry();
      const subject = await serve(telemetry);
      try {
        await warm(subject.url);
        const base: number[] = [];
        const mine: number[] = [];
        let failures = 0;
        for (let round = 0; round < ROUNDS; round++) {
          // Alternate which goes first, so a drift in the machine's speed does not favour one.
          const order = round % 2 === 0 ? [baseline, subject] : [subject, baseline];
          for (const s of order) {
            const r = await load.run(s.url + PATH);
            failures += r.non2xx + r.errors;
            (s === baseline ? base : mine).push(r.ok / r.seconds);
          }
        }
        const b = median(base);
        const m = median(mine);
        const ratio = b / m;
        rows.push({
          name: `GET ${PATH} · ${variant.label}`,
          subject: { label: variant.label, opsPerSec: m },
          baseline: { label: 'no telemetry', opsPerSec: b },
          ratio,
        });
        facts[`${variant.label}: ratio ${ratio.toFixed(2)}× (target ≤ ${variant.target}×)`] = ratio <= variant.target ? 'met' : 'NOT met';
        facts[`${variant.label}: req/s per round (baseline / subject)`] = `${base.map(Math.round).join(', ')} / ${mine.map(Math.round).join(', ')}`;
        if (failures > 0) facts[`${variant.label}: failed requests`] = failures;
        // The same comparison in process: what the telemetry adds to the pipeline's own work per request.
        const alone = await pipelineMicros(undefined);
        const withIt = await pipelineMicros(await variant.telemetry());
        facts[`${variant.label}: pipeline µs per request in process (none / with)`] =
          `${alone.toFixed(2)} / ${withIt.toFixed(2)} (+${(withIt - alone).toFixed(2)} µs, ${(withIt / alone).toFixed(2)}×)`;
        if (variant.after) Object.assign(facts, await variant.after());
      } finally {
        await subject.close();
      }
    }
    // The scrape itself, once, after the load: how many series the requests left.
    const exposition = await metrics.registry.metrics();
    facts['Prometheus: series after the runs'] = exposition.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  } finally {
    await baseline.close();
    load.close();
  }
  return { rows, facts };
}
