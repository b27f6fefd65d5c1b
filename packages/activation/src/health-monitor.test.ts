import { type AnyModuleDefinition, type HealthResult, isModhostError, type ModuleDefinition } from '@modhost/core';
import { createFakeClock, type FakeClock, fixtureModule } from '@modhost/testkit';
import { createActivationHarness } from '@modhost/testkit/activation';
import { describe, expect, it } from 'vitest';
import type { HealthMonitorOptions, ModuleHealthEvent } from './types.js';

const mod = (name: string, deps: string[] = [], extra: Partial<ModuleDefinition> = {}, version = '1.0.0') =>
  fixtureModule(name, version, { dependencies: deps, ...extra });

/** Lets every queued promise callback run (no time passes). */
const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
};

/** A fake clock that counts the timers it was asked for and how many were pending at most at once. */
function countingClock(inner: FakeClock): FakeClock & { created: number; live: Set<unknown>; maxLive: number; reset(): void } {
  const c = Object.assign(Object.create(inner) as FakeClock, {
    created: 0,
    live: new Set<unknown>(),
    maxLive: 0,
    reset() {
      c.created = 0;
      c.maxLive = c.live.size;
    },
  });
  c.setTimeout = (cb: () => void, ms: number) => {
    c.created++;
    const handle: unknown = inner.setTimeout(() => {
      c.live.delete(handle);
      cb();
    }, ms);
    c.live.add(handle);
    c.maxLive = Math.max(c.maxLive, c.live.size);
    return handle;
  };
  c.clearTimeout = (handle: unknown) => {
    c.live.delete(handle);
    inner.clearTimeout(handle);
  };
  return c;
}

/** An activated harness with the monitor started; `events` collects `module:health`. */
async function monitored(defs: AnyModuleDefinition[], healthMonitor: HealthMonitorOptions, extra: Parameters<typeof createActivationHarness>[1] = {}) {
  const h = await createActivationHarness(defs, { activate: true, healthMonitor, ...extra });
  const events: ModuleHealthEvent[] = [];
  h.activator.on('module:health', (e) => events.push(e));
  h.activator.monitor.start();
  return { ...h, events };
}

/** A module whose health() answers what `state.result` says. */
const switchable = (name: string, deps: string[] = [], extra: Partial<ModuleDefinition> = {}) => {
  const state: { result: HealthResult; calls: number } = { result: true, calls: 0 };
  const def = mod(name, deps, {
    health: () => {
      state.calls++;
      return state.result;
    },
    ...extra,
  });
  return { def, state };
};

