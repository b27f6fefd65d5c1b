// bench/reload: what each reload of a module retains, per isolation tier. Run: npm run bench -- reload
// RELOAD_TABLE=<n> sets the module's size (default 12,000 table entries, ~150 KB of code).
// ESM cannot be unloaded, so an in-process module imported again under a new URL stays in memory; a worker
// takes its module with it when it is terminated. Baseline: plain `import()` of the same files under new URLs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHost } from 'modhost';
import type { Comparison } from './lib.js';

const RELOADS = 30;
const quiet = () => ({ debug() {}, info() {}, warn() {}, error() {} });
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** A module of realistic size: ~150 KB of code (a lookup table) plus a route. */
function entry(version: string) {
  const table = Array.from({ length: Number(process.env.RELOAD_TABLE ?? 12_000) }, (_, i) => `${i * 7919}`).join(',');
  return `const TABLE = [${table}];
export default {
  routes: [{ method: 'GET', path: '/v', handler: () => ({ body: { version: '${version}', size: TABLE.length } }) }],
  activate: () => ({ lookup: (i) => TABLE[i % TABLE.length] }),
  health: () => true,
};
`;
}

function write(root: string, version: string, isolation: string) {
  const dir = join(root, 'big');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'modhost.json'),
    JSON.stringify({ name: 'big', version, isolation, permissions: ['routes:mount'], routes: [{ method: 'GET', path: '/v' }] }),
  );
  writeFileSync(join(dir, 'index.mjs'), entry(version));
}

const heapAfterGc = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
};

async function throughHost(isolation: 'in-process' | 'worker') {
  const root = mkdtempSync(join(tmpdir(), 'modhost-reload-'));
  write(root, '1.0.0', isolation);
  const host = createHost({ version: '1.0.0', modulesDir: root, logger: quiet, rollbackWindowMs: 0, policy: { grant: { '*': ['routes:mount'] } } });
  await host.start();
  // One reload first, so what every reload allocates once (caches, code paths) is not counted.
  write(root, '1.0.1', isolation);
  await host.rescan();
  const before = await heapAfterGc();
  for (let i = 2; i <= RELOADS + 1; i++) {
    write(root, `1.0.${i}`, isolation);
    await host.rescan();
  }
  const after = await heapAfterGc();
  const status = (await host.status()).modules[0];
  await host.stop();
  rmSync(root, { recursive: true, force: true });
  if (status?.version !== `1.0.${RELOADS + 1}`) throw new Error(`reload did not land: ${JSON.stringify(status)}`);
  return (after - before) / RELOADS;
}

async function plainImports() {
  const root = mkdtempSync(join(tmpdir(), 'modhost-reload-plain-'));
  writeFileSync(join(root, 'm.mjs'), entry('x'));
  await import(`${pathToFileURL(join(root, 'm.mjs')).href}?v=warm`);
  const before = await heapAfterGc();
  const kept: unknown[] = [];
  for (let i = 0; i < RELOADS; i++) kept.push(((await import(`${pathToFileURL(join(root, 'm.mjs')).href}?v=${i}`)) as { default: unknown }).default);
  kept.length = 0;
  const after = await heapAfterGc();
  rmSync(root, { recursive: true, force: true });
  return (after - before) / RELOADS;
}

export async function benchReload(): Promise<{ rows: Comparison[]; facts: Record<string, unknown> }> {
  const plain = await plainImports();
  const inProcess = await throughHost('in-process');
  const worker = await throughHost('worker');
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
  const row = (name: string, label: string, bytes: number): Comparison => ({
    name,
    subject: { label, opsPerSec: 1 / Math.max(bytes, 1) },
    baseline: { label: 'plain import() under a new URL', opsPerSec: 1 / Math.max(plain, 1) },
    ratio: Math.max(bytes, 1) / Math.max(plain, 1),
  });
  return {
    rows: [
      row('retained per reload, in-process', 'host rescan, isolation in-process', inProcess),
      row('retained per reload, worker', 'host rescan, isolation worker', worker),
    ],
    facts: {
      'reloads measured': RELOADS,
      'plain import() retains per reload': kb(plain),
      'in-process reload retains': kb(inProcess),
      'worker reload retains': kb(worker),
      note: 'ratio = bytes retained per reload against plain import(); "ops/s" columns are 1/bytes',
    },
  };
}
