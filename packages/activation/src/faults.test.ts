// Fault injection: every phase that runs module code is made to throw, reject, hang and report unhealthy,
// on a fresh activation and on an upgrade. Each case must end consistent: the failed version kept with its
// phase and cause, nothing left scheduled, and (for upgrades) the previous version serving throughout.
import { type AnyModuleDefinition, defineModule, type ModuleDefinition } from '@modhost/core';
import { drive } from '@modhost/testkit';
import { createActivationHarness } from '@modhost/testkit/activation';
import { describe, expect, it } from 'vitest';

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

const options = {
  timeouts: { migrate: 3000, start: 3000, verify: 20_000 },
  health: { periodMs: 200, timeoutMs: 1000, failureThreshold: 3 },
};

describe('fault injection', () => {
  for (const [hook, fault, phase, code] of cases) {
    it(`fresh activation: ${hook} ${fault}s → failed in ${phase}, dependents blocked, nothing left scheduled`, async () => {
      const svc = version('1.0.0', inject(hook, fault));
      const user = defineModule({ name: 'user', version: '1.0.0', dependencies: { svc: '^1.0.0' } });
      const other = defineModule({ name: 'other', version: '1.0.0' });
      const { clock, registry, activator, activate } = await createActivationHarness([svc, user, other], options);
      const report = await drive(clock, activate({ user: '*', other: '*' }));
      const by = Object.fromEntries(report.modules.map((m) => [m.name, m]));
      expect(by.svc).toMatchObject({ state: 'failed', phase, error: { code } });
      expect(by.user).toMatchObject({ state: 'blocked', blockedBy: 'svc' });
      expect(by.other?.state).toBe('active');
      expect((await registry.get('svc', '1.0.0'))?.lastError).toMatchObject({ phase, code });
      expect(clock.pendingTimers()).toBe(0);
      expect(activator.active).toEqual(['other']);
    });

    it(`upgrade: ${hook} ${fault}s → previous version serves throughout, new one failed and rejected`, async () => {
      const v1 = version('1.0.0');
      const v2 = version('1.1.0', inject(hook, fault));
      const { clock, registry, activator, call } = await createActivationHarness([v1, v2], { ...options, activate: true });
      const answers: unknown[] = [];
      const get = () => call('GET', '/svc');
      const report = await drive(clock, activator.upgrade('svc', '1.1.0'), {
        onTick: async () => {
          answers.push(...(await Promise.all([get(), get(), get()])).map((r) => r?.body));
        },
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
