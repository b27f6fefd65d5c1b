import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BoundHandler, createActivator, createRouter } from '@modhost/activation';
import { createRegistry, isModhostError, memoryStorage } from '@modhost/core';
import { resolve } from '@modhost/resolver';
import { afterEach, describe, expect, it } from 'vitest';
import { setup } from '../test/helpers.js';
import { type GuestChannel, spawnWorkerGuest } from './guest-channel.js';
import { type IsolatedModule, loadIsolatedModule } from './isolated-module.js';

const fixtureDir = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const fixture = (name: string) => join(fixtureDir(name), 'index.mjs');

const loaded: IsolatedModule[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const m of loaded.splice(0)) await m.stop();
  for (const c of cleanups.splice(0)) await c();
});

/** Loads a fixture in the sandboxed tier, activates it with its grants, and returns its API. */
async function sandboxed(name: string, grant: Record<string, string[]> = {}, entry = fixture(name)) {
  const s = setup({ grant });
  const logs: string[] = [];
  const iso = await loadIsolatedModule({ entry, isolation: 'sandboxed', sandbox: s.sandbox, clock: s.clock });
  loaded.push(iso);
  const input = s.input(iso.description.name, {
    config: { greeting: 'the host' },
    logger: {
      debug: (m) => void logs.push(`debug: ${m}`),
      info: (m) => void logs.push(`info: ${m}`),
      warn: (m) => void logs.push(`warn: ${m}`),
      error: (m) => void logs.push(`error: ${m}`),
    },
  });
  const { ctx } = s.sandbox.contextFor(input, iso.definition);
  const api = (await iso.definition.activate?.(ctx)) as Record<string, (...a: unknown[]) => Promise<unknown>>;
  return { ...s, iso, api, ctx, logs };
}

const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string; cause?: unknown };
  }
  throw new Error('expected a refusal');
};