describe('health monitor: statuses', () => {
  it('moves ok → degraded → fail on consecutive failures and back to ok after successThreshold passes', async () => {
    const db = switchable('db');
    const { clock, activator, events } = await monitored([db.def], { periodMs: 1000, failureThreshold: 3, successThreshold: 2 });
    await clock.advanceAsync(1000);
    expect(activator.health('db')).toMatchObject({ status: 'ok', probes: 1 });

    db.state.result = false;
    await clock.advanceAsync(1000);
    expect(activator.health('db')).toMatchObject({ status: 'degraded', detail: expect.stringContaining('health() returned false') });
    await clock.advanceAsync(1000);
    expect(activator.health('db')?.status).toBe('degraded');
    await clock.advanceAsync(1000);
    expect(activator.health('db')).toMatchObject({ status: 'fail', since: clock.now() });

    db.state.result = true;
    await clock.advanceAsync(1000);
    expect(activator.health('db')?.status).toBe('fail'); // one pass is not enough with successThreshold 2
    await clock.advanceAsync(1000);
    expect(activator.health('db')?.status).toBe('ok');

    expect(events.map((e) => `${e.previous}→${e.status}`)).toEqual(['ok→degraded', 'degraded→fail', 'fail→ok']);
    expect(events[0]).toMatchObject({ name: 'db', version: '1.0.0' });
    expect(activator.health('db')?.history.map((c) => c.status)).toEqual(['degraded', 'fail', 'ok']);
  });

  it("shows a module's own { status: 'degraded' } with its detail, and counts a throw as a failure without its text", async () => {
    const cache = switchable('cache');
    const { clock, activator } = await monitored([cache.def], { periodMs: 1000 });
    cache.state.result = { status: 'degraded', detail: 'cache cold' };
    await clock.advanceAsync(1000);
    expect(activator.health('cache')).toMatchObject({ status: 'degraded', detail: 'cache cold' });

    let throwing = false;
    const later = mod('later', [], {
      health: () => {
        if (throwing) throw new Error('password=hunter2');
        return true;
      },
    });
    const m = await monitored([later], { periodMs: 1000 });
    throwing = true;
    await m.clock.advanceAsync(1000);
    expect(m.activator.health('later')).toMatchObject({ status: 'degraded' });
    expect(m.activator.health('later')?.detail).toContain('health() threw');
    expect(m.activator.health('later')?.detail).not.toContain('hunter2');
  });

  it('shows a failing dependency on its dependents, directly and through others, as degraded "dependency X"', async () => {
    const db = switchable('db');
    const defs = [db.def, mod('api', ['db']), mod('web', ['api']), mod('other')];
    const { clock, activator, events } = await monitored(defs, { periodMs: 1000, failureThreshold: 2 });
    db.state.result = false;
    await clock.advanceAsync(1000);
    expect(activator.health('api')).toMatchObject({ status: 'degraded', detail: 'dependency db' });
    await clock.advanceAsync(1000);
    expect(activator.health('db')?.status).toBe('fail');
    expect(activator.health('api')).toMatchObject({ status: 'degraded', detail: 'dependency db' });
    expect(activator.health('web')).toMatchObject({ status: 'degraded', detail: 'dependency db' });
    expect(activator.health('other')?.status).toBe('ok');

    db.state.result = true;
    await clock.advanceAsync(1000);
    expect(activator.monitor.all().map((h) => `${h.name}:${h.status}`)).toEqual(['api:ok', 'db:ok', 'other:ok', 'web:ok']);
    expect(events.filter((e) => e.name === 'web').map((e) => e.status)).toEqual(['degraded', 'ok']);
  });

  it("does not degrade dependents for a dependency's own { status: 'degraded' }", async () => {
    const db = switchable('db');
    const { clock, activator } = await monitored([db.def, mod('api', ['db'])], { periodMs: 1000 });
    db.state.result = { status: 'degraded', detail: 'replica lag' };
    await clock.advanceAsync(1000);
    expect(activator.health('db')?.status).toBe('degraded');
    expect(activator.health('api')?.status).toBe('ok');
  });
});

