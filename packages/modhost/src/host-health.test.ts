import { defineModule, type HealthResult } from '@modhost/core';
import { createFakeClock, silentLogger } from '@modhost/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { serveHost, testHost } from '../test/folders.js';
import { createHost } from './host.js';
import type { HostEvents } from './host-types.js';

const probed = (result: { value: HealthResult }) => defineModule({ name: 'db', version: '1.0.0', health: () => result.value });

describe('the host health monitor', () => {
  it('runs from start() to stop(): status() and health() show its verdict, and module:health is a host event', async () => {
    const clock = createFakeClock();
    const result = { value: true as HealthResult };
    const host = createHost({
      version: '1.0.0',
      clock,
      logger: silentLogger,
      modules: [probed(result)],
      healthMonitor: { periodMs: 1000, failureThreshold: 2 },
    });
    const events: HostEvents['module:health'][] = [];
    host.events.on('module:health', (e) => events.push(e));
    expect(host.health()).toMatchObject({ started: false, monitoring: false });
    await host.start();
    expect(host.health()).toMatchObject({ started: true, monitoring: true, modules: [{ name: 'db', status: 'ok' }] });

    result.value = false;
    await clock.advanceAsync(2000);
    const db = (await host.status()).modules.find((m) => m.name === 'db');
    expect(db?.health).toMatchObject({ status: 'fail', detail: expect.stringContaining('health() returned false') });
    expect(db?.monitor).toMatchObject({ status: 'fail', since: 2000, history: [{ status: 'degraded' }, { status: 'fail' }], unrouted: false });
    expect(events.map((e) => e.status)).toEqual(['degraded', 'fail']);

    await host.stop();
    expect(host.health()).toMatchObject({ started: false, monitoring: false, modules: [] });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('is on by default (10 s period) and off with healthMonitor: false', async () => {
    const clock = createFakeClock();
    const result = { value: false as HealthResult };
    const on = createHost({ version: '1.0.0', clock, logger: silentLogger, modules: [probed({ value: true })] });
    await on.start();
    expect(on.health().monitoring).toBe(true);
    await on.stop();

    const off = createHost({ version: '1.0.0', clock, logger: silentLogger, modules: [probed(result)], healthMonitor: false });
    result.value = true;
    await off.start();
    result.value = false;
    await clock.advanceAsync(60_000);
    expect(off.health().monitoring).toBe(false);
    expect((await off.status()).modules[0]?.health.status).toBe('ok');
    await off.stop();
  });
});

describe('the restart policy with a worker module', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('restarts its guest through the gate, and the fresh guest serves (the old instance’s stop does not stop it)', async () => {
    const { host, folder, clock } = testHost(cleanups, {
      defaultIsolation: 'worker',
      minimumIsolation: 'worker',
      healthMonitor: { periodMs: 1000, failureThreshold: 1, policy: 'restart' },
      health: { periodMs: 1, failureThreshold: 1 },
    });
    // Unhealthy once its guest has served a request; a fresh guest is healthy again.
    folder.write(
      'flaky',
      { name: 'flaky', version: '1.0.0', permissions: ['routes:mount'], routes: [{ method: 'GET', path: '/' }] },
      `let served = 0;
export default {
  routes: [{ method: 'GET', path: '/', handler: () => ({ body: { served: ++served } }) }],
  health: () => served === 0,
};`,
    );
    await host.start();
    const http = await serveHost(cleanups, host);
    expect((await http('/flaky')).body).toEqual({ served: 1 });
    const actions: (string | undefined)[] = [];
    host.events.on('module:health', (e) => actions.push(e.action));
    // The clock moves until the monitor asks for the restart; the fresh guest then starts in real time.
    for (let i = 0; i < 2000 && !actions.includes('restart'); i++) {
      await clock.advanceAsync(1000);
      await new Promise((r) => setImmediate(r));
    }
    const giveUpAt = Date.now() + 15_000;
    while (Date.now() < giveUpAt && !actions.includes('restarted') && !actions.includes('restart-failed')) await new Promise((r) => setImmediate(r));
    expect(actions).toContain('restarted');
    // The fresh guest counts from zero, and keeps serving.
    expect((await http('/flaky')).body).toEqual({ served: 1 });
    expect((await http('/flaky')).body).toEqual({ served: 2 });
    expect((await host.status()).modules.find((m) => m.name === 'flaky')).toMatchObject({ state: 'active' });
  });
});
