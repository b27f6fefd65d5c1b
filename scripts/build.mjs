// Builds every workspace package after the packages it depends on (npm's --workspaces runs them
// alphabetically, which builds @modhost/activation before the @modhost/core types it needs).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const pkgs = readdirSync(join(root, 'packages'))
  .map((dir) => join(root, 'packages', dir))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }));
const byName = new Map(pkgs.map((p) => [p.pkg.name, p]));
const done = new Set();
const order = [];
const visit = (p, path = []) => {
  if (done.has(p.pkg.name)) return;
  if (path.includes(p.pkg.name)) throw new Error(`workspace dependency cycle: ${[...path, p.pkg.name].join(' -> ')}`);
  for (const dep of Object.keys({ ...p.pkg.dependencies, ...p.pkg.peerDependencies })) {
    const d = byName.get(dep);
    if (d) visit(d, [...path, p.pkg.name]);
  }
  done.add(p.pkg.name);
  order.push(p);
};
for (const p of [...pkgs].sort((a, b) => a.pkg.name.localeCompare(b.pkg.name))) visit(p);
for (const p of order) {
  if (!p.pkg.scripts?.build) continue;
  console.log(`\n▶ building ${p.pkg.name}`);
  execFileSync('npm', ['run', 'build'], { cwd: p.dir, stdio: 'inherit' });
}
