import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeClock, silentLogger } from '@modhost/testkit';
import { createHost, createRequestListener } from 'modhost';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type CliIo, run } from './cli.js';
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

describe('modhost create → validate → its own test → drop into a host', () => {
  it('works end to end', async () => {
    const work = temp();
    const created = await cli(['create', 'greeter'], work);
    expect(created.code).toBe(0);
    const dir = join(work, 'greeter');
    expect(created.out).toContain(`created ${dir}`);

    const validated = await cli(['validate', 'greeter'], work);
    expect(validated).toMatchObject({ code: 0, out: '✓ greeter@0.1.0 is valid' });

    // The generated test passes with nothing but Node.
    const testRun = execFileSync(process.execPath, ['--test'], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
    expect(testRun).toMatch(/# pass 2/);
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts).toEqual({ build: 'modhost validate .', test: 'node --test' });

    // Dropped into a host's modules folder, it is installed on the next scan and serves its route.
    const modules = join(work, 'modules');
    mkdirSync(modules);
    const host = createHost({
      version: '1.0.0',
      modulesDir: modules,
      clock: createFakeClock(),
      logger: silentLogger,
      policy: { grant: { '*': ['routes:mount', 'storage:module'] } },
    });
    await host.start();
    cpSync(dir, join(modules, 'greeter'), { recursive: true });
    await host.rescan();
    const { createServer } = await import('node:http');
    const server = createServer(createRequestListener(host));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/greeter/hello`);
    expect(await res.json()).toEqual({ message: 'hello from greeter', visits: 1 });
    await new Promise((r) => server.close(r));
    await host.stop();
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
    for (const c of ['create', 'validate', 'graph', 'doctor', 'tenants']) {
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
