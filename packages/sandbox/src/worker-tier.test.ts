import { fileURLToPath } from 'node:url';
import { type BoundHandler, createActivator, createRouter } from '@modhost/activation';
import { createRegistry, isModhostError, memoryStorage } from '@modhost/core';
import { resolve } from '@modhost/resolver';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger, setup } from '../test/helpers.js';
import { type IsolatedModule, loadIsolatedModule } from './isolated-module.js';
import type { SupervisorEvent } from './supervisor.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}/index.mjs`, import.meta.url));

/** Collects supervisor events and lets a test wait for the next one of a type (no sleeping). */
function events() {
  const seen: SupervisorEvent[] = [];
  const waiters: { type: string; from: number; done: (e: SupervisorEvent) => void }[] = [];
  return {
    seen,
    on(e: SupervisorEvent) {
      seen.push(e);
      for (const w of [...waiters]) {
        const hit = seen.slice(w.from).find((x) => x.type === w.type);
        if (hit) {
          waiters.splice(waiters.indexOf(w), 1);
          w.done(hit);
        }
      }
    },
    next(type: SupervisorEvent['type']): Promise<SupervisorEvent> {
      const from = seen.length;
      return new Promise((done) => waiters.push({ type, from, done }));
    },
  };
}

const loaded: IsolatedModule[] = [];
afterEach(async () => {
  for (const m of loaded.splice(0)) await m.stop();
});

async function crashy(restart = { maxRestarts: 2, withinMs: 60_000, backoffMs: 100, maxBackoffMs: 1_000 }) {
  const s = setup({ grant: { crashy: ['storage:module'] } });
  const ev = events();
  const registry = createRegistry({ storage: memoryStorage(), clock: s.clock });
  const iso = await loadIsolatedModule({
    entry: fixture('crashy'),
    isolation: 'worker',
    sandbox: s.sandbox,
    clock: s.clock,
    registry,
    limits: { callTimeoutMs: 1_000, maxOldGenerationSizeMb: 32, maxConcurrent: 2, maxQueued: 1 },
    restart,
    onEvent: ev.on,
  });
  loaded.push(iso);
  await registry.register(iso.definition);
  const { ctx } = s.sandbox.contextFor(s.input('crashy'), iso.definition);
  const api = (await iso.definition.activate?.(ctx)) as Record<string, () => Promise<unknown>>;
  return { ...s, ev, iso, api, registry };
}

const outcome = (p: Promise<unknown>): Promise<{ value?: unknown; error?: Error & { code?: string } }> =>
  p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error: error as Error & { code?: string } }),
  );

