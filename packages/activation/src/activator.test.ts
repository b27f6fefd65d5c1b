import { defineModule, type ModuleDefinition } from '@modhost/core';
import { createFakeClock, drive, type FakeClock, fixtureModule } from '@modhost/testkit';
import { createActivationHarness } from '@modhost/testkit/activation';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { BoundHandler } from './activator.js';
import { createRouter } from './router.js';

const mod = (name: string, deps: string[] = [], extra: Partial<ModuleDefinition> = {}) => fixtureModule(name, '1.0.0', { dependencies: deps, ...extra });

/** A clock that counts the timers it was asked for. */
function countingClock(inner: FakeClock): FakeClock & { created: number } {
  const c = Object.assign(Object.create(inner) as FakeClock, { created: 0 });
  c.setTimeout = (cb: () => void, ms: number) => {
    c.created++;
    return inner.setTimeout(cb, ms);
  };
  return c;
}

describe('activation', () => {
  it('activates a diamond in dependency order and hands dependents their dependencies’ APIs', async () => {
    let seen: unknown;
    const defs = [
      mod('base', [], { activate: () => ({ hello: () => 'from base' }) }),
      mod('left', ['base']),
      mod('right', ['base']),
      mod('app', ['left', 'right'], {
        activate: (ctx) => {
          seen = [Object.keys(ctx.deps).sort(), (ctx.deps.left as { name: string }).name];
          return {};
        },
      }),
    ];
    const { registry, activator, activate } = await createActivationHarness(defs);
    const report = await activate();
    expect(report.ok).toBe(true);
    expect(report.modules.map((m) => `${m.name}:${m.state}`)).toEqual(['base:active', 'left:active', 'right:active', 'app:active']);
    expect(seen).toEqual([['left', 'right'], 'left']);
    expect((activator.api('base') as { hello(): string }).hello()).toBe('from base');
    const history = (await registry.get('app', '1.0.0'))?.history.map((h) => h.to);
    expect(history).toEqual(['registered', 'resolved', 'queued', 'loading', 'starting', 'verifying', 'ready', 'active']);
  });

  it('never runs more than `slots` at once, and starts the longest chain first', async () => {
    const clock = createFakeClock();
    const started: string[] = [];
    const slow = (name: string, deps: string[] = []) =>
      mod(name, deps, {
        activate: () => {
          started.push(name);
          return new Promise((r) => clock.setTimeout(() => r({}), 1000));
        },
      });
    const defs = [slow('a'), slow('b', ['a']), slow('c', ['b']), slow('x'), slow('y'), slow('z')];
    const { activate } = await createActivationHarness(defs, { slots: 2, timeouts: { start: 5000 }, clock });
    const report = await drive(clock, activate());
    expect(report.ok).toBe(true);
    expect(report.peakConcurrency).toBe(2);
    // `a` heads the chain a → b → c, so it goes first even though x, y, z are also ready.
    expect(started[0]).toBe('a');
    expect(started.indexOf('b')).toBeLessThan(started.indexOf('c'));
  });

  it('creates no timer at all when nothing needs one: scheduling is event-driven', async () => {
    const clock = countingClock(createFakeClock());
    const defs = Array.from({ length: 20 }, (_, i) => mod(`m${i}`, i > 0 ? [`m${Math.floor((i - 1) / 2)}`] : []));
    const { activate } = await createActivationHarness(defs, {
      timeouts: { load: Number.POSITIVE_INFINITY, start: Number.POSITIVE_INFINITY, verify: Number.POSITIVE_INFINITY },
      progressDeadlineMs: Number.POSITIVE_INFINITY,
      clock,
    });
    const report = await activate();
    expect(report.ok).toBe(true);
    expect(clock.created).toBe(0);
  });

  it('keeps a module that throws as failed with phase and cause, blocks only its dependents', async () => {
    const defs = [
      mod('db', [], {
        activate: () => {
          throw new Error('connection refused');
        },
      }),
      mod('orders', ['db']),
      mod('reports', ['orders']),
      mod('notes'),
    ];
    const { registry, activate, clock } = await createActivationHarness(defs);
    const report = await activate();
    expect(report.ok).toBe(false);
    const by = Object.fromEntries(report.modules.map((m) => [m.name, m]));
    expect(by.db).toMatchObject({ state: 'failed', phase: 'start', error: { code: 'Error', message: 'connection refused', timedOut: false } });
    expect(by.orders).toMatchObject({ state: 'blocked', blockedBy: 'db' });
    // blockedBy names the root cause, however far down the chain.
    expect(by.reports).toMatchObject({ state: 'blocked', blockedBy: 'db' });
    expect(by.notes?.state).toBe('active');
    expect((await registry.get('db', '1.0.0'))?.lastError).toMatchObject({ message: 'connection refused', phase: 'start' });
    expect((await registry.get('reports', '1.0.0'))?.status).toBe('blocked');
    expect((clock as FakeClock).pendingTimers()).toBe(0);
  });

  it('times out a start that hangs, and stops it if it finishes late', async () => {
    const clock = createFakeClock();
    let stopped = 0;
    let finishLate!: (v: unknown) => void;
    const defs = [mod('slow', [], { activate: () => new Promise((r) => (finishLate = r)), deactivate: () => void stopped++ })];
    const { registry, activate } = await createActivationHarness(defs, { timeouts: { start: 2000 }, clock });
    const report = await drive(clock, activate());
    expect(report.modules[0]).toMatchObject({ state: 'failed', phase: 'start', error: { code: 'ACTIVATION_TIMEOUT', timedOut: true } });
    expect(report.modules[0]?.timings.start).toBe(2000);
    expect((await registry.get('slow', '1.0.0'))?.lastError?.timedOut).toBe(true);
    expect(stopped).toBe(0);
    finishLate({});
    await clock.advanceAsync(0);
    expect(stopped).toBe(1);
  });

  it('gates on health: fails after the failure threshold and rolls the module back', async () => {
    const clock = createFakeClock();
    let probes = 0;
    let stopped = false;
    const defs = [
      mod('search', [], {
        health: () => {
          probes++;
          return { status: 'fail', detail: 'index unreachable' };
        },
        deactivate: () => {
          stopped = true;
        },
      }),
    ];
    const { activator, activate } = await createActivationHarness(defs, { health: { periodMs: 500, failureThreshold: 3 }, clock });
    const report = await drive(clock, activate());
    expect(report.modules[0]).toMatchObject({ state: 'failed', phase: 'verify', error: { code: 'HEALTH_CHECK_FAILED' } });
    expect(report.modules[0]?.error?.message).toContain('failed 3 health probes in a row: index unreachable');
    expect(probes).toBe(3);
    expect(report.modules[0]?.timings.verify).toBe(1000);
    expect(stopped).toBe(true);
    expect(activator.active).toEqual([]);
  });

  it('passes the health gate after enough consecutive successes', async () => {
    const clock = createFakeClock();
    const answers = [false, true, false, true, true];
    const defs = [mod('flaky', [], { health: () => answers.shift() ?? true })];
    const { activate } = await createActivationHarness(defs, { health: { periodMs: 100, successThreshold: 2, failureThreshold: 3 }, clock });
    const report = await drive(clock, activate(), { stepMs: 50 });
    expect(report.ok).toBe(true);
    expect(answers).toEqual([]);
  });

  it('aborts the whole start when a required module fails, stopping what already started', async () => {
    const stopped: string[] = [];
    const track = (name: string, deps: string[] = [], extra: Partial<ModuleDefinition> = {}) =>
      mod(name, deps, { deactivate: () => void stopped.push(name), ...extra });
    const defs = [
      track('config'),
      track('cache', ['config']),
      track('auth', ['cache'], {
        activate: () => {
          throw new Error('bad key');
        },
      }),
      track('billing', ['auth']),
    ];
    const { registry, activator, activate } = await createActivationHarness(defs, { required: ['auth'], slots: 1 });
    const report = await activate();
    expect(report.aborted?.reason).toBe('required module auth failed in start');
    expect(Object.fromEntries(report.modules.map((m) => [m.name, m.state]))).toEqual({
      auth: 'failed',
      billing: 'blocked',
      cache: 'stopped',
      config: 'stopped',
    });
    expect(stopped).toEqual(['cache', 'config']);
    expect((await registry.get('config', '1.0.0'))?.status).toBe('stopped');
    expect(activator.active).toEqual([]);
  });
});

