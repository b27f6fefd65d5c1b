import { type AnyModuleDefinition, defineModule, type HealthResult, type ModuleDefinition } from '@modhost/core';
import { drive, type FakeClock } from '@modhost/testkit';
import { type ActivationHarness, type ActivationHarnessOptions, createActivationHarness } from '@modhost/testkit/activation';
import { describe, expect, it } from 'vitest';

/** A module version that answers GET / with its version, and counts its stops. */
function version(v: string, extra: Partial<ModuleDefinition> = {}, log: string[] = []): AnyModuleDefinition {
  return defineModule({
    name: 'tasks',
    version: v,
    routes: [{ method: 'GET', path: '/', handler: () => ({ body: v }) }],
    activate: () => ({ version: v }),
    deactivate: () => void log.push(`stop ${v}`),
    ...extra,
  } as ModuleDefinition);
}

/** The first version given of each module active (the later ones registered), and a GET /tasks. */
async function setup(defs: AnyModuleDefinition[], options: ActivationHarnessOptions = {}) {
  const h = await createActivationHarness(defs, { health: { periodMs: 100, failureThreshold: 2 }, ...options, activate: true });
  const get = async () => (await h.call('GET', '/tasks'))?.body as string | undefined;
  return { ...h, get };
}

/** Drives the fake clock while firing requests; returns every answer in order. */
async function underTraffic<T>(
  clock: FakeClock,
  get: () => Promise<string | undefined>,
  work: Promise<T>,
): Promise<{ result: T; answers: (string | undefined)[] }> {
  const answers: (string | undefined)[] = [];
  const result = await drive(clock, work, {
    stepMs: 50,
    onTick: async () => {
      answers.push(...(await Promise.all(Array.from({ length: 5 }, get))));
    },
  });
  answers.push(...(await Promise.all(Array.from({ length: 5 }, get))));
  return { result, answers };
}

