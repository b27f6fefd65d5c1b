// Runs publint (strict) and @arethetypeswrong/cli on every publishable package after the build.
// Exits non-zero on the first package with a problem, naming it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = (name) => join(root, 'node_modules', '.bin', name);
const packages = readdirSync(join(root, 'packages'))
  .map((dir) => join(root, 'packages', dir))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter(({ pkg }) => !pkg.private);

let failed = 0;
for (const { dir, pkg } of packages) {
  if (!existsSync(join(dir, 'dist'))) {
    console.error(`✗ ${pkg.name}: no dist/ — run \`npm run build\` first`);
    failed++;
    continue;
  }
  for (const [tool, args] of [
    ['publint', ['--strict', dir]],
    // `./bin` is the CLI's launcher (a script, no types); every other entry must resolve with types in ESM and CJS.
    ['attw', ['--pack', dir, '--format', 'table-flipped', '--profile', 'node16', ...(pkg.exports?.['./bin'] ? ['--exclude-entrypoints', './bin'] : [])]],
  ]) {
    const r = spawnSync(bin(tool), args, { encoding: 'utf8' });
    const out = `${r.stdout}${r.stderr}`
      .split('\n')
      .filter((l) => !l.includes('nodedir'))
      .join('\n');
    if (r.status !== 0) {
      console.error(`✗ ${pkg.name}: ${tool} found problems\n${out}`);
      failed++;
    } else {
      console.log(`✓ ${pkg.name}: ${tool}`);
    }
  }
}
if (failed > 0) process.exit(1);
console.log(`package checks passed for ${packages.length} package(s)`);
