// Runs `npx modhost` the way a new user does, after the build: from this clone's root, and from an app whose
// node_modules holds modhost as npm installs it (the packages linked, modhost's bin linked into .bin).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const npx = (cwd, args) => execFileSync('npx', ['--no-install', 'modhost', ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const expect = (what, text, needle) => {
  if (!text.includes(needle)) throw new Error(`${what}: expected "${needle}" in:\n${text}`);
  console.log(`✓ ${what}`);
};

expect('npx modhost --help in the clone', npx(root, ['--help']), 'Usage: modhost');

const app = mkdtempSync(join(tmpdir(), 'modhost-app-'));
try {
  for (const dir of readdirSync(join(root, 'packages'))) {
    const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
    const at = join(app, 'node_modules', pkg.name);
    mkdirSync(dirname(at), { recursive: true });
    symlinkSync(join(root, 'packages', dir), at);
  }
  const modhost = JSON.parse(readFileSync(join(root, 'packages/modhost/package.json'), 'utf8'));
  mkdirSync(join(app, 'node_modules/.bin'), { recursive: true });
  symlinkSync(join('..', 'modhost', modhost.bin.modhost), join(app, 'node_modules/.bin/modhost'));
  expect('npx modhost --help in an app that installed modhost', npx(app, ['--help']), 'Usage: modhost');
  expect('npx modhost create greeter', npx(app, ['create', 'greeter']), 'greeter');
  expect('npx modhost validate greeter', npx(app, ['validate', 'greeter']), 'greeter@0.1.0');
} finally {
  rmSync(app, { recursive: true, force: true });
}
