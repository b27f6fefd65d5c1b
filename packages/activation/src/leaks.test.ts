// Nothing of a stopped, failed or replaced version may be left behind: routes, jobs, timers, requests in flight,
// API handles. This counts all of them after each way a version can go away.
import { type AnyModuleDefinition, defineModule, type ModuleDefinition } from '@modhost/core';
import { drive } from '@modhost/testkit';
import { createActivationHarness } from '@modhost/testkit/activation';
import { describe, expect, it } from 'vitest';

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

describe('no leaks', () => {
  it('after a swap, a failed upgrade and a deactivation nothing of the old versions is left', async () => {
    const defs = [version('1.0.0'), version('1.1.0'), version('1.2.0', { health: () => false })];
    const { clock, router, activator, activate } = await createActivationHarness(defs, { health: { periodMs: 100, failureThreshold: 2 } });
    await activate();
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
