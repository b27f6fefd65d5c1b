// One version's life through the runner alone: a start returns the instance or the failure (never throws it),
// and a failed start revokes the context it built.
import { type AnyModuleDefinition, createRegistry, defineModule, type ModuleContext, type ModuleDefinition, memoryStorage } from '@modhost/core';
import { createFakeClock, drive, silentLogger } from '@modhost/testkit';
import { describe, expect, it } from 'vitest';
import { createVersionRunner } from './version-runner.js';

const mod = (extra: Partial<ModuleDefinition> = {}): AnyModuleDefinition =>
  defineModule({ name: 'svc', version: '1.0.0', activate: () => ({ hello: 'svc' }), ...extra } as ModuleDefinition);

async function setup(def: AnyModuleDefinition) {
  const clock = createFakeClock();
  const registry = createRegistry({ clock });
  await registry.register(def);
  await registry.transition('svc', '1.0.0', 'resolved');
  const runner = createVersionRunner({
    registry,
    clock,
    timeouts: { load: 1000, migrate: 1000, start: 1000, verify: 5000, stop: 1000 },
    options: { registry, health: { periodMs: 100, failureThreshold: 2 } },
    storage: memoryStorage(),
    namespace: 'test',
    loggerFor: silentLogger,
    hostId: 'host-test',
  });
  return { clock, registry, runner };
}

describe('version runner', () => {
  it('starts a version to ready and returns it with its timings', async () => {
    const { clock, registry, runner } = await setup(mod({ health: () => true }));
    const result = await drive(clock, runner.startVersion('svc', '1.0.0', []));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.instance.api).toEqual({ hello: 'svc' });
    expect(Object.keys(result.timings).sort()).toEqual(['load', 'start', 'verify']);
    expect((await registry.get('svc', '1.0.0'))?.status).toBe('ready');
    // Starting is not serving: the runner records nothing as running until its caller switches to it.
    expect(runner.running.size).toBe(0);
  });

  it('returns a failed health gate as a failure, records it and revokes the context', async () => {
    let seen: ModuleContext | undefined;
    const { clock, registry, runner } = await setup(
      mod({
        activate: (ctx) => {
          seen = ctx;
          return {};
        },
        health: () => false,
      }),
    );
    const result = await drive(clock, runner.startVersion('svc', '1.0.0', []));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.failure.phase).toBe('verify');
    expect(result.failure.summary).toMatchObject({ code: 'HEALTH_CHECK_FAILED', timedOut: false });
    expect((await registry.get('svc', '1.0.0'))?.status).toBe('failed');
    expect(seen?.signal?.aborted).toBe(true);
  });

  it('returns a timed-out start as a failure', async () => {
    const { clock, runner } = await setup(mod({ activate: () => new Promise(() => {}) }));
    const result = await drive(clock, runner.startVersion('svc', '1.0.0', []));
    expect(result.ok ? undefined : { phase: result.failure.phase, ...result.failure.summary }).toMatchObject({
      phase: 'start',
      code: 'ACTIVATION_TIMEOUT',
      timedOut: true,
    });
  });
});