describe('upgrade', () => {
  it('swaps to a healthy new version with no failed request, then drains and stops the old one', async () => {
    const log: string[] = [];
    let probes = 0;
    const v2 = version('1.1.0', { health: () => ++probes >= 2 }, log);
    const { clock, registry, router, activator, get } = await setup([version('1.0.0', {}, log), v2]);
    const { result, answers } = await underTraffic(clock, get, activator.upgrade('tasks', '1.1.0'));
    expect(result).toMatchObject({ ok: true, outcome: 'switched', from: '1.0.0', to: '1.1.0' });
    expect(answers.every((a) => a === '1.0.0' || a === '1.1.0')).toBe(true);
    // Once the new version answered, the old one never did again.
    const firstNew = answers.indexOf('1.1.0');
    expect(firstNew).toBeGreaterThan(0);
    expect(answers.slice(firstNew).every((a) => a === '1.1.0')).toBe(true);
    expect(log).toEqual(['stop 1.0.0']);
    expect((await registry.get('tasks', '1.0.0'))?.status).toBe('stopped');
    expect((await registry.get('tasks', '1.1.0'))?.status).toBe('active');
    expect((await registry.getModule('tasks'))?.desiredVersion).toBe('1.1.0');
    expect(router.prefixes).toEqual(['/tasks']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('discards a new version that fails its health gate, marks it rejected, and keeps the old one serving', async () => {
    const log: string[] = [];
    const bad = version('2.0.0', { health: (): HealthResult => ({ status: 'fail', detail: 'schema mismatch' }) }, log);
    const { clock, registry, activator, get } = await setup([version('1.0.0', {}, log), bad]);
    const { result, answers } = await underTraffic(clock, get, activator.upgrade('tasks', '2.0.0'));
    expect(result).toMatchObject({ ok: false, outcome: 'failed', phase: 'verify', error: { code: 'HEALTH_CHECK_FAILED' } });
    expect(answers.every((a) => a === '1.0.0')).toBe(true);
    expect(log).toEqual(['stop 2.0.0']);
    expect((await registry.get('tasks', '2.0.0'))?.status).toBe('failed');
    expect((await registry.getModule('tasks'))?.rejected.map((r) => r.version)).toEqual(['2.0.0']);
    // Not retried in a loop: a second attempt is refused until the rejection is cleared.
    const again = await activator.upgrade('tasks', '2.0.0');
    expect(again).toMatchObject({ ok: false, outcome: 'refused' });
    expect(again.error?.message).toContain('clearRejection');
    expect(clock.pendingTimers()).toBe(0);
  });

  it('refuses an upgrade that would break an active dependent, with the resolver’s explanation', async () => {
    const reports = defineModule({ name: 'reports', version: '1.0.0', dependencies: { tasks: '^1.0.0' }, activate: () => ({}) });
    const { registry, activator } = await setup([version('1.0.0'), reports, version('2.0.0')]);
    const r = await activator.upgrade('tasks', '2.0.0');
    expect(r).toMatchObject({ ok: false, outcome: 'refused', error: { code: 'DEPENDENCY_UNSATISFIED' } });
    expect(r.explanation).toContain('reports');
    expect(r.explanation).toContain('tasks ^1.0.0');
    expect((await registry.get('tasks', '2.0.0'))?.status).toBe('registered');
  });

  it('hands dependents the new version through their dependency handle', async () => {
    let ctxDeps: Record<string, unknown> = {};
    const reports = defineModule({
      name: 'reports',
      version: '1.0.0',
      dependencies: { tasks: '^1.0.0' },
      activate: (ctx) => {
        ctxDeps = ctx.deps as Record<string, unknown>;
        return {};
      },
    });
    const { activator } = await setup([version('1.0.0'), reports, version('1.2.0')]);
    expect(ctxDeps.tasks).toEqual({ version: '1.0.0' });
    await activator.upgrade('tasks', '1.2.0');
    expect(ctxDeps.tasks).toEqual({ version: '1.2.0' });
  });

  it('keeps the old version warm for a rollback window and points back on request', async () => {
    const log: string[] = [];
    const { clock, registry, activator, get } = await setup([version('1.0.0', {}, log), version('1.1.0', {}, log)], { rollbackWindowMs: 10_000 });
    const up = await activator.upgrade('tasks', '1.1.0');
    expect(up.rollbackUntil).toBe(clock.now() + 10_000);
    expect(await get()).toBe('1.1.0');
    expect((await registry.get('tasks', '1.0.0'))?.status).toBe('draining');
    const back = await activator.rollback('tasks');
    expect(back).toMatchObject({ ok: true, outcome: 'rolled-back', from: '1.1.0', to: '1.0.0' });
    expect(await get()).toBe('1.0.0');
    expect(log).toEqual(['stop 1.1.0']);
    expect((await registry.get('tasks', '1.0.0'))?.status).toBe('active');
    expect((await registry.get('tasks', '1.1.0'))?.status).toBe('rolled-back');
    expect((await registry.getModule('tasks'))?.desiredVersion).toBe('1.0.0');
    expect(clock.pendingTimers()).toBe(0);
  });

  it('stops the old version when the window passes; after that there is nothing to roll back to', async () => {
    const log: string[] = [];
    const { clock, registry, activator } = await setup([version('1.0.0', {}, log), version('1.1.0', {}, log)], { rollbackWindowMs: 5000 });
    await activator.upgrade('tasks', '1.1.0');
    await clock.advanceAsync(5000);
    expect(log).toEqual(['stop 1.0.0']);
    expect((await registry.get('tasks', '1.0.0'))?.status).toBe('stopped');
    await expect(activator.rollback('tasks')).rejects.toMatchObject({ code: 'ROLLBACK_FAILED' });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('rolls back by itself when the new version turns unhealthy inside the window, with no failed request', async () => {
    let healthy = true;
    const log: string[] = [];
    const { clock, registry, activator, get } = await setup([version('1.0.0', {}, log), version('1.1.0', { health: () => healthy }, log)], {
      rollbackWindowMs: 60_000,
    });
    await activator.upgrade('tasks', '1.1.0');
    expect(await get()).toBe('1.1.0');
    healthy = false;
    const { answers } = await underTraffic(
      clock,
      get,
      (async () => {
        while ((await registry.get('tasks', '1.1.0'))?.status !== 'rolled-back') await clock.advanceAsync(100);
      })(),
    );
    expect(answers.every((a) => a === '1.0.0' || a === '1.1.0')).toBe(true);
    expect(await get()).toBe('1.0.0');
    expect((await registry.getModule('tasks'))?.rejected[0]).toMatchObject({ version: '1.1.0', reason: 'failed 2 health probes after the switch' });
    expect(log).toEqual(['stop 1.1.0']);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('canary upgrade', () => {
  const keyed = (call: ActivationHarness['call']) => async (key: string) => (await call('GET', '/tasks', { key }))?.body as string | undefined;

  it('moves traffic in steps by stable key, then promotes, with no failed request', async () => {
    const log: string[] = [];
    const { clock, registry, activator, call } = await setup([version('1.0.0', {}, log), version('1.1.0', { health: () => true }, log)]);
    const get = keyed(call);
    const keys = Array.from({ length: 400 }, (_, i) => `user-${i}`);
    const shares: number[] = [];
    const answers: (string | undefined)[] = [];
    const result = await drive(clock, activator.upgrade('tasks', '1.1.0', { canary: { steps: [10, 50], stepMs: 1000 } }), {
      stepMs: 250,
      onTick: async () => {
        const batch = await Promise.all(keys.map(get));
        answers.push(...batch);
        shares.push(batch.filter((a) => a === '1.1.0').length / keys.length);
      },
    });
    expect(result).toMatchObject({ ok: true, outcome: 'switched' });
    expect(answers.every((a) => a === '1.0.0' || a === '1.1.0')).toBe(true);
    // The share of keys on the new version rises through the steps and never falls back.
    // (0 first: while the new version passes its health gate, everything stays on the old one.)
    const seen = [...new Set(shares.map((s) => Math.round(s * 10) / 10))];
    expect(seen.slice(0, 2)).toEqual([0, 0.1]);
    expect(seen).toContain(0.5);
    for (let i = 1; i < shares.length; i++) expect(shares[i] as number).toBeGreaterThanOrEqual((shares[i - 1] as number) - 1e-9);
    expect(await get('anyone')).toBe('1.1.0');
    expect(log).toEqual(['stop 1.0.0']);
    expect((await registry.get('tasks', '1.0.0'))?.status).toBe('stopped');
    expect(clock.pendingTimers()).toBe(0);
  });

  it('sends everything back when the new version fails during the canary', async () => {
    const log: string[] = [];
    let probes = 0;
    const { clock, registry, activator, call } = await setup([version('1.0.0', {}, log), version('1.1.0', { health: () => ++probes <= 2 }, log)]);
    const get = keyed(call);
    const answers: (string | undefined)[] = [];
    const result = await drive(clock, activator.upgrade('tasks', '1.1.0', { canary: { steps: [20, 60], stepMs: 1000 } }), {
      onTick: async () => {
        answers.push(...(await Promise.all(Array.from({ length: 50 }, (_, k) => get(`k${k}`)))));
      },
    });
    expect(result).toMatchObject({ ok: false, outcome: 'rolled-back', phase: 'serve', error: { code: 'HEALTH_CHECK_FAILED' } });
    expect(answers.every((a) => a === '1.0.0' || a === '1.1.0')).toBe(true);
    expect(answers).toContain('1.1.0');
    expect(await Promise.all(Array.from({ length: 50 }, (_, k) => get(`k${k}`)))).toEqual(Array(50).fill('1.0.0'));
    expect((await registry.get('tasks', '1.1.0'))?.status).toBe('rolled-back');
    expect((await registry.get('tasks', '1.0.0'))?.status).toBe('active');
    expect((await registry.getModule('tasks'))?.rejected.map((r) => r.version)).toEqual(['1.1.0']);
    expect(log).toEqual(['stop 1.1.0']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('refuses a canary for a module that keeps state in the process, before starting anything', async () => {
    const stateful = version('1.1.0', { stateMode: 'snapshot', exportState: () => ({}), importState: () => {} });
    const { registry, activator } = await setup([version('1.0.0'), stateful]);
    const r = await activator.upgrade('tasks', '1.1.0', { canary: { steps: [10], stepMs: 1000 } });
    expect(r).toMatchObject({ ok: false, outcome: 'refused' });
    expect(r.error?.message).toContain('keeps state in the process');
    expect((await registry.get('tasks', '1.1.0'))?.status).toBe('registered');
  });
});
