// bench/rescan: what a rescan of unchanged module folders costs. Run: npm run bench -- rescan
// A watcher rescans every folder when any one changes, so the common scan finds nothing to do. Each folder's files
// must be hashed once to notice a change (the integrity check); the baseline is exactly that, with no host around it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeIntegrity } from '@modhost/sandbox';
import { createHost } from 'modhost';
import { type Comparison, compare } from './lib.js';

const FOLDERS = 20;
const quiet = () => ({ debug() {}, info() {}, warn() {}, error() {} });

export async function benchRescan(): Promise<{ rows: Comparison[]; facts: Record<string, unknown> }> {
  const root = mkdtempSync(join(tmpdir(), 'modhost-rescan-'));
  // ~150 KB of code per module (a lookup table), as in bench/reload.
  const table = Array.from({ length: 12_000 }, (_, i) => `${i * 7919}`).join(',');
  const dirs = Array.from({ length: FOLDERS }, (_, i) => join(root, `m${i}`));
  dirs.forEach((dir, i) => {
    mkdirSync(dir);
    writeFileSync(join(dir, 'modhost.json'), JSON.stringify({ name: `m${i}`, version: '1.0.0', isolation: 'in-process' }));
    writeFileSync(join(dir, 'index.mjs'), `const T = [${table}];\nexport default { activate: () => ({ size: T.length }), health: () => true };\n`);
  });
  const host = createHost({ version: '1.0.0', modulesDir: root, logger: quiet });
  await host.start();
  const running = (await host.status()).modules.filter((m) => m.state === 'active').length;
  if (running !== FOLDERS) throw new Error(`only ${running} of ${FOLDERS} modules are active`);
  const row = await compare(
    `rescan, ${FOLDERS} unchanged folders`,
    ['host.rescan()', () => host.rescan()],
    [
      'computeIntegrity() of every folder, one by one',
      async () => {
        for (const dir of dirs) await computeIntegrity(dir);
      },
    ],
    5,
  );
  const still = (await host.status()).modules.filter((m) => m.state === 'active').length;
  await host.stop();
  rmSync(root, { recursive: true, force: true });
  if (still !== FOLDERS) throw new Error(`a rescan of unchanged folders changed what runs: ${still} of ${FOLDERS} active`);
  return {
    rows: [row],
    facts: {
      folders: FOLDERS,
      'ms per rescan': (1000 / row.subject.opsPerSec).toFixed(1),
      'ms to hash every folder once': (1000 / row.baseline.opsPerSec).toFixed(1),
    },
  };
}