describe('worker tier', () => {
  it('runs a module unchanged in a worker: routes, API, ctx calls checked by the host, logs', async () => {
    const s = setup(
      { grant: { notes: ['storage:module', 'routes:mount'] } },
      { services: { tasks: () => ({ list: { permission: 'tasks:read', call: () => ['t1'] } }) } },
    );
    const registry = createRegistry({ storage: memoryStorage(), clock: s.clock });
    const iso = await loadIsolatedModule({ entry: fixture('notes'), isolation: 'worker', sandbox: s.sandbox, clock: s.clock });
    loaded.push(iso);
    expect(iso.description).toMatchObject({ name: 'notes', version: '1.0.0', routes: [{ method: 'GET', path: '/notes/:id' }] });
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
    const plan = resolve({ roots: { notes: '*' }, catalog: [iso.definition] });
    if (!plan.ok) throw new Error(plan.error.message);
    const report = await activator.activate(plan.plan);
    expect(report.modules[0]?.state).toBe('active');
    expect(lines).toContain('notes starting');
    const api = activator.api('notes') as Record<string, (...a: unknown[]) => Promise<unknown>>;
    await api.add?.('n1', 'first note');
    const res = await router.handle('GET', '/notes/notes/n1', (d) => d.handler({ method: 'GET', path: '/notes/n1', params: d.params, query: {}, headers: {} }));
    expect(res?.body).toEqual({ id: 'n1', note: 'first note' });
    // Granted storage and routes; tasks:read was requested but not granted, so services.tasks is absent in the guest too.
    expect(await api.has?.()).toEqual(['config', 'dep', 'deps', 'logger', 'module', 'services', 'storage', 'tenant', 'tenantConfig']);
    await expect(api.tasks?.()).rejects.toThrow(/Cannot read properties of undefined/);
    expect(await api.escape?.()).toBe('undefined');
    await activator.deactivate(['notes']);
    expect(iso.status()?.state).toBe('stopped');
  });

  it('crash matrix: a throw is the caller’s error; the worker and the host carry on', async () => {
    const { api, audit, iso } = await crashy();
    const r = await outcome(api.throws?.() as Promise<unknown>);
    expect(r.error?.name).toBe('TypeError');
    expect(r.error?.message).toBe('bad input');
    expect(iso.status()?.state).toBe('running');
    expect(await api.ok?.()).toBe(1);
    expect(audit.query({ kind: 'error' })).toMatchObject([{ module: 'crashy', detail: 'call "api" threw TypeError: bad input' }]);
  });

  it('crash matrix: stack overflow is a RangeError for the caller; the worker carries on', async () => {
    const { api, iso } = await crashy();
    const r = await outcome(api.overflow?.() as Promise<unknown>);
    expect(r.error?.name).toBe('RangeError');
    expect(r.error?.message).toMatch(/call stack/);
    expect(iso.status()?.state).toBe('running');
  });

  it('crash matrix: an endless loop is stopped by the watchdog (QUOTA_EXCEEDED), then restarted after backoff', async () => {
    const { api, audit, iso, ev, clock } = await crashy();
    const crash = ev.next('crash');
    const call = outcome(api.loop?.() as Promise<unknown>);
    clock.advance(1_000);
    const r = await call;
    expect(isModhostError(r.error, 'QUOTA_EXCEEDED')).toBe(true);
    expect(await crash).toMatchObject({ kind: 'timeout', willRestart: true, delayMs: 100 });
    expect(iso.status()?.state).toBe('restarting');
    expect(audit.query({ kind: 'quota' })).toMatchObject([{ permission: 'quota:call-timeout', decision: 'deny' }]);
    const running = ev.next('running');
    clock.advance(100);
    await running;
    expect(await api.ok?.()).toBe(1);
    expect(audit.query({ kind: 'restart' })).toHaveLength(1);
  });

  it('crash matrix: heap exhaustion kills only the worker; recorded as a heap crash', async () => {
    const { api, audit, iso, ev } = await crashy();
    const crash = ev.next('crash');
    const r = await outcome(api.heap?.() as Promise<unknown>);
    expect(isModhostError(r.error, 'MODULE_CRASHED')).toBe(true);
    expect(await crash).toMatchObject({ kind: 'heap', willRestart: true });
    expect(iso.status()?.lastCrash?.kind).toBe('heap');
    expect(audit.query({ kind: 'crash' })).toMatchObject([{ permission: 'quota:heap' }]);
  });

  it('crash matrix: process.exit ends only the worker', async () => {
    const { api, iso, ev } = await crashy();
    const crash = ev.next('crash');
    const r = await outcome(api.exit?.() as Promise<unknown>);
    expect(isModhostError(r.error, 'MODULE_CRASHED')).toBe(true);
    expect(await crash).toMatchObject({ kind: 'exit', detail: expect.stringContaining('code 3') });
    expect(iso.status()?.state).toBe('restarting');
  });

  it('crash matrix: an unhandled rejection crashes the worker, not the host', async () => {
    const { api, iso, ev } = await crashy();
    const crash = ev.next('crash');
    await outcome(api.reject?.() as Promise<unknown>);
    expect(await crash).toMatchObject({ kind: 'uncaught', detail: expect.stringContaining('nobody awaited me') });
    expect(iso.status()?.lastCrash?.kind).toBe('uncaught');
  });

  it('gives up after maxRestarts within the window: the module fails for good, in the registry too', async () => {
    const { api, iso, ev, clock, registry, audit } = await crashy({ maxRestarts: 1, withinMs: 60_000, backoffMs: 100, maxBackoffMs: 1_000 });
    await registry.transition('crashy', '1.0.0', 'resolved');
    for (const s of ['queued', 'loading', 'starting', 'verifying', 'ready', 'active'] as const) await registry.transition('crashy', '1.0.0', s);
    let crash = ev.next('crash');
    await outcome(api.exit?.() as Promise<unknown>);
    await crash;
    const running = ev.next('running');
    clock.advance(100);
    await running;
    crash = ev.next('crash');
    const gaveUp = ev.next('gave-up');
    await outcome(api.exit?.() as Promise<unknown>);
    expect(await crash).toMatchObject({ willRestart: false });
    await gaveUp;
    expect(iso.status()?.state).toBe('failed');
    const r = await outcome(api.ok?.() as Promise<unknown>);
    expect(isModhostError(r.error, 'MODULE_CRASHED')).toBe(true);
    expect(r.error?.message).toMatch(/failed for good/);
    await new Promise((done) => setImmediate(done));
    expect(await registry.get('crashy', '1.0.0')).toMatchObject({ status: 'failed', lastError: { code: 'MODULE_CRASHED', phase: 'serve' } });
    expect(audit.query({ kind: 'crash' }).map((c) => c.detail)).toEqual([expect.stringContaining('restart 1 of 1'), expect.stringContaining('gave up')]);
  });

  it('caps concurrent and queued calls: the next one is refused with QUOTA_EXCEEDED', async () => {
    const { api, audit } = await crashy();
    const inFlight = [api.slow?.(), api.slow?.(), api.slow?.()];
    const refused = await outcome(api.slow?.() as Promise<unknown>);
    expect(isModhostError(refused.error, 'QUOTA_EXCEEDED')).toBe(true);
    expect(refused.error?.message).toMatch(/2 calls in flight and 1 queued/);
    expect(await Promise.all(inFlight)).toEqual(['late', 'late', 'late']);
    expect(audit.query({ kind: 'quota' })).toMatchObject([{ permission: 'quota:queue' }]);
  });

  it('an API method named __proto__ is a method, never the prototype of the API object the host hands out', async () => {
    const s = setup();
    const iso = await loadIsolatedModule({ entry: fixture('proto-api'), isolation: 'worker', sandbox: s.sandbox, clock: s.clock });
    loaded.push(iso);
    const { ctx } = s.sandbox.contextFor(s.input('proto-api'), iso.definition);
    const api = (await iso.definition.activate?.(ctx)) as Record<string, () => Promise<unknown>>;
    expect(Object.getPrototypeOf(api)).toBe(Object.prototype);
    expect(await api.ping?.()).toBe('pong');
    expect(Object.getOwnPropertyNames(api)).toContain('__proto__');
  });

  it('a guest that posts null is a protocol crash: the host survives, the crash is audited, the guest restarts', async () => {
    const s = setup();
    const ev = events();
    const iso = await loadIsolatedModule({ entry: fixture('hostile'), isolation: 'worker', sandbox: s.sandbox, clock: s.clock, onEvent: ev.on });
    loaded.push(iso);
    const { ctx } = s.sandbox.contextFor(s.input('hostile'), iso.definition);
    const api = (await iso.definition.activate?.(ctx)) as Record<string, () => Promise<unknown>>;
    const crash = ev.next('crash');
    const r = await outcome(api.postNull?.() as Promise<unknown>);
    expect(isModhostError(r.error, 'MODULE_CRASHED')).toBe(true);
    expect(await crash).toMatchObject({
      kind: 'protocol',
      detail: 'sent a message that is not a modhost guest message: expected an object with "t", got null',
      willRestart: true,
      delayMs: 100,
    });
    expect(s.audit.query({ kind: 'crash' })).toMatchObject([{ module: 'hostile', detail: expect.stringMatching(/^protocol: sent a message that is not/) }]);
    const running = ev.next('running');
    s.clock.advance(100);
    await running;
    expect(await api.ok?.()).toBe(1);
  });

  it('a log line with a level the host does not know is a protocol crash, never a call on the host logger', async () => {
    const s = setup();
    const ev = events();
    const lines: string[] = [];
    const iso = await loadIsolatedModule({ entry: fixture('hostile'), isolation: 'worker', sandbox: s.sandbox, clock: s.clock, onEvent: ev.on });
    loaded.push(iso);
    const { ctx } = s.sandbox.contextFor(s.input('hostile', { logger: memoryLogger(lines) }), iso.definition);
    const api = (await iso.definition.activate?.(ctx)) as Record<string, () => Promise<unknown>>;
    const crash = ev.next('crash');
    await outcome(api.badLog?.() as Promise<unknown>);
    expect(await crash).toMatchObject({ kind: 'protocol', detail: expect.stringContaining('"level" must be one of debug, info, warn, error, got "evil"') });
    expect(lines).toEqual([]);
    expect(s.audit.query({ kind: 'crash' })).toHaveLength(1);
    const running = ev.next('running');
    s.clock.advance(100);
    await running;
    expect(iso.status()?.state).toBe('running');
  });

  it('module code that posts null while it loads fails the load (MANIFEST_INVALID), not the host', async () => {
    const error = await loadIsolatedModule({ entry: fixture('hostile-load'), isolation: 'worker' }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(isModhostError(error, 'MANIFEST_INVALID')).toBe(true);
    expect(error?.message).toMatch(/not a modhost guest message: expected an object with "t", got null/);
  });
});
