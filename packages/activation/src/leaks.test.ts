// Nothing of a stopped, failed or replaced version may be left behind: routes, jobs, timers, requests in flight,
// API handles. This counts all of them after each way a version can go away.
import { type AnyModuleDefinition, createRegistry, defineModule, type ModuleDefinition } from '@modhost/core';
import { resolve } from '@modhost/resolver';
import { createFakeClock, type FakeClock } from '@modhost/testkit';
import { describe, expect, it } from 'vitest';
import { type BoundHandler, createActivator } from './activator.js';
import { createRouter } from './router.js';

const version = (v: string, extra: Partial<ModuleDefinition> = {}): AnyModuleDefinition =>
  defineModule({
    name: 'svc',
    version: v,
    routes: [{ method: 'GET', path: '/', handler: () => ({ body: v }) }],
    jobs: [{ name: 'tick', schedule: { everyMs: 500 }, run: () => {} }],
    activate: () => ({ v }),
    health: () => true,
    ...extra,
  } as ModuleDefinition);

async function drive<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let done = false;
  const f = p.finally(() => {
    done = true;
  });
  for (let i = 0; i < 500 && !done; i++) await clock.advanceAsync(100);
  return f;
}

describe('no leaks', () => {
  it('after a swap, a failed upgrade and a deactivation nothing of the old versions is left', async () => {
    const clock = createFakeClock();
    const registry = createRegistry({ clock });
    const defs = [version('1.0.0'), version('1.1.0'), version('1.2.0', { health: () => false })];
    for (const d of defs) await registry.register(d);
    const router = createRouter<BoundHandler>();
    const activator = createActivator({
      registry,
      clock,
      router,
      logger: () => ({ debug() {}, info() {}, warn() {}, error() {} }),
      health: { periodMs: 100, failureThreshold: 2 },
    });
    const plan = resolve({ roots: { svc: '1.0.0' }, catalog: [defs[0] as AnyModuleDefinition] });
    if (!plan.ok) throw new Error(plan.error.message);
    await activator.activate(plan.plan);
    const oldTable = router.slot('/svc')?.current;

    // 1. A swap: the old table is unreferenced by the router, idle; one job runner, one set of timers.
    await drive(clock, activator.upgrade('svc', '1.1.0'));
    expect(router.prefixes).toEqual(['/svc']);
    expect(router.slot('/svc')?.current.owner.version).toBe('1.1.0');
    expect(router.slot('/svc')?.canary).toBeUndefined();
    expect(oldTable?.inFlight).toBe(0);
    expect(clock.pendingTimers()).toBe(1); // the new version's job, nothing else

    // 2. A failed upgrade: no slot points at it, no job of it is scheduled.
    const failed = await drive(clock, activator.upgrade('svc', '1.2.0'));
    expect(failed.outcome).toBe('failed');
    expect(router.slot('/svc')?.current.owner.version).toBe('1.1.0');
    expect(clock.pendingTimers()).toBe(1);

    // 3. Deactivation: no route, no job, no timer, no API handle.
    await drive(clock, activator.deactivate());
    expect(router.prefixes).toEqual([]);
    expect(activator.active).toEqual([]);
    expect(activator.api('svc')).toBeUndefined();
    expect(clock.pendingTimers()).toBe(0);
  });
});