describe('deactivation', () => {
  it('stops dependents first, refuses to stop a used module unless cascading', async () => {
    const stopped: string[] = [];
    const defs = ['base', 'mid', 'top'].map((n, i, all) => mod(n, i > 0 ? [all[i - 1] as string] : [], { deactivate: () => void stopped.push(n) }));
    defs.push(mod('solo', [], { deactivate: () => void stopped.push('solo') }));
    const { registry, activator, activate } = await createActivationHarness(defs);
    await activate();
    await expect(activator.deactivate(['base'])).rejects.toMatchObject({ code: 'MODULE_IN_USE', details: { module: 'base', dependents: ['mid'] } });
    expect(stopped).toEqual([]);
    const out = await activator.deactivate(['base'], { cascade: true });
    expect(out.map((o) => o.name)).toEqual(['top', 'mid', 'base']);
    expect(stopped).toEqual(['top', 'mid', 'base']);
    expect(activator.active).toEqual(['solo']);
    expect((await registry.get('mid', '1.0.0'))?.history.slice(-2).map((h) => h.to)).toEqual(['draining', 'stopped']);
    await activator.deactivate();
    expect(activator.active).toEqual([]);
  });

  it('records a deactivate that hangs as failed in the drain phase, and goes on with the rest', async () => {
    const clock = createFakeClock();
    const defs = [mod('stuck', [], { deactivate: () => new Promise(() => {}) }), mod('fine')];
    const { registry, activator, activate } = await createActivationHarness(defs, { timeouts: { stop: 1000 }, clock });
    await activate();
    const out = await drive(clock, activator.deactivate());
    expect(out.map((o) => `${o.name}:${o.state}`).sort()).toEqual(['fine:stopped', 'stuck:failed']);
    expect((await registry.get('stuck', '1.0.0'))?.lastError).toMatchObject({ code: 'ACTIVATION_TIMEOUT', phase: 'drain', timedOut: true });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('reactivating an active version is a no-op', async () => {
    const defs = [mod('a'), mod('b', ['a'])];
    const { activate } = await createActivationHarness(defs);
    await activate();
    const again = await activate();
    expect(again.ok).toBe(true);
    expect(again.modules.map((m) => m.state)).toEqual(['already-active', 'already-active']);
  });
});

describe('activation edge cases', () => {
  it('an aborted start also unmounts the routes of the modules it stops', async () => {
    const router = createRouter<BoundHandler>();
    const routed = (name: string, deps: string[] = [], extra: Partial<ModuleDefinition> = {}) =>
      mod(name, deps, { routes: [{ method: 'GET', path: '/', handler: () => ({ body: name }) }], ...extra });
    const defs = [
      routed('config'),
      routed('auth', ['config'], {
        activate: () => {
          throw new Error('bad key');
        },
      }),
    ];
    const { activate } = await createActivationHarness(defs, { required: ['auth'], slots: 1, router });
    const report = await activate();
    expect(report.aborted).toBeDefined();
    expect(router.prefixes).toEqual([]);
    expect(router.dispatch('GET', '/config')).toBeUndefined();
  });

  it('refuses to start a module whose config its schema rejects, instead of starting it on wrong values', async () => {
    let started = false;
    const needsKey = defineModule({
      name: 'billing',
      version: '1.0.0',
      config: { schema: z.object({ apiKey: z.string().startsWith('sk_') }) },
      activate: () => {
        started = true;
      },
    });
    const { activate } = await createActivationHarness([needsKey]);
    const report = await activate();
    expect(report.modules[0]).toMatchObject({ state: 'failed', phase: 'load', error: { code: 'CONFIG_INVALID' } });
    expect(report.modules[0]?.error?.message).toContain('apiKey');
    expect(started).toBe(false);
  });
});
