import type { AnyModuleDefinition, ModuleDefinition } from '@modhost/core';
import { drive } from '@modhost/testkit';
import { createActivationHarness } from '@modhost/testkit/activation';
import { describe, expect, it } from 'vitest';
import { counter } from '../test/counter.js';

/** Version 1.0.0 of the counter active (the later versions registered), and a way to call its routes. */
async function setup(defs: AnyModuleDefinition[]) {
  const h = await createActivationHarness(defs, { timeouts: { stop: 2000 }, activate: true });
  return { ...h, call: (method: string, path: string) => h.call(method, `/counter${path}`) };
}

describe('state hand-off', () => {
  it('quiesce: no update is lost while traffic keeps coming through the swap', async () => {
    let probes = 0;
    const { clock, registry, activator, call } = await setup([counter('1.0.0', 'quiesce'), counter('1.1.0', 'quiesce', { health: () => ++probes >= 3 })]);
    let sent = 0;
    const pending: Promise<unknown>[] = [];
    const result = await drive(clock, activator.upgrade('counter', '1.1.0'), {
      stepMs: 10,
      onTick: () => {
        for (let k = 0; k < 20; k++) {
          sent++;
          pending.push(call('POST', '/inc'));
        }
      },
    });
    const responses = await Promise.all(pending);
    expect(result).toMatchObject({ ok: true, outcome: 'switched' });
    expect(responses.every((r) => r !== undefined)).toBe(true);
    const final = (await call('GET', '/'))?.body as { v: string; count: number };
    expect(sent).toBeGreaterThan(1000);
    expect(final).toEqual({ v: '1.1.0', count: sent });
    expect((await registry.get('counter', '1.0.0'))?.status).toBe('stopped');
  });

  it('snapshot: hands the exported state to importState with the version it came from', async () => {
    const imports: unknown[] = [];
    const { activator, call } = await setup([counter('1.0.0', 'snapshot'), counter('1.1.0', 'snapshot', {}, (state, from) => imports.push([state, from]))]);
    for (let i = 0; i < 5; i++) await call('POST', '/inc');
    await activator.upgrade('counter', '1.1.0');
    expect(imports).toEqual([[{ count: 5 }, '1.0.0']]);
    expect((await call('GET', '/'))?.body).toEqual({ v: '1.1.0', count: 5 });
  });

  it('a failing import leaves the old version serving, releases held requests to it, and rejects the new one', async () => {
    const bad = counter('1.1.0', 'quiesce', {
      importState: () => {
        throw new Error('state format 2 expected');
      },
    });
    const { clock, registry, activator, call } = await setup([counter('1.0.0', 'quiesce'), bad]);
    for (let i = 0; i < 3; i++) await call('POST', '/inc');
    const r = await activator.upgrade('counter', '1.1.0');
    expect(r).toMatchObject({ ok: false, outcome: 'failed', phase: 'switch', error: { message: 'state format 2 expected' } });
    expect((await call('POST', '/inc'))?.body).toBe(4);
    expect((await call('GET', '/'))?.body).toEqual({ v: '1.0.0', count: 4 });
    expect((await registry.get('counter', '1.1.0'))?.lastError).toMatchObject({ phase: 'switch' });
    expect((await registry.getModule('counter'))?.rejected.map((x) => x.version)).toEqual(['1.1.0']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('quiesce gives up when in-flight requests do not drain in time, and the old version keeps serving', async () => {
    let releaseStuck!: () => void;
    const stuckGate = new Promise<void>((r) => {
      releaseStuck = r;
    });
    const v1 = counter('1.0.0', 'quiesce', {
      routes: [
        {
          method: 'GET',
          path: '/stuck',
          handler: async () => {
            await stuckGate;
            return { body: 'late' };
          },
        },
        { method: 'GET', path: '/', handler: () => ({ body: { v: '1.0.0' } }) },
      ],
    } as Partial<ModuleDefinition>);
    const { clock, activator, call } = await setup([v1, counter('1.1.0', 'quiesce')]);
    const stuck = call('GET', '/stuck');
    const r = await drive(clock, activator.upgrade('counter', '1.1.0'));
    expect(r).toMatchObject({ ok: false, outcome: 'failed', phase: 'switch', error: { code: 'ACTIVATION_TIMEOUT', timedOut: true } });
    expect((await call('GET', '/'))?.body).toEqual({ v: '1.0.0' });
    releaseStuck();
    expect((await stuck)?.body).toBe('late');
    expect(clock.pendingTimers()).toBe(0);
  });
});