describe('health monitor: scheduling', () => {
  it('never starts a probe while the previous one hangs; its timeout counts as a failure', async () => {
    let calls = 0;
    let hang = false;
    let answer: ((v: boolean) => void) | undefined;
    const slow = mod('slow', [], {
      health: () => {
        calls++;
        if (!hang) return true;
        return new Promise<boolean>((r) => {
          answer = r;
        });
      },
    });
    const { clock, activator } = await monitored([slow], { periodMs: 1000, timeoutMs: 500, failureThreshold: 3 });
    await clock.advanceAsync(1000);
    const before = calls;
    hang = true;
    await clock.advanceAsync(10_000);
    expect(calls - before).toBe(1);
    expect(activator.health('slow')).toMatchObject({ status: 'fail' });
    expect(activator.monitor.stats()).toMatchObject({ timedOut: 1 });
    expect(activator.monitor.stats().skipped).toBeGreaterThanOrEqual(8);

    // Once it answers, probing goes on (the late answer is not a verdict).
    hang = false;
    answer?.(true);
    await clock.advanceAsync(1000);
    expect(calls - before).toBe(2);
    await clock.advanceAsync(1000);
    expect(activator.health('slow')?.status).toBe('ok');
  });

  it('keeps at most one timer pending for 1,000 modules, whatever they answer', async () => {
    const clock = countingClock(createFakeClock());
    let failing = false;
    // A tenth answer asynchronously (each such probe has a deadline), a seventh fail once the monitor runs.
    const defs = Array.from({ length: 1000 }, (_, i) =>
      mod(`m${i}`, [], { health: i % 10 === 0 ? () => Promise.resolve(true) : i % 7 === 0 ? () => !failing : () => true }),
    );
    const h = await createActivationHarness(defs, {
      clock,
      activate: true,
      healthMonitor: { periodMs: 1000, timeoutMs: 500 },
      health: { failureThreshold: 5 },
    });
    await settle();
    clock.reset();
    failing = true;
    h.activator.monitor.start();
    await clock.advanceAsync(10_000);
    const stats = h.activator.monitor.stats();
    expect(stats.probes).toBe(10_000);
    expect(clock.maxLive).toBeLessThanOrEqual(1);
    expect(stats.pendingTimers).toBe(1);
    // One wake-up per 100 ms resolution step at most (plus the deadlines of async probes), never one per module.
    expect(clock.created).toBeLessThanOrEqual(10 * 10 * 2 + 2);
    expect(stats.timersCreated).toBe(clock.created);
    h.activator.monitor.stop();
    expect(clock.live.size).toBe(0);
  });

  it('probes nothing and holds no timer once stopped', async () => {
    const db = switchable('db');
    const { clock, activator } = await monitored([db.def], { periodMs: 1000 });
    await clock.advanceAsync(1000);
    activator.monitor.stop();
    const calls = db.state.calls;
    expect(clock.pendingTimers()).toBe(0);
    await clock.advanceAsync(5000);
    expect(db.state.calls).toBe(calls);
    expect(activator.health('db')).toBeUndefined();
  });

  it('takes per-module overrides of period and thresholds', async () => {
    const fast = switchable('fast');
    const slow = switchable('slow');
    const { clock, activator } = await monitored([fast.def, slow.def], { periodMs: 10_000, modules: { fast: { periodMs: 1000, failureThreshold: 1 } } });
    fast.state.result = false;
    slow.state.result = false;
    await clock.advanceAsync(1000);
    expect(activator.health('fast')?.status).toBe('fail');
    expect(slow.state.calls).toBe(1); // only its health gate so far
  });

  it('watches a module activated after the start, and forgets one deactivated', async () => {
    const a = switchable('a');
    const b = switchable('b');
    const h = await createActivationHarness([a.def, b.def], { healthMonitor: { periodMs: 1000 } });
    h.activator.monitor.start();
    await h.activate({ a: '1.0.0' });
    expect(h.activator.health('a')?.status).toBe('ok');
    expect(h.activator.health('b')).toBeUndefined();
    await h.activate({ a: '1.0.0', b: '1.0.0' });
    expect(h.activator.health('b')?.status).toBe('ok');
    await h.activator.deactivate(['b']);
    expect(h.activator.health('b')).toBeUndefined();
  });
});

