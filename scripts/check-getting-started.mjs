// Walks docs/getting-started.md the way a new user does, from a fresh folder outside this repository, on the
// packages as npm would ship them (`npm pack` of each, after the build): install them, write a module with the CLI,
// run its tests, validate it, load it from an app's modules folder, and run the guide's own "host modules in your
// app" example, checking what it says it prints. A broken first hour fails `npm test`.
//
// Needs the package registry for the guide's third-party dependencies (zod, tsx and what the packages depend on);
// without it the walk says so and stops with an error rather than passing.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const guide = readFileSync(join(root, 'docs/getting-started.md'), 'utf8');
const run = (cmd, args, cwd, env = {}) => {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, timeout: 300_000 });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
};
const step = (what) => console.log(`✓ ${what}`);

const work = mkdtempSync(join(tmpdir(), 'modhost-first-hour-'));
try {
  // The packages, packed as they would be published (files: dist, README, package.json).
  const packs = join(work, 'packs');
  mkdirSync(packs);
  const publishable = readdirSync(join(root, 'packages'))
    .map((dir) => JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')))
    .filter((pkg) => !pkg.private);
  for (const pkg of publishable) run('npm', ['pack', '--silent', '--pack-destination', packs, '-w', pkg.name], root);
  const tarballs = readdirSync(packs).map((f) => join(packs, f));
  step(`npm pack: ${tarballs.length} packages`);

  // A fresh app that installs them (and what the guide's example imports).
  const app = join(work, 'my-app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-app', version: '1.0.0', private: true, type: 'module' }, null, 2));
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs, 'zod@^4', 'tsx@^4'], app);
  step('npm install of the packed packages into a fresh app');

  // 2. Write a module: the guide's commands, as it gives them.
  const created = run('npx', ['--no-install', 'modhost', 'create', 'greeter'], app);
  if (!created.includes('greeter')) throw new Error(`modhost create greeter printed:\n${created}`);
  step('npx modhost create greeter');
  run('npm', ['test'], join(app, 'greeter'));
  step('cd greeter && npm test');
  const validated = run('npx', ['--no-install', 'modhost', 'validate', '.'], join(app, 'greeter'));
  if (!validated.includes('greeter@')) throw new Error(`modhost validate printed:\n${validated}`);
  step('npx modhost validate .');

  // Dropped into an app's modules folder, it is installed and served at /greeter/hello.
  mkdirSync(join(app, 'modules'));
  run('cp', ['-r', join(app, 'greeter'), join(app, 'modules', 'greeter')], app);
  writeFileSync(
    join(app, 'serve-folder.mjs'),
    `import { createServer } from 'node:http';
import { createHost, createRequestListener } from 'modhost';
const host = createHost({ version: '1.0.0', modulesDir: './modules', policy: { grant: { '*': ['routes:mount', 'storage:module'] } }, logger: () => ({ debug() {}, info() {}, warn() {}, error() {} }) });
const report = await host.start();
const server = createServer(createRequestListener(host)).listen(0);
await new Promise((r) => server.once('listening', r));
const res = await fetch(\`http://127.0.0.1:\${server.address().port}/greeter/hello\`);
console.log(JSON.stringify({ ok: report.ok, status: res.status, problems: (await host.status()).problems.length }));
server.close();
await host.stop();
`,
  );
  const served = JSON.parse(run('node', ['serve-folder.mjs'], app).trim().split('\n').at(-1));
  if (!served.ok || served.status !== 200 || served.problems !== 0) throw new Error(`the greeter folder in ./modules: ${JSON.stringify(served)}`);
  step('greeter copied into ./modules is installed and serves /greeter/hello');

  // 3. Host modules in your app: the guide's example, run as it stands, prints what its comments promise.
  const section = guide.slice(guide.indexOf('## 3.'));
  const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!example) throw new Error('docs/getting-started.md has no ```ts example under "## 3."');
  writeFileSync(join(app, 'app.ts'), example);
  const printed = run('npx', ['--no-install', 'tsx', 'app.ts'], app);
  const promises = [...example.matchAll(/console\.log\(.*\);? \/\/ (.+)$/gm)].map((m) => m[1]);
  for (const p of promises) if (!printed.includes(p)) throw new Error(`the guide's example should print "${p}"; it printed:\n${printed}`);
  step(`the "host modules in your app" example prints what it promises (${promises.length} lines)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
