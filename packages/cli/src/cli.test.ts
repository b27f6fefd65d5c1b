import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createFakeClock, silentLogger } from '@modhost/testkit';
import { build } from 'esbuild';
import { createHost, createRequestListener } from 'modhost';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { run } from './cli.js';
import type { CliIo } from './cli-io.js';
import type { TenantsBackend } from './tenants.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'modhost-cli-'));
  dirs.push(d);
  return d;
};

async function cli(args: string[], cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), cwd };
  const code = await run(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function writeModule(parent: string, dir: string, manifest: Record<string, unknown>, entry = 'export default {}') {
  mkdirSync(join(parent, dir), { recursive: true });
  writeFileSync(join(parent, dir, 'modhost.json'), JSON.stringify(manifest));
  writeFileSync(join(parent, dir, 'index.mjs'), entry);
}

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const cliVersion = (JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')) as { version: string }).version;

/** Runs a real npm (or any command) with only Node's own folder on PATH, unless told otherwise. */
function sh(command: string, args: string[], cwd: string, path = dirname(process.execPath)) {
  const r = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { PATH: path, HOME: process.env.HOME ?? tmpdir(), npm_config_update_notifier: 'false', npm_config_fund: 'false' },
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}
const typecheck = (cwd: string, files: string[]) => sh(process.execPath, [tsc, '--noEmit', '--allowJs', '--checkJs', ...files], cwd);

/** An app that installed modhost (every package linked into node_modules, as npm installs it) and TypeScript. */
function appWithModhost(): string {
  const app = temp();
  for (const dir of readdirSync(join(root, 'packages'))) {
    const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as { name: string };
    mkdirSync(dirname(join(app, 'node_modules', pkg.name)), { recursive: true });
    symlinkSync(join(root, 'packages', dir), join(app, 'node_modules', pkg.name));
  }
  symlinkSync(join(root, 'node_modules/typescript'), join(app, 'node_modules/typescript'));
  mkdirSync(join(app, 'node_modules/.bin'));
  symlinkSync('../typescript/bin/tsc', join(app, 'node_modules/.bin/tsc'));
  mkdirSync(join(app, 'modules'));
  return app;
}

/** A host over `modules` that serves GET /<name>/hello, as the app would. */
async function serveHello(modules: string, names: string[]) {
  const host = createHost({
    version: '1.0.0',
    modulesDir: modules,
    clock: createFakeClock(),
    logger: silentLogger,
    policy: { grant: { '*': ['routes:mount', 'storage:module'] } },
  });
  await host.start();
  await host.rescan();
  const { createServer } = await import('node:http');
  const server = createServer(createRequestListener(host));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  try {
    const bodies: unknown[] = [];
    for (const name of names) bodies.push(await (await fetch(`http://127.0.0.1:${port}/${name}/hello`)).json());
    return bodies;
  } finally {
    await new Promise((r) => server.close(r));
    await host.stop();
  }
}

describe('modhost create → validate → its own test → a host serves it', () => {
  it('standalone (a folder of its own): validates, passes npm test with nothing but Node, and a host serves it', async () => {
    const work = temp();
    const created = await cli(['create', 'greeter'], work);
    expect(created.code).toBe(0);
    const dir = join(work, 'greeter');
    expect(created.out).toContain(`created ${dir}`);
    expect(created.out).toContain('npm install');

    expect(await cli(['validate', 'greeter'], work)).toMatchObject({ code: 0, out: '✓ greeter@0.1.0 is valid' });
    const manifest = JSON.parse(readFileSync(join(dir, 'modhost.json'), 'utf8'));
    // Nothing to find from here: the module's own npm install brings the schema.
    expect(manifest).toMatchObject({ $schema: './node_modules/@modhost/manifest/schema.json', main: 'index.mjs', version: '0.1.0' });
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({
      version: '0.1.0',
      scripts: { test: 'node --test', typecheck: 'tsc -p .', types: 'modhost types .', validate: 'modhost validate .' },
    });
    // The versions of the CLI that made it, never "*" (which installs nothing outside this repository).
    expect(pkg.devDependencies).toEqual({ '@modhost/cli': `^${cliVersion}`, '@modhost/manifest': `^${cliVersion}`, typescript: '^5.0.0' });

    const tested = sh('npm', ['test'], dir);
    expect(tested.out).toMatch(/# pass 2/);
    expect(tested.code).toBe(0);
    expect(readFileSync(join(dir, 'index.mjs'), 'utf8')).toMatch(/^\/\/ @ts-check\n/);
    expect(typecheck(dir, ['index.mjs'])).toEqual({ code: 0, out: '' });

    const modules = join(work, 'modules');
    mkdirSync(modules);
    cpSync(dir, join(modules, 'greeter'), { recursive: true });
    expect(await serveHello(modules, ['greeter'])).toEqual([{ message: 'hello from greeter', visits: 1 }]);
  });

  it("inside an app's modules folder (JavaScript and --ts): the app's schema, no install of its own, the app's host serves both", async () => {
    const app = appWithModhost();
    const modules = join(app, 'modules');
    expect((await cli(['create', 'greeter', '--dir', 'modules'], app)).code).toBe(0);
    const ts = await cli(['create', 'typed', '--ts', '--dir', 'modules'], app);
    expect(ts.code).toBe(0);
    expect(ts.out).not.toContain('npm install');
    for (const name of ['greeter', 'typed']) {
      const dir = join(modules, name);
      const { $schema } = JSON.parse(readFileSync(join(dir, 'modhost.json'), 'utf8'));
      expect($schema).toBe('../../node_modules/@modhost/manifest/schema.json');
      expect(existsSync(join(dir, $schema))).toBe(true);
      // Only Node on PATH: npm run finds tsc in the app's node_modules/.bin.
      const tested = sh('npm', ['test'], dir);
      expect(tested.out).toMatch(/# pass 2/);
      expect(tested.code).toBe(0);
      expect(sh('npm', ['run', 'typecheck'], dir).code).toBe(0);
      // No advice either: the schema is found, the types are current.
      expect(await cli(['validate', dir], app)).toMatchObject({ code: 0, out: `✓ ${name}@0.1.0 is valid` });
    }
    expect(JSON.parse(readFileSync(join(modules, 'typed/modhost.json'), 'utf8')).main).toBe('dist/index.mjs');
    expect(existsSync(join(modules, 'typed/dist/index.mjs'))).toBe(true);
    expect(await serveHello(modules, ['greeter', 'typed'])).toEqual([
      { message: 'hello from greeter', visits: 1 },
      { message: 'hello from typed', visits: 1 },
    ]);
  });

  it('--ts standalone: validate asks for the build; npm test builds src/index.mts with tsc and tests dist/index.mjs', async () => {
    const work = temp();
    expect((await cli(['create', 'typed', '--ts'], work)).code).toBe(0);
    const dir = join(work, 'typed');
    expect(existsSync(join(dir, 'src/index.mts'))).toBe(true);
    const unbuilt = await cli(['validate', 'typed'], work);
    expect(unbuilt.code).toBe(1);
    expect(unbuilt.out).toContain('the entry "dist/index.mjs" does not exist');
    expect(unbuilt.out).toContain('→ build the module first (npm run build)');
    // TypeScript on PATH stands for the module's own npm install.
    const tested = sh('npm', ['test'], dir, `${join(root, 'node_modules/.bin')}:${dirname(process.execPath)}`);
    expect(tested.out).toMatch(/# pass 2/);
    expect(tested.code).toBe(0);
    expect(await cli(['validate', 'typed'], work)).toMatchObject({ code: 0, out: '✓ typed@0.1.0 is valid' });
    // A type error in the source fails the build, and so the tests.
    const src = join(dir, 'src/index.mts');
    writeFileSync(src, readFileSync(src, 'utf8').replace('ctx.config.greeting', 'ctx.config.greting'));
    const broken = sh('npm', ['test'], dir, `${join(root, 'node_modules/.bin')}:${dirname(process.execPath)}`);
    expect(broken.code).not.toBe(0);
    expect(broken.out).toContain("error TS2551: Property 'greting' does not exist on type 'Readonly<Config>'. Did you mean 'greeting'?");
  });

  it('the JavaScript module is typed from its manifest: tsc --noEmit --allowJs --checkJs passes, and catches mistakes', async () => {
    const work = temp();
    await cli(['create', 'greeter'], work);
    const dir = join(work, 'greeter');
    const entry = readFileSync(join(dir, 'index.mjs'), 'utf8');
    expect(typecheck(dir, ['index.mjs']).code).toBe(0);
    const broken = (name: string, from: string, to: string) => {
      expect(entry).toContain(from);
      writeFileSync(join(dir, name), entry.replace(from, to));
      return typecheck(dir, [name]);
    };
    // A config key the schema does not have.
    expect(broken('typo.mjs', 'ctx.config.greeting', 'ctx.config.greting').out).toContain(
      "typo.mjs(15,49): error TS2551: Property 'greting' does not exist on type 'Readonly<Config>'. Did you mean 'greeting'?",
    );
    // A route modhost.json does not declare.
    expect(broken('route.mjs', "path: '/hello'", "path: '/hullo'").out).toMatch(
      /route\.mjs\(\d+,\d+\): error TS2322: .*\n[\s\S]*Types of property 'path' are incompatible/,
    );
    // A hook that does not exist.
    expect(broken('hook.mjs', 'async health(ctx)', 'async healthy(ctx)').out).toContain("'healthy' does not exist in type 'Module'");
  });

  it('refuses a bad name and an existing folder (exit 2)', async () => {
    const work = temp();
    expect((await cli(['create', 'Bad Name'], work)).code).toBe(2);
    await cli(['create', 'x'], work);
    const again = await cli(['create', 'x'], work);
    expect(again.code).toBe(2);
    expect(again.err).toContain('exists and is not empty');
  });
});

describe('modhost types', () => {
  it('regenerates modhost-env.d.ts when the manifest changes (validate advises it), --check for CI, and re-points $schema after a move', async () => {
    const work = temp();
    await cli(['create', 'greeter'], work);
    const dir = join(work, 'greeter');
    expect(await cli(['types', 'greeter', '--check'], work)).toMatchObject({ code: 0 });
    const manifest = JSON.parse(readFileSync(join(dir, 'modhost.json'), 'utf8'));
    manifest.config.schema.properties.shout = { type: 'boolean', description: 'upper-case the greeting' };
    manifest.config.schema.properties.style = { enum: ['plain', 'fancy'] };
    manifest.dependencies = { tasks: '^1.0.0' };
    manifest.permissions.push('net:fetch:api.example.com');
    manifest.routes.push({ method: 'GET', path: '/hello/:who' });
    writeFileSync(join(dir, 'modhost.json'), JSON.stringify(manifest, null, 2));

    const advised = await cli(['validate', 'greeter'], work);
    expect(advised.out).toContain('• modhost-env.d.ts: is older than modhost.json');
    expect(await cli(['types', 'greeter', '--check'], work)).toMatchObject({ code: 1, out: expect.stringContaining('is missing or older than modhost.json') });
    expect(await cli(['types'], dir)).toMatchObject({ code: 0, out: `✓ wrote ${join(dir, 'modhost-env.d.ts')}` });
    expect(await cli(['types', 'greeter', '--check'], work)).toMatchObject({ code: 0 });
    const types = readFileSync(join(dir, 'modhost-env.d.ts'), 'utf8');
    expect(types).toContain(
      '  readonly greeting: string;\n  /** upper-case the greeting */\n  readonly shout?: boolean;\n  readonly style?: "plain" | "fancy";\n};',
    );
    expect(types).toContain('export type Deps = {\n  readonly tasks: unknown;\n}');
    expect(types).toContain('  readonly net: Net;');
    expect(types).toContain('readonly handler: (req: RouteRequest<{ readonly who: string }>, ctx: Context)');

    // The code now uses what the new manifest gives it; a stale use is caught.
    const entry = readFileSync(join(dir, 'index.mjs'), 'utf8').replace(
      '  ],\n  async activate',
      `    {
      method: 'GET',
      path: '/hello/:who',
      handler: async (req, ctx) => ({ body: { message: \`\${ctx.config.greeting} \${req.params.who}\`, loud: ctx.config.shout === true } }),
    },
  ],
  async activate`,
    );
    writeFileSync(join(dir, 'index.mjs'), entry);
    expect(typecheck(dir, ['index.mjs'])).toEqual({ code: 0, out: '' });
    writeFileSync(join(dir, 'index.mjs'), entry.replace('req.params.who', 'req.params.whom'));
    expect(typecheck(dir, ['index.mjs']).out).toContain("Property 'whom' does not exist on type '{ readonly who: string; }'");

    // Moved into an app: "$schema" leads nowhere; validate advises, types re-points it and keeps the rest of the file.
    const app = appWithModhost();
    cpSync(dir, join(app, 'modules/greeter'), { recursive: true });
    const moved = join(app, 'modules/greeter');
    expect((await cli(['validate', moved], app)).out).toContain(
      '• modhost.json: $schema: "./node_modules/@modhost/manifest/schema.json" leads nowhere from this folder (it moved?)',
    );
    const before = readFileSync(join(moved, 'modhost.json'), 'utf8');
    expect(await cli(['types', 'modules/greeter'], app)).toMatchObject({
      code: 0,
      out: expect.stringContaining(
        '✓ pointed "$schema" at ../../node_modules/@modhost/manifest/schema.json (it was ./node_modules/@modhost/manifest/schema.json)',
      ),
    });
    expect(readFileSync(join(moved, 'modhost.json'), 'utf8')).toBe(
      before.replace('"./node_modules/@modhost/manifest/schema.json"', '"../../node_modules/@modhost/manifest/schema.json"'),
    );
    expect(await cli(['types', 'modules/greeter', '--check'], app)).toMatchObject({ code: 0 });
    // An invalid manifest: exit 1 with its problems.
    writeFileSync(join(moved, 'modhost.json'), '{ "name": "greeter" }');
    expect(await cli(['types', 'modules/greeter'], app)).toMatchObject({ code: 1, out: expect.stringContaining('version') });
  });
});

describe('modhost validate: package.json and modhost.json versions', () => {
  it('fails with both values and what to do when they differ', async () => {
    const work = temp();
    await cli(['create', 'greeter'], work);
    const pkgFile = join(work, 'greeter/package.json');
    writeFileSync(pkgFile, readFileSync(pkgFile, 'utf8').replace('"version": "0.1.0"', '"version": "0.2.0"'));
    const r = await cli(['validate', 'greeter'], work);
    expect(r.code).toBe(1);
    expect(r.out).toContain('✗ package.json: version: package.json says "0.2.0" but modhost.json says "0.1.0"; hosts install modhost.json\'s version');
    expect(r.out).toContain('→ set the same version in both files (npm version bumps only package.json), or remove "version" from package.json');
    const json = JSON.parse((await cli(['validate', 'greeter', '--json'], work)).out);
    expect(json.problems).toContainEqual(expect.objectContaining({ where: 'package.json: version' }));
    // Without a version in package.json there is nothing to disagree with.
    writeFileSync(pkgFile, JSON.stringify({ name: 'modhost-module-greeter', private: true, type: 'module' }));
    expect((await cli(['validate', 'greeter'], work)).code).toBe(0);
  });
});

describe('modhost validate', () => {
  it('lists every problem and exits 1; --json for machines', async () => {
    const work = temp();
    writeModule(
      work,
      'bad',
      { name: 'bad', version: '1.0.0', permissions: ['fs:read', 'tasks:read'], routes: [{ method: 'GET', path: '/a' }] },
      "export default { routes: [{ method: 'GET', path: '/b', handler: () => ({}) }] }",
    );
    const r = await cli(['validate', 'bad'], work);
    expect(r.code).toBe(1);
    expect(r.out).toContain('modhost.json: permissions.0: "fs:read" needs a scope');
    expect(r.out).toContain('route GET /a is declared in modhost.json but the entry has no handler for it');
    expect(r.out).toContain('the entry handles GET /b, which modhost.json does not declare');
    expect(r.out).toContain('does not request "routes:mount"');
    const json = JSON.parse((await cli(['validate', 'bad', '--json'], work)).out);
    expect(json).toMatchObject({ ok: false, module: 'bad@1.0.0' });
    expect(json.problems.length).toBeGreaterThanOrEqual(4);

    writeModule(work, 'broken', { name: 'Broken', version: '1', surprise: 1 });
    const broken = await cli(['validate', 'broken'], work);
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(/modhost.json: name: .*\n.*modhost.json: version: .*\n.*modhost.json: surprise: unknown field "surprise"/);
  });
});

describe('modhost validate runs the module as untrusted code', () => {
  it('in a child process with no grants: top-level code cannot write a file, and the contract is still checked', async () => {
    const work = temp();
    const outside = join(temp(), `probe-${process.pid}-${Date.now()}`);
    // Swallows the refusal, so the module loads and its contract is reported as usual.
    writeModule(
      work,
      'quiet',
      { name: 'quiet', version: '1.0.0' },
      `import { writeFileSync } from 'node:fs';
for (const target of [${JSON.stringify(outside)}, new URL('./written.txt', import.meta.url)]) {
  try { writeFileSync(target, 'written during validate'); } catch {}
}
export default { name: 'quiet', version: '1.0.0', health: () => true };`,
    );
    expect(await cli(['validate', 'quiet'], work)).toMatchObject({ code: 0, out: '✓ quiet@1.0.0 is valid' });
    // Does not swallow it: the load fails and validate says why.
    writeModule(
      work,
      'loud',
      { name: 'loud', version: '1.0.0' },
      `import { writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(outside)}, 'written during validate');
export default { name: 'loud', version: '1.0.0' };`,
    );
    const loud = await cli(['validate', 'loud'], work);
    expect(loud.code).toBe(1);
    expect(loud.out).toContain(`the operating system refused FileSystemWrite on ${outside}`);
    expect(existsSync(outside)).toBe(false);
    expect(existsSync(join(work, 'quiet', 'written.txt'))).toBe(false);
  });

  it('a folder that ships a link out of itself is refused before any of its code runs', async () => {
    const work = temp();
    const secrets = temp();
    writeFileSync(join(secrets, 'token'), 'TOP SECRET');
    const marker = join(temp(), 'ran');
    writeModule(
      work,
      'peek',
      { name: 'peek', version: '1.0.0' },
      `import { readFileSync, writeFileSync } from 'node:fs';
try { writeFileSync(${JSON.stringify(marker)}, readFileSync(new URL('./out/token', import.meta.url), 'utf8')); } catch {}
export default { name: 'peek', version: '1.0.0' };`,
    );
    symlinkSync(secrets, join(work, 'peek', 'out'));
    const r = await cli(['validate', 'peek'], work);
    expect(r.code).toBe(1);
    expect(r.out).toContain('out');
    expect(r.out).toMatch(/link/i);
    expect(existsSync(marker)).toBe(false);
  });

  it('a module that posts null on its channel while loading is reported, and validate lives on', async () => {
    const work = temp();
    writeModule(
      work,
      'rude',
      { name: 'rude', version: '1.0.0' },
      `import { writeSync } from 'node:fs';
import { serialize } from 'node:v8';
import { parentPort } from 'node:worker_threads';
// Whichever tier runs it: a worker's parentPort, or a process guest's frames on fd 3.
if (parentPort) parentPort.postMessage(null);
else {
  const body = serialize(null);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  writeSync(3, Buffer.concat([head, body]));
}
export default { name: 'rude', version: '1.0.0' };`,
    );
    const r = await cli(['validate', 'rude'], work);
    expect(r.code).toBe(1);
    expect(r.out).toContain('not a modhost guest message: expected an object with "t", got null');
    expect(await cli(['validate', 'rude', '--json'], work)).toMatchObject({ code: 1 });
  });
});

describe('modhost graph', () => {
  it('prints waves, dot, or why there is no plan', async () => {
    const work = temp();
    writeModule(work, 'tasks', { name: 'tasks', version: '1.2.0' });
    writeModule(work, 'reports', { name: 'reports', version: '1.0.0', dependencies: { tasks: '^1.0.0' } });
    writeModule(work, 'notes', { name: 'notes', version: '0.3.0' });
    expect(await cli(['graph', '.'], work)).toMatchObject({ code: 0, out: 'wave 1: notes@0.3.0, tasks@1.2.0\nwave 2: reports@1.0.0' });
    const dot = await cli(['graph', '.', '--format', 'dot'], work);
    expect(dot.out).toContain('"tasks" -> "reports" [label="^1.0.0"];');
    expect(dot.out).toMatch(/^digraph modules \{/);
    writeModule(work, 'reports', { name: 'reports', version: '1.0.0', dependencies: { tasks: '^2.0.0' } });
    const none = await cli(['graph', '.'], work);
    expect(none.code).toBe(1);
    expect(none.out).toMatch(/^no plan: .*reports.*tasks/s);
    expect((await cli(['graph', '.', '--format', 'svg'], work)).code).toBe(2);
  });
});

describe('modhost doctor', () => {
  it('finds broken manifests, unmet dependencies, failed modules with recovery steps, and drift', async () => {
    const work = temp();
    const modules = join(work, 'modules');
    mkdirSync(modules);
    writeModule(modules, 'tasks', { name: 'tasks', version: '1.0.0' }, 'export default { health: () => false }');
    writeModule(modules, 'reports', { name: 'reports', version: '1.0.0', dependencies: { billing: '^1.0.0' } });
    writeModule(modules, 'oops', { name: 'oops' });
    // A host ran on a file-backed storage; the doctor opens the same storage through a module file.
    const dataFile = join(work, 'data.json');
    const storageFile = join(work, 'storage.mjs');
    // A self-contained adapter over the saved data, as a host's own adapter module would be.
    writeFileSync(
      storageFile,
      `import { readFileSync } from 'node:fs';
export default () => {
  const map = new Map(Object.entries(JSON.parse(readFileSync(${JSON.stringify(dataFile)}, 'utf8'))));
  return {
    get: (k) => map.get(k),
    set: (k, v) => void map.set(k, v),
    delete: (k) => void map.delete(k),
    keys: (p) => [...map.keys()].filter((k) => k.startsWith(p)),
    compareAndSet: (k, expected, next) => {
      if ((map.get(k) ?? null) !== expected) return false;
      if (next === null) map.delete(k);
      else map.set(k, next);
      return true;
    },
  };
};
`,
    );
    const { memoryStorage } = await import('@modhost/core');
    const map = new Map<string, string>();
    const host = createHost({
      version: '1.0.0',
      storage: memoryStorage({ map }),
      modulesDir: modules,
      clock: createFakeClock(),
      logger: silentLogger,
      health: { failureThreshold: 1 },
    });
    await host.start();
    await host.stop();
    writeFileSync(dataFile, JSON.stringify(Object.fromEntries(map)));
    writeModule(modules, 'notes', { name: 'notes', version: '1.0.0' });

    const r = await cli(['doctor', 'modules', '--storage', storageFile], work);
    expect(r.code).toBe(1);
    expect(r.out).toContain('oops/modhost.json: version:');
    expect(r.out).toMatch(/reports@1\.0\.0: .*billing/);
    expect(r.out).toMatch(/tasks@1\.0\.0: is failed: \[HEALTH_CHECK_FAILED\]/);
    expect(r.out).toContain('→ fix what health() depends on');
    expect(r.out).toContain('notes: has a folder but is not in storage');
    const clean = temp();
    writeModule(clean, 'a', { name: 'a', version: '1.0.0' });
    expect(await cli(['doctor', '.'], clean)).toMatchObject({ code: 0 });
  });
});

describe('modhost doctor --storage with a TypeScript adapter', () => {
  it("loads it through the app's tsx; without tsx, says how to load it (node --import tsx, or compile it)", async () => {
    // The CLI as users run it: plain Node, no loader (vitest would compile the .ts itself).
    const work = temp();
    const bundle = join(work, 'cli.mjs');
    await build({
      entryPoints: [join(root, 'packages/cli/src/index.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bundle,
      tsconfig: join(root, 'tsconfig.json'),
      logLevel: 'silent',
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    });
    const launcher = join(work, 'modhost.mjs');
    writeFileSync(
      launcher,
      `const { run } = await import(${JSON.stringify(pathToFileURL(bundle).href)});
process.exitCode = await run(process.argv.slice(2), { stdout: (t) => console.log(t), stderr: (t) => console.error(t), cwd: process.cwd() });`,
    );
    const app = temp();
    mkdirSync(join(app, 'modules'));
    writeModule(join(app, 'modules'), 'a', { name: 'a', version: '1.0.0' });
    writeFileSync(
      join(app, 'storage.ts'),
      `import type { StorageAdapter } from '@modhost/core';
const map: Map<string, string> = new Map();
const adapter = {
  get: (k: string) => map.get(k),
  set: (k: string, v: string) => void map.set(k, v),
  delete: (k: string) => void map.delete(k),
  keys: (p: string) => [...map.keys()].filter((k) => k.startsWith(p)),
  compareAndSet: (k: string, expected: string | null, next: string | null): boolean => {
    if ((map.get(k) ?? null) !== expected) return false;
    if (next === null) map.delete(k);
    else map.set(k, next);
    return true;
  },
} as unknown as StorageAdapter;
export default () => adapter;
`,
    );
    const doctorRun = () => sh(process.execPath, [launcher, 'doctor', 'modules', '--storage', 'storage.ts'], app);
    const stripsTypes = Boolean((process.features as { typescript?: unknown }).typescript);
    const without = doctorRun();
    if (stripsTypes) expect(without.code).toBe(1);
    else {
      expect(without.code).toBe(2);
      expect(without.out).toContain('storage.ts is TypeScript, which this Node cannot import by itself (Unknown file extension ".ts"');
      expect(without.out).toContain('npm install --save-dev tsx');
      expect(without.out).toContain('node --import tsx ./node_modules/.bin/modhost');
      expect(without.out).toContain('compile the adapter to JavaScript (tsc)');
    }
    // The app installs tsx: the CLI loads the adapter through it. "a" is in no storage yet: one problem, found.
    mkdirSync(join(app, 'node_modules'));
    symlinkSync(join(root, 'node_modules/tsx'), join(app, 'node_modules/tsx'));
    const withTsx = doctorRun();
    expect(withTsx.out).toContain('a: has a folder but is not in storage');
    expect(withTsx.code).toBe(1);
  });
});

describe('modhost tenants', () => {
  /** A storage module over a Map this test holds: what the CLI writes, the test reads back. */
  function sharedStorage(work: string) {
    const map = new Map<string, string>();
    (globalThis as { __modhostCliTenants?: Map<string, string> }).__modhostCliTenants = map;
    writeFileSync(
      join(work, 'storage.mjs'),
      `export default () => {
  const map = globalThis.__modhostCliTenants;
  return {
    get: (k) => map.get(k),
    set: (k, v) => void map.set(k, v),
    delete: (k) => void map.delete(k),
    keys: (p) => [...map.keys()].filter((k) => k.startsWith(p)),
    compareAndSet: (k, expected, next) => {
      if ((map.get(k) ?? null) !== expected) return false;
      if (next === null) map.delete(k);
      else map.set(k, next);
      return true;
    },
  };
};
`,
    );
    return map;
  }

  it('apply --dry-run lists every change and problem; apply applies after a snapshot; export prints the state; rollback undoes it', async () => {
    const work = temp();
    const map = sharedStorage(work);
    const { defineModule, memoryStorage } = await import('@modhost/core');
    const billing = defineModule({ name: 'billing', version: '1.0.0', config: { schema: z.object({ currency: z.string() }), defaults: { currency: 'EUR' } } });
    // The app's host registered its modules on the storage; the CLI works on the same storage, host stopped.
    const host = createHost({
      version: '1.0.0',
      storage: memoryStorage({ map }),
      modules: [billing, defineModule({ name: 'reports', version: '1.0.0' })],
      clock: createFakeClock(),
      logger: silentLogger,
    });
    await host.start();
    await host.enable('reports', { tenant: 'acme' });
    await host.stop();
    const enabled = async () => ({
      acme: (await host.registry.listEnabled('acme')).map((e) => e.name),
      globex: (await host.registry.listEnabled('globex')).map((e) => e.name),
    });
    const write = (changes: unknown) => writeFileSync(join(work, 'changes.json'), JSON.stringify(changes));
    const storage = ['--storage', 'storage.mjs'];

    write({ tenants: { acme: { modules: ['billing'] }, globex: { modules: ['reports', 'ghost'] } } });
    const before = new Map(map);
    const dry = await cli(['tenants', 'apply', 'changes.json', '--dry-run', ...storage], work);
    expect(dry.code).toBe(1);
    expect(dry.out.split('\n').slice(0, 7)).toEqual([
      '✗ dry run: 3 change(s) in 2 tenant(s), 1 problem(s); nothing was written',
      '  acme: disable reports',
      '  acme: enable billing',
      "      • billing's first tenant: from now on it serves only the tenants it is enabled for, and requests with no tenant no longer reach it",
      '  globex: enable reports',
      'problems:',
      expect.stringMatching(/^ {2}✗ tenants\.globex\.modules\.1: \[MODULE_NOT_FOUND\] module "ghost" is not registered/),
    ]);
    expect(map).toEqual(before);

    write({ tenants: { acme: { modules: ['billing'] }, globex: { modules: ['reports'] } } });
    const applied = await cli(['tenants', 'apply', 'changes.json', ...storage], work);
    expect(applied.code).toBe(0);
    expect(applied.out).toMatch(/^✓ applied 3 change\(s\) to 2 tenant\(s\)\n/);
    const id = /snapshot (\S+); undo with: modhost tenants rollback \1 --storage storage\.mjs/.exec(applied.out)?.[1];
    expect(id).toBeDefined();
    expect(await enabled()).toEqual({ acme: ['billing'], globex: ['reports'] });

    const exported = await cli(['tenants', 'export', ...storage], work);
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.out)).toEqual({ tenants: { acme: { modules: { billing: {} } }, globex: { modules: { reports: {} } } } });
    // Applying what export printed changes nothing.
    writeFileSync(join(work, 'changes.json'), exported.out);
    expect(await cli(['tenants', 'apply', 'changes.json', ...storage], work)).toMatchObject({ code: 0, out: '✓ nothing to change' });

    const undo = await cli(['tenants', 'rollback', id as string, '--json', ...storage], work);
    expect(undo.code).toBe(0);
    expect(JSON.parse(undo.out)).toMatchObject({ ok: true, rolledBack: true, snapshotId: id });
    expect(await enabled()).toEqual({ acme: ['reports'], globex: [] });
    expect((await cli(['tenants', 'rollback', 'nope', ...storage], work)).code).toBe(2);
  });

  it('refuses a malformed file with every issue, and config it cannot check against a schema, writing nothing', async () => {
    const work = temp();
    const map = sharedStorage(work);
    const { defineModule, memoryStorage } = await import('@modhost/core');
    const billing = defineModule({ name: 'billing', version: '1.0.0', config: { schema: z.object({ currency: z.string() }), defaults: { currency: 'EUR' } } });
    const host = createHost({ version: '1.0.0', storage: memoryStorage({ map }), modules: [billing], clock: createFakeClock(), logger: silentLogger });
    await host.start();
    await host.stop();
    const before = new Map(map);
    writeFileSync(join(work, 'bad.json'), JSON.stringify({ tenants: { 'no way': { modules: {} }, acme: { modules: ['billing'], mode: 'all' } } }));
    const bad = await cli(['tenants', 'apply', 'bad.json', '--storage', 'storage.mjs'], work);
    expect(bad).toMatchObject({ code: 1 });
    expect(bad.out.split('\n')).toEqual([
      '✗ bad.json: 2 issue(s); nothing was changed',
      expect.stringContaining('  ✗ tenants.no way: tenant id "no way" is not valid'),
      '  ✗ tenants.acme.mode: must be "replace" or "merge"',
    ]);

    writeFileSync(join(work, 'config.json'), JSON.stringify({ tenants: { acme: { modules: { billing: { config: { currency: 'USD' } } } } } }));
    const config = await cli(['tenants', 'apply', 'config.json', '--storage', 'storage.mjs'], work);
    expect(config.code).toBe(1);
    expect(config.out).toContain('✗ tenants.acme.modules.billing.config: [CONFIG_INVALID]');
    expect(config.out).toContain('apply config from the app (host.tenants.apply, or POST /tenants/apply)');
    expect(map).toEqual(before);

    expect((await cli(['tenants', 'apply', 'missing.json', '--storage', 'storage.mjs'], work)).code).toBe(2);
    expect((await cli(['tenants', 'apply', 'config.json'], work)).code).toBe(2);
    expect((await cli(['tenants', 'frob', '--storage', 'storage.mjs'], work)).code).toBe(2);
    expect((await cli(['tenants', 'apply', 'config.json', '--on-failure', 'shrug', '--storage', 'storage.mjs'], work)).code).toBe(2);
  });

  it("drives modhost's host.tenants as modhost types it", () => {
    const backend: TenantsBackend = createHost({ version: '1.0.0' }).tenants;
    expect(typeof backend.apply).toBe('function');
  });
});

describe('help and usage', () => {
  it('every command has --help; unknown commands and missing arguments exit 2', async () => {
    for (const c of ['create', 'validate', 'types', 'graph', 'doctor', 'tenants']) {
      const r = await cli([c, '--help'], temp());
      expect(r.code, c).toBe(0);
      expect(r.out, c).toMatch(new RegExp(`^Usage: modhost ${c}`));
      expect(r.out, c).toContain('Exit codes:');
    }
    expect((await cli([], temp())).code).toBe(2);
    expect((await cli(['--help'], temp())).code).toBe(0);
    expect((await cli(['frobnicate'], temp())).code).toBe(2);
    expect((await cli(['validate'], temp())).code).toBe(2);
    expect((await cli(['validate', '.', '--bogus'], temp())).code).toBe(2);
  });
});
