import { type AnyModuleDefinition, createRegistry, defineModule, type ModuleDefinition, type StateMode } from '@modhost/core';
import { resolve } from '@modhost/resolver';
import { createFakeClock } from '@modhost/testkit';
import { describe, expect, it } from 'vitest';
import { type BoundHandler, createActivator } from './activator.js';
import { createRouter } from './router.js';

/** A counter that lives in the process: POST /inc adds one (after a short await), GET / reads it. */
function counter(
  v: string,
  mode: StateMode,
  extra: Partial<ModuleDefinition> = {},
  onImport: (state: unknown, from: string) => void = () => {},
): AnyModuleDefinition {
  let count = 0;
  return defineModule({
    name: 'counter',
    version: v,
    stateMode: mode,
    routes: [
      {
        method: 'POST',
        path: '/inc',
        handler: async () => {
          count += 1;
          const mine = count;
          // Still in flight for a moment after the update: what a drain has to wait for.
          await Promise.resolve();
          return { body: mine };
        },
      },
      { method: 'GET', path: '/', handler: () => ({ body: { v, count } }) },
    ],
    exportState: () => ({ count }),
    importState: (state, from) => {
      onImport(state, from);
      count = (state as { count: number }).count;
    },
    ...extra,
  } as ModuleDefinition);
}

async function setup(defs: AnyModuleDefinition[]) {
  const clock = createFakeClock();
  const registry = createRegistry({ clock });
  for (const d of defs) await registry.register(d);
  const router = createRouter<BoundHandler>();
  const activator = createActivator({ registry, clock, router, logger: () => ({ debug() {}, info() {}, warn() {}, error() {} }), timeouts: { stop: 2000 } });
  const plan = resolve({ roots: { counter: '1.0.0' }, catalog: [defs[0] as AnyModuleDefinition] });
  if (!plan.ok) throw new Error(plan.error.message);
  await activator.activate(plan.plan);
  const call = (method: string, path: string) =>
    router.handle(method, `/counter${path}`, (d) => d.handler({ method: method as 'GET', path, params: d.params, query: {}, headers: {} }));
  return { clock, registry, activator, call };
}

describe('state hand-off', () => {
  it('quiesce: no update is lost while traffic keeps coming through the swap', async () => {
    let probes = 0;
    const { clock, registry, activator, call } = await setup([counter('1.0.0', 'quiesce'), counter('1.1.0', 'quiesce', { health: () => ++probes >= 3 })]);
    let sent = 0;
    let done = false;
    const up = activator.upgrade('counter', '1.1.0').finally(() => {
      done = true;
    });
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 1000 && !done; i++) {
      for (let k = 0; k < 20; k++) {
        sent++;
        pending.push(call('POST', '/inc'));
      }
      await clock.advanceAsync(10);
    }
    const result = await up;
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
    let done = false;
    const up = activator.upgrade('counter', '1.1.0').finally(() => {
      done = true;
    });
    for (let i = 0; i < 100 && !done; i++) await clock.advanceAsync(100);
    const r = await up;
    expect(r).toMatchObject({ ok: false, outcome: 'failed', phase: 'switch', error: { code: 'ACTIVATION_TIMEOUT', timedOut: true } });
    expect((await call('GET', '/'))?.body).toEqual({ v: '1.0.0' });
    releaseStuck();
    expect((await stuck)?.body).toBe('late');
    expect(clock.pendingTimers()).toBe(0);
  });
});