describe('sandboxed tier: a module that behaves', () => {
  it('runs through the activator: routes, storage, config, logger and console, its own imports, a bundled dependency, JSON', async () => {
    const s = setup({ grant: { boxed: ['storage:module', 'routes:mount'] } });
    const registry = createRegistry({ storage: memoryStorage(), clock: s.clock });
    const iso = await loadIsolatedModule({ entry: fixture('sandboxed'), isolation: 'sandboxed', sandbox: s.sandbox, clock: s.clock });
    loaded.push(iso);
    expect(iso.description).toMatchObject({ name: 'boxed', version: '1.0.0', routes: [{ method: 'GET', path: '/notes/:id' }] });
    await registry.register(iso.definition);
    const router = createRouter<BoundHandler>();
    const lines: string[] = [];
    const activator = createActivator({
      registry,
      clock: s.clock,
      router,
      contextFactory: s.sandbox.contextFor,
      logger: () => ({ debug() {}, info: (m) => void lines.push(m), warn() {}, error() {} }),
    });
    const plan = resolve({ roots: { boxed: '*' }, catalog: [iso.definition] });
    if (!plan.ok) throw new Error(plan.error.message);
    expect((await activator.activate(plan.plan)).modules[0]?.state).toBe('active');
    expect(lines).toEqual(['boxed starting', 'console goes to the logger {"n":1}']);
    const api = activator.api('boxed') as Record<string, (...a: unknown[]) => Promise<unknown>>;
    expect(await api.welcome?.()).toBe('hello from the defaults file');
    await api.add?.('Hello_World', 'first note');
    const res = await router.handle('GET', '/boxed/notes/Hello_World', (d) =>
      d.handler({ method: 'GET', path: '/notes/Hello_World', params: d.params, query: {}, headers: {} }),
    );
    expect(res?.body).toEqual({ id: 'Hello_World', slug: 'hello-world', note: 'first note' });
    expect(await api.facts?.()).toEqual({ version: '1.0.0', area: 6, double: 8, separator: '-', keys: ['area', 'double'] });
    expect(await api.lazy?.()).toBe('loaded lazily');
    expect(await api.text?.()).toEqual([6, 'héllo', '1', 'number', 'number']);
    expect(await api.tick?.()).toBe(1);
    await activator.deactivate(['boxed']);
    expect(iso.status()?.state).toBe('stopped');
  });

  it('reads its config; a bundled package in its own node_modules loads by name', async () => {
    const root = await mkdtemp(join(tmpdir(), 'modhost-sandboxed-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    await cp(fixtureDir('sandboxed'), root, { recursive: true });
    await mkdir(join(root, 'node_modules', 'tiny-case'), { recursive: true });
    await writeFile(
      join(root, 'node_modules', 'tiny-case', 'package.json'),
      JSON.stringify({ name: 'tiny-case', type: 'module', exports: { '.': { import: './up.js' } } }),
    );
    await writeFile(join(root, 'node_modules', 'tiny-case', 'up.js'), 'export const up = (s) => s.toUpperCase();\nexport default up;\n');
    await writeFile(
      join(root, 'uses-package.mjs'),
      "import up, { up as named } from 'tiny-case';\nimport boxed from './index.mjs';\nexport default { ...boxed, name: 'packaged', activate: (ctx) => ({ shout: () => up(ctx.config.greeting), same: () => named === up }) };\n",
    );
    const { api } = await sandboxed('packaged', { packaged: ['routes:mount'] }, join(root, 'uses-package.mjs'));
    expect(await api.shout?.()).toBe('THE HOST');
    expect(await api.same?.()).toBe(true);
  });

  it('a module importing node:fs is refused at load, with the import and the tiers that allow it named', async () => {
    const s = setup();
    const e = await refusal(loadIsolatedModule({ entry: fixture('sandboxed-builtin'), isolation: 'sandboxed', sandbox: s.sandbox }));
    expect(isModhostError(e, 'MANIFEST_INVALID')).toBe(true);
    expect(e.message).toMatch(/imports "node:fs" \(from \.\/index\.mjs\): Node built-ins are not available in the sandboxed tier/);
    expect(e.message).toMatch(/'worker' or 'process' tier/);
    expect(isModhostError(e.cause, 'PERMISSION_DENIED')).toBe(true);
  });

  it('the same module loads in the worker tier (the tiers differ in what they allow, not in the module format)', async () => {
    const s = setup();
    const iso = await loadIsolatedModule({ entry: fixture('sandboxed-builtin'), isolation: 'worker', sandbox: s.sandbox });
    loaded.push(iso);
    expect(iso.description.name).toBe('needs-fs');
  });
});

describe('sandboxed tier: escape attempts (each must fail to escape)', () => {
  it('constructor chains from every ctx value, its promises and its errors reach no Function that runs code', async () => {
    const { api } = await sandboxed('sandboxed-escapes', { escaper: ['storage:module'] });
    const report = (await api.ctxChains?.()) as Record<string, string[]>;
    expect(Object.keys(report)).toHaveLength(18);
    for (const [value, results] of Object.entries(report)) {
      for (const r of results) {
        expect(r, `${value}: ${r}`).not.toBe('ESCAPED');
        // Either the walk threw, or the only global it could name is the compartment's own (no `process` there).
        expect(r, `${value}: ${r}`).toMatch(/^blocked: |^nothing: (undefined|object)$/);
      }
    }
    expect(report.ctx?.[0]).toMatch(/^blocked: TypeError/);
    expect(report['storage.get']?.[0]).toBe('blocked: TypeError: Function.prototype.constructor is not a valid constructor.');
    expect(report.promise?.[0]).toBe('blocked: TypeError: Function.prototype.constructor is not a valid constructor.');
    expect(report.hostError?.[0]).toBe('blocked: TypeError: Function.prototype.constructor is not a valid constructor.');
  });

  it('import() of node:fs, of a path outside its folder, of data: and file: URLs, of ses: refused with PERMISSION_DENIED; its own file loads', async () => {
    const { api } = await sandboxed('sandboxed-escapes');
    const r = (await api.imports?.()) as Record<string, string>;
    expect(r.fs).toMatch(/^blocked: ModhostError PERMISSION_DENIED: escaper: imports "node:fs" \(from \.\/index\.mjs\): Node built-ins are not available/);
    expect(r.bareFs).toMatch(/PERMISSION_DENIED: escaper: imports "fs" .*Node built-ins/);
    expect(r.outside).toMatch(/PERMISSION_DENIED: escaper: imports "\.\.\/crashy\/index\.mjs" .*outside the module's folder/);
    expect(r.data).toMatch(/PERMISSION_DENIED: escaper: imports "data:text\/javascript,.*loads no URLs/);
    expect(r.file).toMatch(/PERMISSION_DENIED: .*loads no URLs/);
    expect(r.ses).toMatch(/PERMISSION_DENIED: .*no such package in the module's own node_modules/);
    expect(r.own).toBe('loaded: object');
  });

  it('Function and eval evaluate in the compartment: no process, no require; direct eval is refused at load', async () => {
    const { api } = await sandboxed('sandboxed-escapes');
    expect(await api.functions?.()).toEqual({
      Function: 'undefined',
      FunctionRequire: 'undefined',
      FunctionThis: 'undefined',
      indirectEval: 'undefined',
      evalGlobal: true,
      asyncFunction: 'blocked: TypeError: Function.prototype.constructor is not a valid constructor.',
      processHere: 'its own fake only',
      require: 'undefined',
      module: 'undefined',
    });
    const s = setup();
    const e = await refusal(loadIsolatedModule({ entry: fixture('sandboxed-eval'), isolation: 'sandboxed', sandbox: s.sandbox }));
    expect(e.message).toMatch(/direct eval expression rejected/);
  });

  it('eval spelled with unicode escapes (a direct eval V8 crashes the host on) is refused: in the module text, in Function, in indirect eval; no Compartment', async () => {
    const s = setup();
    const e = await refusal(loadIsolatedModule({ entry: fixture('sandboxed-escaped-eval'), isolation: 'sandboxed', sandbox: s.sandbox }));
    expect(e.message).toMatch(/direct eval expression rejected: "e\\u0076al" spells eval with unicode escapes/);
    const { api } = await sandboxed('sandboxed-escapes');
    const r = (await api.escapedEval?.()) as Record<string, string>;
    expect(r.Function).toMatch(/^blocked: SyntaxError: possible direct eval expression rejected/);
    expect(r.indirectEval).toMatch(/^blocked: SyntaxError: possible direct eval expression rejected/);
    // A child compartment would evaluate without the transform that refuses it.
    expect(r.Compartment).toBe('undefined');
  });

  it('globalThis writes stay in the module’s compartment: the guest runtime’s own globals are untouched', async () => {
    // The escaper replaced structuredClone and set process on its global at load; the runtime clones with its own.
    const { api, iso } = await sandboxed('sandboxed-escapes');
    expect(iso.description.dependencies).toEqual({ x: '^1.0.0' });
    expect(await api.globals?.()).toMatchObject({ structuredClone: 'function' });
  });

  it('intrinsics are frozen: prototype mutation throws, and a second module sees none of it', async () => {
    const { api } = await sandboxed('sandboxed-escapes');
    const r = (await api.prototypes?.()) as Record<string, unknown>;
    for (const k of ['arrayProto', 'objectProto', 'defineThen', 'functionProto', 'errorProto', 'jsonParse', 'endowment', 'endowmentBase', 'console'])
      expect(r[k], k).toMatch(/^blocked: TypeError: /);
    expect(r.seen).toEqual(['undefined', 'undefined']);
    const second = await sandboxed('sandboxed', { boxed: ['storage:module', 'routes:mount'] });
    expect(await second.api.pristine?.()).toEqual(['undefined', 'undefined', 'undefined', 'undefined']);
  });

  it('Error.prepareStackTrace cannot be installed: no call site (getThis, getFunction) reaches the module', async () => {
    const { api } = await sandboxed('sandboxed-escapes');
    const r = (await api.stacks?.()) as Record<string, unknown>;
    expect(r.captured).toBe(0);
    for (const k of ['Error', 'TypeError parent', 'ctx error']) expect(r[k], k).toMatch(/^not installed|^blocked: /);
  });

  it('SharedArrayBuffer, Atomics, WebAssembly, structuredClone, Buffer, fetch, setImmediate are not endowed', async () => {
    const { api } = await sandboxed('sandboxed-escapes');
    expect(await api.globals?.()).toEqual({
      SharedArrayBuffer: 'undefined',
      Atomics: 'undefined',
      WebAssembly: 'undefined',
      // The module's own replacement, on its own global.
      structuredClone: 'function',
      postMessage: 'undefined',
      Buffer: 'undefined',
      fetch: 'undefined',
      setImmediate: 'undefined',
      sabFromWasm: "blocked: TypeError: Cannot read properties of undefined (reading 'Memory')",
    });
  });
});

/** A sandboxed guest driven by raw protocol messages, so a test can see what it does after deactivate. */
async function rawGuest() {
  const g: GuestChannel = spawnWorkerGuest({}, { sandboxed: true });
  cleanups.push(() => g.kill());
  const logs: string[] = [];
  const pending = new Map<number, (m: { ok: boolean; value?: unknown }) => void>();
  let up: () => void = () => {};
  let logged: (() => void) | undefined;
  g.onMessage((raw) => {
    const m = raw as { t: string; id: number; ok: boolean; value?: unknown; message?: string };
    if (m.t === 'up') up();
    else if (m.t === 'result') pending.get(m.id)?.(m);
    else if (m.t === 'log') {
      logs.push(m.message as string);
      logged?.();
    }
  });
  await new Promise<void>((r) => {
    up = r;
  });
  let id = 0;
  const call = (op: string, args: unknown[] = []) =>
    new Promise<unknown>((r, reject) => {
      id += 1;
      pending.set(id, (m) => (m.ok ? r(m.value) : reject(m)));
      g.post({ t: 'call', id, op, args });
    });
  const nextLog = () =>
    new Promise<void>((r) => {
      logged = () => {
        logged = undefined;
        r();
      };
    });
  // One round: the module burns 5 ms, then the host lets a turn of its loop pass before it speaks again, so the
  // worker leaves its message loop (a ping-pong without that pause keeps a worker draining messages, timers unrun).
  const round = async () => {
    await call('api', ['spin', [5]]);
    await new Promise((r) => setImmediate(r));
    await call('ping');
  };
  return { call, logs, nextLog, round };
}

describe('sandboxed tier: timers die with the module', () => {
  it('no timer fires after deactivate: neither the interval from activate nor one set in deactivate', async () => {
    const entry = fixture('sandboxed-timers');
    const g = await rawGuest();
    await g.call('init', [
      {
        entry,
        root: fixtureDir('sandboxed-timers'),
        module: 'timers',
        version: '1.0.0',
        config: {},
        caps: { storage: false, net: false, fs: false, services: {}, deps: {} },
      },
    ]);
    const ticked = g.nextLog();
    await g.call('activate');
    await ticked;
    // Control: while active, a due timer fires between two messages (a few rounds at most, however busy the machine).
    const before = g.logs.length;
    for (let i = 0; i < 50 && g.logs.length === before; i++) await g.round();
    expect(g.logs.length).toBeGreaterThan(before);
    await g.call('deactivate');
    const after = g.logs.length;
    expect(await g.call('api', ['later', []])).toBe(0);
    for (let i = 0; i < 5; i++) await g.round();
    expect(g.logs.slice(after)).toEqual([]);
    expect(g.logs).not.toContain('survived deactivate');
  });
});
