// bench/worker-scale: a host with 200 worker modules (module folders, `isolation: 'worker'`) starts against 200 bare
// workers started the same way (`new Worker()` of a file that imports the same module and says it is up), in the same
// run; target ≤ 2×. Also the host's memory per worker module (RSS growth / module).
// Run: npm run bench -- worker-scale   (WORKER_MODULES changes the count)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createHost } from 'modhost';
import type { Comparison } from './lib.js';

const N = Number(process.env.WORKER_MODULES ?? 200);
const ENTRY = `export default { activate: () => ({ ping: () => 'pong' }), health: () => true };\n`;

/** `count` module folders of a no-op worker module under a fresh folder. */
function writeModules(count: number): string {
  const root = mkdtempSync(join(tmpdir(), 'modhost-worker-scale-'));
  for (let i = 0; i < count; i++) {
    const dir = join(root, `w${i}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'modhost.json'), JSON.stringify({ name: `w${i}`, version: '1.0.0', isolation: 'worker' }));
    writeFileSync(join(dir, 'index.mjs'), ENTRY);
  }
  return root;
}

/** The baseline: `count` bare workers, each importing its module's entry and posting once it is loaded. */
async function bareWorkers(root: string, count: number): Promise<{ ms: number; mbPerWorker: number }> {
  const boot = join(root, 'boot.mjs');
  writeFileSync(
    boot,
    `import { parentPort, workerData } from 'node:worker_threads';\nconst m = await import(workerData.entry);\nawait m.default.activate();\nparentPort.postMessage('up');\n`,
  );
  const before = process.memoryUsage().rss;
  const t = performance.now();
  const workers = await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const w = new Worker(boot, { workerData: { entry: pathToFileURL(join(root, `w${i}`, 'index.mjs')).href } });
      return new Promise<Worker>((resolve, reject) => {
        w.once('message', () => resolve(w));
        w.once('error', reject);
      });
    }),
  );
  const ms = performance.now() - t;
  const mbPerWorker = (process.memoryUsage().rss - before) / count / 2 ** 20;
  await Promise.all(workers.map((w) => w.terminate()));
  return { ms, mbPerWorker };
}

/** The subject: a host over the same folders, every module in a worker through the sandbox's guest runtime. */
async function host(root: string): Promise<{ ms: number; mbPerModule: number; active: number; stopOk: boolean }> {
  const h = createHost({
    version: '1.0.0',
    modulesDir: root,
    logger: () => ({ debug() {}, info() {}, warn() {}, error() {} }),
    healthMonitor: false,
    slots: 8,
  });
  const before = process.memoryUsage().rss;
  const t = performance.now();
  const report = await h.start();
  const ms = performance.now() - t;
  const mbPerModule = (process.memoryUsage().rss - before) / N / 2 ** 20;
  const active = report.modules.filter((m) => m.state === 'active').length;
  const stop = await h.stop();
  return { ms, mbPerModule, active, stopOk: stop.ok };
}

export async function benchWorkerScale(): Promise<{ rows: Comparison[]; facts: Record<string, unknown> }> {
  const root = writeModules(N);
  try {
    // Alternating rounds, medians: the machine is shared.
    const bare: { ms: number; mbPerWorker: number }[] = [];
    const hosted: { ms: number; mbPerModule: number; active: number; stopOk: boolean }[] = [];
    for (let round = 0; round < 3; round++) {
      if (round % 2 === 0) {
        bare.push(await bareWorkers(root, N));
        hosted.push(await host(root));
      } else {
        hosted.push(await host(root));
        bare.push(await bareWorkers(root, N));
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const b = median(bare.map((x) => x.ms));
    const s = median(hosted.map((x) => x.ms));
    return {
      rows: [
        {
          name: `start ${N} worker modules`,
          subject: { label: `createHost over ${N} worker module folders (modules started per second)`, opsPerSec: (N * 1000) / s },
          baseline: { label: `${N} bare new Worker() importing the same entry`, opsPerSec: (N * 1000) / b },
          ratio: s / b,
        },
      ],
      facts: {
        [`ratio ${(s / b).toFixed(2)}× (target ≤ 2×)`]: s / b <= 2 ? 'met' : 'NOT met',
        'start ms per round (bare / host)': `${bare.map((x) => Math.round(x.ms)).join(', ')} / ${hosted.map((x) => Math.round(x.ms)).join(', ')}`,
        'memory per worker module (host RSS growth / module)': `${median(hosted.map((x) => x.mbPerModule)).toFixed(1)} MB`,
        'memory per bare worker (RSS growth / worker)': `${median(bare.map((x) => x.mbPerWorker)).toFixed(1)} MB`,
        'modules active after start (each round)': hosted.map((x) => x.active).join(', '),
        'stopped cleanly (each round)': hosted.map((x) => x.stopOk).join(', '),
      },
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