describe('health monitor: policies', () => {
  const routed = (name: string, extra: Partial<ModuleDefinition> = {}) => {
    const s = switchable(name, [], { routes: [{ method: 'GET', path: '/ping', handler: () => ({ status: 200, body: 'pong' }) }], ...extra });
    return s;
  };

  it("'none' (the default) only reports: the module keeps serving", async () => {
    const svc = routed('svc');
    const { clock, activator, events, call } = await monitored([svc.def], { periodMs: 1000, failureThreshold: 1 });
    svc.state.result = false;
    await clock.advanceAsync(1000);
    expect(activator.health('svc')).toMatchObject({ status: 'fail', policy: 'none', unrouted: false });
    expect(events.at(-1)?.action).toBeUndefined();
    expect(await call('GET', '/svc/ping')).toMatchObject({ status: 200 });
  });

  it("'unroute' answers MODULE_UNHEALTHY on its routes while it fails, and serves again once healthy", async () => {
    const svc = routed('svc');
    const { clock, activator, events, call } = await monitored([svc.def], { periodMs: 1000, failureThreshold: 2, policy: 'unroute' });
    svc.state.result = false;
    await clock.advanceAsync(1000);
    expect(await call('GET', '/svc/ping')).toMatchObject({ status: 200 }); // degraded still serves
    await clock.advanceAsync(1000);
    expect(activator.health('svc')).toMatchObject({ status: 'fail', unrouted: true });
    const refused = await call('GET', '/svc/ping').catch((e: unknown) => e);
    expect(isModhostError(refused, 'MODULE_UNHEALTHY')).toBe(true);
    expect(events.at(-1)).toMatchObject({ status: 'fail', action: 'unrouted' });

    svc.state.result = true;
    await clock.advanceAsync(1000);
    expect(await call('GET', '/svc/ping')).toMatchObject({ status: 200 });
    expect(events.at(-1)).toMatchObject({ status: 'ok', previous: 'fail', action: 'rerouted' });
    expect(activator.health('svc')?.unrouted).toBe(false);
  });

  it("'restart' starts a fresh instance through the gate, switches to it and stops the old one", async () => {
    const contexts: unknown[] = [];
    const broken = new Set<unknown>();
    let stopped = 0;
    const svc = mod('svc', [], {
      activate: (ctx) => {
        contexts.push(ctx);
        return { instance: contexts.length };
      },
      deactivate: () => {
        stopped++;
      },
      health: (ctx) => !broken.has(ctx),
      routes: [{ method: 'GET', path: '/ping', handler: () => ({ status: 200, body: 'pong' }) }],
    });
    const { clock, activator, events, call } = await monitored([svc], { periodMs: 1000, failureThreshold: 2, policy: 'restart' });
    broken.add(contexts[0]);
    await clock.advanceAsync(2000);
    await settle();
    expect(contexts).toHaveLength(2);
    expect(stopped).toBe(1);
    expect(activator.api('svc')).toEqual({ instance: 2 });
    expect(events.map((e) => `${e.status}:${e.action ?? ''}`)).toEqual(['degraded:', 'fail:restart', 'ok:restarted']);
    expect(await call('GET', '/svc/ping')).toMatchObject({ status: 200 });
    // The fresh instance is probed from here on.
    await clock.advanceAsync(1000);
    expect(activator.health('svc')).toMatchObject({ status: 'ok', probes: 1 });
  });

  it('restart falls back to stop then start when the fresh instance cannot start beside the old one', async () => {
    let live = 0;
    let starts = 0;
    const svc = mod('svc', [], {
      activate: () => {
        if (live > 0) throw new Error('port 8080 in use');
        live++;
        starts++;
        return { start: starts };
      },
      deactivate: () => {
        live--;
      },
    });
    const { activator, registry } = await createActivationHarness([svc], { activate: true });
    const report = await activator.restart('svc');
    expect(report).toMatchObject({ ok: true, outcome: 'restarted', mode: 'stop-start' });
    expect(activator.api('svc')).toEqual({ start: 2 });
    expect(live).toBe(1);
    expect((await registry.get('svc', '1.0.0'))?.status).toBe('active');
    await expect(activator.restart('nope')).rejects.toMatchObject({ code: 'MODULE_NOT_FOUND' });
  });

  it("'rollback' points back at the warm previous version while the upgrade's window is open", async () => {
    const v2 = { result: true as HealthResult };
    const defs = [mod('svc', [], { health: () => true }), mod('svc', [], { health: () => v2.result }, '2.0.0')];
    const { clock, activator, events } = await monitored(
      defs,
      { periodMs: 1000, failureThreshold: 2, policy: 'rollback' },
      // The upgrade's own window probing would roll back after 100 failures: the monitor's policy acts first.
      { rollbackWindowMs: 60_000, health: { periodMs: 1000, failureThreshold: 100 } },
    );
    expect(await activator.upgrade('svc', '2.0.0')).toMatchObject({ outcome: 'switched' });
    expect(activator.health('svc')?.version).toBe('2.0.0');
    v2.result = false;
    await clock.advanceAsync(2000);
    await settle();
    expect(activator.versionOf('svc')).toBe('1.0.0');
    expect(events.map((e) => `${e.version}:${e.status}:${e.action ?? ''}`)).toEqual(['2.0.0:degraded:', '2.0.0:fail:rollback', '1.0.0:ok:rolled-back']);
  });

  it("'rollback' with no window open reports only, and says so", async () => {
    const svc = switchable('svc');
    const { clock, activator, events } = await monitored([svc.def], { periodMs: 1000, failureThreshold: 1, policy: 'rollback' });
    svc.state.result = false;
    await clock.advanceAsync(1000);
    expect(events.at(-1)).toMatchObject({ status: 'fail', action: 'rollback-unavailable' });
    expect(activator.health('svc')?.detail).toContain('no upgrade');
    expect(activator.versionOf('svc')).toBe('1.0.0');
  });
});
