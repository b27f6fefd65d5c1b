// bench/dev-reload: development mode, from saving a worker module's file until its new code answers over HTTP.
// Run: npm run bench -- dev. DEV_RUNS=<n> sets the number of saves measured (default 15).
// Subject: a host in development mode (`createHost({ dev: true })`, the watcher on, its 50 ms debounce) serving over
// node:http; each run saves the module's entry in place and polls the route until the new code answers. Baseline, in
// the same run and interleaved: what no reload can avoid, the same debounce wait, then a bare worker thread that
// imports the same file and answers once (no host, no integrity, no health gate, no switch).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createHost, createRequestListener, DEV_DEBOUNCE_MS, type Host } from 'modhost';
import type { Comparison } from './lib.js';

const RUNS = Number(process.env.DEV_RUNS ?? 15);
const TARGET_MS = 300;
const quiet = () => ({ debug() {}, info() {}, warn() {}, error() {} });
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const p90 = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))] as number;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A small worker module whose route says which save of its code runs. */
const entry = (edit: number) =>
  `export default {
  routes: [{ method: 'GET', path: '/edit', handler: () => ({ body: { edit: ${edit} } }) }],
  activate: () => ({ edit: () => ${edit} }),
  health: () => true,
};
`;

/** Saves edit `n` and polls the route (every 2 ms) until it answers with it; returns the ms from the save. */
async function saveUntilServed(dir: string, base: string, n: number): Promise<number> {
  const start = performance.now();
  writeFileSync(join(dir, 'index.mjs'), entry(n));
  for (;;) {
    const body = (await (await fetch(`${base}/dev/edit`)).json()) as { edit?: number };
    if (body.edit === n) return performance.now() - start;
    if (performance.now() - start > 30_000) throw new Error(`edit ${n} did not serve within 30 s`);
    await sleep(2);
  }
}

/** The baseline: the debounce wait, then a bare worker that imports the same file and answers once. */
async function bareWorker(file: string, n: number): Promise<number> {
  const start = performance.now();
  await sleep(DEV_DEBOUNCE_MS);
  const url = `${pathToFileURL(file).href}?run=${n}`;
  const code = `const { parentPort } = require('node:worker_threads');
import(${JSON.stringify(url)}).then(async (m) => parentPort.postMessage((await m.default.routes[0].handler()).body));`;
  const w = new Worker(code, { eval: true });
  await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  const ms = performance.now() - start;
  await w.terminate();
  return ms;
}

export async function benchDevReload(): Promise<{ rows: Comparison[]; facts: Record<string, unknown> }> {
  const root = mkdtempSync(join(tmpdir(), 'modhost-dev-reload-'));
  const dir = join(root, 'dev');
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'modhost.json'),
    JSON.stringify({ name: 'dev', version: '1.0.0', permissions: ['routes:mount'], routes: [{ method: 'GET', path: '/edit' }] }),
  );
  writeFileSync(join(dir, 'index.mjs'), entry(0));
  const baselineDir = join(root, 'baseline');
  mkdirSync(baselineDir);
  writeFileSync(join(baselineDir, 'index.mjs'), entry(0));

  const host: Host = createHost({ version: '1.0.0', dev: true, modulesDir: root, logger: quiet, policy: { grant: { '*': ['routes:mount'] } } });
  const reloadMs: number[] = [];
  host.events.on('module:reloaded', (e) => void reloadMs.push(e.ms));
  await host.start();
  const server = createServer(createRequestListener(host));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const subject: number[] = [];
  const baseline: number[] = [];
  try {
    // Warm-up: one of each, not counted.
    await saveUntilServed(dir, base, 1);
    await bareWorker(join(baselineDir, 'index.mjs'), 1);
    reloadMs.length = 0;
    for (let i = 0; i < RUNS; i++) {
      baseline.push(await bareWorker(join(baselineDir, 'index.mjs'), i + 2));
      subject.push(await saveUntilServed(dir, base, i + 2));
      // Let the watcher settle (the replaced guest stops) before the next save.
      await sleep(DEV_DEBOUNCE_MS * 2);
    }
  } finally {
    await new Promise((r) => server.close(r));
    await host.stop();
    rmSync(root, { recursive: true, force: true });
  }
  const s = median(subject);
  const b = median(baseline);
  return {
    rows: [
      {
        name: `save → new code answers over HTTP, worker module (median of ${RUNS})`,
        subject: { label: 'dev host: watcher, integrity, worker start, health gate, switch', opsPerSec: 1000 / s },
        baseline: { label: `${DEV_DEBOUNCE_MS} ms debounce + bare Worker importing the file`, opsPerSec: 1000 / b },
        ratio: s / b,
      },
    ],
    facts: {
      runs: RUNS,
      'watcher debounce (ms)': DEV_DEBOUNCE_MS,
      'save → serving, median (ms)': s.toFixed(1),
      'save → serving, p90 (ms)': p90(subject).toFixed(1),
      'baseline, median (ms)': b.toFixed(1),
      'reload itself (module:reloaded ms, after the debounce), median': reloadMs.length > 0 ? median(reloadMs).toFixed(1) : 'n/a',
      [`within the ${TARGET_MS} ms target`]: s <= TARGET_MS ? 'yes' : 'no',
      note: '"ops/s" columns are 1000 / median ms; ratio = subject ms / baseline ms',
    },
  };
}
