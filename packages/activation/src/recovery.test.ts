import { type AnyModuleDefinition, createRegistry, defineModule, type ModuleContext, type ModuleDefinition } from '@modhost/core';
import { resolve } from '@modhost/resolver';
import { createFakeClock, drive, silentLogger } from '@modhost/testkit';
import { createActivationHarness } from '@modhost/testkit/activation';
import { describe, expect, it } from 'vitest';
import { counter } from '../test/counter.js';
import { createActivator } from './activator.js';

/** The first version given active (the later ones registered), and a way to call its routes. */
async function setup(defs: AnyModuleDefinition[]) {
  const h = await createActivationHarness(defs, {
    timeouts: { stop: 2000 },
    health: { periodMs: 100, failureThreshold: 2 },
    rollbackWindowMs: 60_000,
    activate: true,
  });
  const name = (defs[0] as AnyModuleDefinition).name;
  return { ...h, call: (method: string, path: string) => h.call(method, `/${name}${path}`) };
}

describe('rollback of a stateful module', () => {
  it.each(['quiesce', 'snapshot'] as const)('%s: a rollback by hand hands back every update the newer version acknowledged', async (mode) => {
    const { activator, call } = await setup([counter('1.0.0', mode), counter('1.1.0', mode)]);
    for (let i = 0; i < 5; i++) await call('POST', '/inc');
    expect(await activator.upgrade('counter', '1.1.0')).toMatchObject({ outcome: 'switched' });
    const acks: unknown[] = [];
    for (let i = 0; i < 8; i++) acks.push((await call('POST', '/inc'))?.body);
    expect(acks.at(-1)).toBe(13);
    expect(await activator.rollback('counter')).toMatchObject({ ok: true, outcome: 'rolled-back', to: '1.0.0' });
    expect((await call('GET', '/'))?.body).toEqual({ v: '1.0.0', count: 13 });
  });

  it('quiesce: the automatic rollback after failed health probes loses no acknowledged update under traffic', async () => {
    let healthy = true;
    const { clock, registry, activator, call } = await setup([counter('1.0.0', 'quiesce'), counter('1.1.0', 'quiesce', { health: () => healthy })]);
    expect(await activator.upgrade('counter', '1.1.0')).toMatchObject({ outcome: 'switched' });
    const rolledBack = new Promise<void>((r) =>
      registry.on('module:transition', (t) => {
        if (t.version === '1.1.0' && t.to === 'rolled-back') r();
      }),
    );
    let acknowledged = 0;
    healthy = false;
    const pending: Promise<unknown>[] = [];
    await drive(clock, rolledBack, {
      stepMs: 20,
      onTick: () => {
        for (let k = 0; k < 10; k++)
          pending.push(
            call('POST', '/inc').then((r) => {
              if (typeof r?.body === 'number') acknowledged++;
            }),
          );
      },
    });
    await Promise.all(pending);
    expect(acknowledged).toBeGreaterThan(50);
    expect((await call('GET', '/'))?.body).toEqual({ v: '1.0.0', count: acknowledged });
  });

  it('two rollbacks at once (by hand and automatic) hand the state back once and share one outcome', async () => {
    const { activator, call } = await setup([counter('1.0.0', 'quiesce'), counter('1.1.0', 'quiesce')]);
    const told: string[] = [];
    activator.on('rolled-back', (r) => void told.push(`${r.from}->${r.to}`));
    await activator.upgrade('counter', '1.1.0');
    for (let i = 0; i < 6; i++) await call('POST', '/inc');
    const [a, b] = await Promise.all([activator.rollback('counter'), activator.rollback('counter')]);
    expect(a).toMatchObject({ ok: true, outcome: 'rolled-back' });
    expect(b).toEqual(a);
    expect((await call('GET', '/'))?.body).toEqual({ v: '1.0.0', count: 6 });
    expect(told).toEqual(['1.1.0->1.0.0']);
  });

  it('refuses a rollback that would drop state, with a clear error, and the newer version keeps serving', async () => {
    // 1.0.0 kept nothing in the process, so it has no importState to take 1.1.0's state back.
    const { importState: _i, exportState: _e, ...stateless } = counter('1.0.0', 'stateless') as ModuleDefinition & { importState?: unknown };
    const v1 = defineModule(stateless as ModuleDefinition);
    const { activator, call } = await setup([v1, counter('1.1.0', 'quiesce')]);
    await activator.upgrade('counter', '1.1.0');
    await call('POST', '/inc');
    const r = await activator.rollback('counter');
    expect(r).toMatchObject({ ok: false, outcome: 'refused', error: { code: 'ROLLBACK_FAILED', message: expect.stringContaining('has no importState') } });
    expect((await call('GET', '/'))?.body).toEqual({ v: '1.1.0', count: 1 });
  });

  it('a rollback asked for between the switch and the end of the upgrade waits for it and points back', async () => {
    const v = (version: string) =>
      defineModule({ name: 'tasks', version, routes: [{ method: 'GET', path: '/', handler: () => ({ body: version }) }], activate: () => ({ version }) });
    const { registry, activator, router } = await setup([v('1.0.0'), v('1.1.0')]);
    let early: Promise<unknown> | undefined;
    // The new version is recorded active after it took the traffic: that is inside the window.
    registry.on('module:transition', (t) => {
      if (t.version === '1.1.0' && t.to === 'active') early = activator.rollback('tasks');
    });
    expect(await activator.upgrade('tasks', '1.1.0')).toMatchObject({ outcome: 'switched' });
    expect(await early).toMatchObject({ ok: true, outcome: 'rolled-back', to: '1.0.0' });
    const body = await router.handle('GET', '/tasks', (d) => d.handler({ method: 'GET', path: '/', params: {}, query: {}, headers: {} }));
    expect(body?.body).toBe('1.0.0');
  });
});

