// Fault injection: every phase that runs module code is made to throw, reject, hang and report unhealthy,
// on a fresh activation and on an upgrade. Each case must end consistent: the failed version kept with its
// phase and cause, nothing left scheduled, and (for upgrades) the previous version serving throughout.
import { type AnyModuleDefinition, createRegistry, defineModule, type ModuleDefinition } from '@modhost/core';
import { resolve } from '@modhost/resolver';
import { createFakeClock, type FakeClock } from '@modhost/testkit';
import { describe, expect, it } from 'vitest';
import { type BoundHandler, createActivator } from './activator.js';
import { createRouter } from './router.js';

type Fault = 'throw' | 'reject' | 'hang' | 'unhealthy';
type Hook = 'activate' | 'health' | 'migration';

const faulty = (fault: Fault): (() => unknown) => {
  switch (fault) {
    case 'throw':
      return () => {
        throw new Error('injected throw');
      };
    case 'reject':
      return () => Promise.reject(new Error('injected rejection'));
    case 'hang':
      return () => new Promise(() => {});
    case 'unhealthy':
      return () => ({ status: 'fail', detail: 'injected unhealthy' });
  }
};

const cases: [Hook, Fault, 'migrate' | 'start' | 'verify', string][] = [
  ['migration', 'throw', 'migrate', 'MIGRATION_FAILED'],
  ['migration', 'reject', 'migrate', 'MIGRATION_FAILED'],
  ['migration', 'hang', 'migrate', 'ACTIVATION_TIMEOUT'],
  ['activate', 'throw', 'start', 'Error'],
  ['activate', 'reject', 'start', 'Error'],
  ['activate', 'hang', 'start', 'ACTIVATION_TIMEOUT'],
  ['health', 'throw', 'verify', 'HEALTH_CHECK_FAILED'],
  ['health', 'reject', 'verify', 'HEALTH_CHECK_FAILED'],
  ['health', 'hang', 'verify', 'HEALTH_CHECK_FAILED'],
  ['health', 'unhealthy', 'verify', 'HEALTH_CHECK_FAILED'],
];

/** A hook, or for `migration` a migration whose `up` misbehaves. */
const inject = (hook: Hook, fault: Fault): Partial<ModuleDefinition> =>
  hook === 'migration' ? { migrations: [{ name: '001-add-table', up: faulty(fault) as () => void, down: () => {} }] } : { [hook]: faulty(fault) };

function version(v: string, hooks: Partial<ModuleDefinition> = {}): AnyModuleDefinition {
  return defineModule({
    name: 'svc',
    version: v,
    routes: [{ method: 'GET', path: '/', handler: () => ({ body: v }) }],
    activate: () => ({ v }),
    ...hooks,
  } as ModuleDefinition);
}

async function drive<T>(clock: FakeClock, p: Promise<T>, onTick: () => Promise<void> = async () => {}): Promise<T> {
  let done = false;
  const finished = p.finally(() => {
    done = true;
  });
  for (let i = 0; i < 2000 && !done; i++) {
    await onTick();
    await clock.advanceAsync(100);
  }
  return finished;
}

const options = (clock: FakeClock) => ({
  clock,
  logger: () => ({ debug() {}, info() {}, warn() {}, error() {} }),
  timeouts: { migrate: 3000, start: 3000, verify: 20_000 },
  health: { periodMs: 200, timeoutMs: 1000, failureThreshold: 3 },
});

describe('fault injection', () => {
  for (const [hook, fault, phase, code] of cases) {
    it(`fresh activation: ${hook} ${fault}s → failed in ${phase}, dependents blocked, nothing left scheduled`, async () => {
      const clock = createFakeClock();
      const registry = createRegistry({ clock });
      const svc = version('1.0.0', inject(hook, fault));
      const user = defineModule({ name: 'user', version: '1.0.0', dependencies: { svc: '^1.0.0' } });
      const other = defineModule({ name: 'other', version: '1.0.0' });
      for (const d of [svc, user, other]) await registry.register(d);
      const plan = resolve({ roots: { user: '*', other: '*' }, catalog: [svc, user, other] });
      if (!plan.ok) throw new Error(plan.error.message);
      const activator = createActivator({ registry, ...options(clock) });
      const report = await drive(clock, activator.activate(plan.plan));
      const by = Object.fromEntries(report.modules.map((m) => [m.name, m]));
      expect(by.svc).toMatchObject({ state: 'failed', phase, error: { code } });
      expect(by.user).toMatchObject({ state: 'blocked', blockedBy: 'svc' });
      expect(by.other?.state).toBe('active');
      expect((await registry.get('svc', '1.0.0'))?.lastError).toMatchObject({ phase, code });
      expect(clock.pendingTimers()).toBe(0);
      expect(activator.active).toEqual(['other']);
    });

    it(`upgrade: ${hook} ${fault}s → previous version serves throughout, new one failed and rejected`, async () => {
      const clock = createFakeClock();
      const registry = createRegistry({ clock });
      const v1 = version('1.0.0');
      const v2 = version('1.1.0', inject(hook, fault));
      for (const d of [v1, v2]) await registry.register(d);
      const router = createRouter<BoundHandler>();
      const activator = createActivator({ registry, router, ...options(clock) });
      const plan = resolve({ roots: { svc: '1.0.0' }, catalog: [v1] });
      if (!plan.ok) throw new Error(plan.error.message);
      await activator.activate(plan.plan);
      const answers: unknown[] = [];
      const get = () => router.handle('GET', '/svc', (d) => d.handler({ method: 'GET', path: '/', params: {}, query: {}, headers: {} }));
      const report = await drive(clock, activator.upgrade('svc', '1.1.0'), async () => {
        answers.push(...(await Promise.all([get(), get(), get()])).map((r) => r?.body));
      });
      expect(report).toMatchObject({ ok: false, outcome: 'failed', phase, error: { code } });
      expect(answers.length).toBeGreaterThan(0);
      expect(answers.every((a) => a === '1.0.0')).toBe(true);
      expect((await get())?.body).toBe('1.0.0');
      expect((await registry.get('svc', '1.0.0'))?.status).toBe('active');
      expect((await registry.get('svc', '1.1.0'))?.status).toBe('failed');
      expect((await registry.getModule('svc'))?.rejected.map((r) => r.version)).toEqual(['1.1.0']);
      expect((await registry.getModule('svc'))?.desiredVersion).toBe('1.0.0');
      expect(clock.pendingTimers()).toBe(0);
    });
  }
});