describe('recovery from a version that failed while serving', () => {
  const v = (version: string) =>
    defineModule({ name: 'tasks', version, routes: [{ method: 'GET', path: '/', handler: () => ({ body: version }) }], activate: () => ({ version }) });

  it('upgrades away from it (no failed → draining), stopping it without a warm window', async () => {
    const { registry, activator } = await setup([v('1.0.0'), v('1.0.1')]);
    // What an isolated module's supervisor records when its guest gives up.
    await registry.transition('tasks', '1.0.0', 'failed', { phase: 'serve', error: new Error('crashed 4 times') });
    expect(await activator.upgrade('tasks', '1.0.1')).toMatchObject({ ok: true, outcome: 'switched' });
    expect((await registry.get('tasks', '1.0.0'))?.status).toBe('stopped');
    expect(activator.api('tasks')).toEqual({ version: '1.0.1' });
  });

  it('deactivates it, and stops every other module even when one cannot be recorded', async () => {
    const other = defineModule({ name: 'other', version: '1.0.0', activate: () => ({}) });
    const clock = createFakeClock();
    const base = createRegistry({ clock });
    await base.register(v('1.0.0'));
    await base.register(other);
    let storageDown = false;
    const registry = {
      ...base,
      transition: ((n, ver, to, o) =>
        storageDown && n === 'other' ? Promise.reject(new Error('storage is down')) : base.transition(n, ver, to, o)) as typeof base.transition,
    };
    const activator = createActivator({ registry, clock, logger: silentLogger });
    const plan = resolve({ roots: { tasks: '1.0.0', other: '1.0.0' }, catalog: [v('1.0.0'), other] });
    if (!plan.ok) throw new Error('no plan');
    await activator.activate(plan.plan);
    await base.transition('tasks', '1.0.0', 'failed', { phase: 'serve', error: new Error('gave up') });
    storageDown = true;
    const outcomes = await activator.deactivate();
    expect(outcomes.map((o) => `${o.name} ${o.state}`).sort()).toEqual(['other failed', 'tasks stopped']);
    expect(activator.active).toEqual([]);
  });
});

describe('a start that times out', () => {
  it('revokes its context at the deadline, also when activate never settles', async () => {
    let seen: ModuleContext | undefined;
    const hang = defineModule({
      name: 'hang',
      version: '1.0.0',
      activate: (ctx) => {
        seen = ctx;
        return new Promise(() => {});
      },
    });
    const { clock, activate } = await createActivationHarness([hang], { timeouts: { start: 1000 } });
    const report = activate();
    await clock.advanceAsync(1000);
    expect((await report).modules[0]).toMatchObject({ state: 'failed', error: { code: 'ACTIVATION_TIMEOUT', timedOut: true } });
    expect(seen?.signal?.aborted).toBe(true);
  });
});
