// The span tree of a real host's lifecycle: activation, upgrade, rollback (docs: /tmp/ops-docs/CONTRACT.md).
import { defineModule } from '@modhost/core';
import { silentLogger } from '@modhost/testkit';
import { createHost, type HostOptions } from 'modhost';
import { afterEach, describe, expect, it } from 'vitest';
import { isChildOf, parentIdOf, recordSpans } from '../test/tracing.js';
import { openTelemetry } from './index.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tracedHost(modules: NonNullable<HostOptions['modules']>, extra: Partial<HostOptions> = {}, storageSpans = false) {
  const rec = recordSpans();
  const telemetry = openTelemetry({ tracerProvider: rec.tracerProvider, storageSpans });
  const host = createHost({ version: '1.0.0', modules, logger: silentLogger, telemetry, ...extra });
  cleanups.push(
    () => rec.shutdown(),
    () => host.stop(),
  );
  return { host, rec };
}

const tasks = (version: string, healthy = true) => defineModule({ name: 'tasks', version, health: () => healthy });

describe('host traces', () => {
  it('host.start: one modhost.activation, a modhost.module.start per module under it, a modhost.module.phase per phase under that', async () => {
    const store = defineModule({ name: 'store', version: '2.0.0', health: () => true });
    const app = defineModule({ name: 'app', version: '1.0.0', dependencies: { store: '^2.0.0' } });
    const { host, rec } = tracedHost([store, app]);
    await host.start();

    const activation = rec.one('modhost.activation');
    expect(parentIdOf(activation)).toBeUndefined();
    expect(activation.attributes).toMatchObject({ 'modhost.modules': 2, 'modhost.activated': 2, 'modhost.failed': 0 });
    const starts = rec.childrenOf(activation);
    expect(starts.map((s) => `${s.name} ${s.attributes['modhost.module']}@${s.attributes['modhost.version']}`).sort()).toEqual([
      'modhost.module.start app@1.0.0',
      'modhost.module.start store@2.0.0',
    ]);
    for (const start of starts) {
      expect(start.attributes['modhost.reason']).toBe('activate');
      const phases = rec.childrenOf(start);
      expect(phases.length).toBeGreaterThan(0);
      for (const phase of phases) {
        expect(phase.name).toBe('modhost.module.phase');
        expect(phase.attributes).toMatchObject({
          'modhost.module': start.attributes['modhost.module'],
          'modhost.version': start.attributes['modhost.version'],
        });
        expect(['load', 'migrate', 'start', 'verify']).toContain(phase.attributes['modhost.phase']);
      }
      // Every start loads, starts and passes the health gate; migrate only when there are migrations.
      expect(phases.map((p) => p.attributes['modhost.phase'])).toEqual(expect.arrayContaining(['load', 'start', 'verify']));
    }
    // The start is one trace, and storage spans are off by default.
    expect(new Set(rec.spans().map((s) => s.spanContext().traceId))).toEqual(new Set([activation.spanContext().traceId]));
    expect(rec.named('modhost.storage')).toEqual([]);
  });

  it('a module that fails its health gate: its start and verify phase end with the error code', async () => {
    const { host, rec } = tracedHost([tasks('1.0.0', false)], { health: { periodMs: 1, failureThreshold: 1 } });
    await host.start();
    const start = rec.one('modhost.module.start', { 'modhost.module': 'tasks' });
    expect(start.status).toMatchObject({ code: 2, message: 'HEALTH_CHECK_FAILED' });
    expect(start.attributes['modhost.error.code']).toBe('HEALTH_CHECK_FAILED');
    const verify = rec.one('modhost.module.phase', { 'modhost.phase': 'verify' });
    expect(isChildOf(verify, start)).toBe(true);
    expect(verify.status.code).toBe(2);
    expect(rec.one('modhost.activation').attributes).toMatchObject({ 'modhost.activated': 0, 'modhost.failed': 1 });
  });

  it('host.upgrade: modhost.upgrade with its steps as children, the new version started under start-beside', async () => {
    const { host, rec } = tracedHost([tasks('1.0.0')]);
    await host.start();
    await host.registry.register(tasks('1.1.0'));
    rec.clear();
    expect((await host.upgrade('tasks', '1.1.0')).outcome).toBe('switched');

    const upgrade = rec.one('modhost.upgrade');
    expect(parentIdOf(upgrade)).toBeUndefined();
    expect(upgrade.attributes).toMatchObject({
      'modhost.module': 'tasks',
      'modhost.from': '1.0.0',
      'modhost.to': '1.1.0',
      'modhost.canary': false,
      'modhost.outcome': 'switched',
    });
    expect(upgrade.attributes['modhost.switch_ms']).toEqual(expect.any(Number));
    const steps = rec.childrenOf(upgrade);
    expect(steps.every((s) => s.name === 'modhost.upgrade.step' && s.attributes['modhost.module'] === 'tasks')).toBe(true);
    // Drain comes when the rollback window closes, after the upgrade has returned. The new version's health gate is
    // the verify phase of its start, under start-beside.
    expect(steps.map((s) => s.attributes['modhost.step'])).toEqual(expect.arrayContaining(['start-beside', 'switch']));
    const beside = rec.one('modhost.upgrade.step', { 'modhost.step': 'start-beside' });
    const started = rec.one('modhost.module.start', { 'modhost.version': '1.1.0' });
    expect(isChildOf(started, beside)).toBe(true);
    expect(started.attributes['modhost.reason']).toBe('upgrade');
    expect(rec.childrenOf(started).map((p) => p.attributes['modhost.phase'])).toEqual(expect.arrayContaining(['load', 'start', 'verify']));
  });

  it('the drain step hangs under the upgrade even when the rollback window closes after it ended', async () => {
    const { host, rec } = tracedHost([tasks('1.0.0')], { rollbackWindowMs: 1 });
    await host.start();
    await host.registry.register(tasks('1.1.0'));
    await host.upgrade('tasks', '1.1.0');
    await expect.poll(() => rec.named('modhost.upgrade.step').filter((s) => s.attributes['modhost.step'] === 'drain')).toHaveLength(1);
    expect(isChildOf(rec.one('modhost.upgrade.step', { 'modhost.step': 'drain' }), rec.one('modhost.upgrade'))).toBe(true);
  });

  it('host.rollback: modhost.rollback from the new version to the warm one, reason manual, outcome rolled-back', async () => {
    const { host, rec } = tracedHost([tasks('1.0.0')]);
    await host.start();
    await host.registry.register(tasks('1.1.0'));
    await host.upgrade('tasks', '1.1.0');
    expect((await host.rollback('tasks')).outcome).toBe('rolled-back');
    const rollback = rec.one('modhost.rollback');
    expect(parentIdOf(rollback)).toBeUndefined();
    expect(rollback.attributes).toMatchObject({
      'modhost.module': 'tasks',
      'modhost.from': '1.1.0',
      'modhost.to': '1.0.0',
      'modhost.reason': 'manual',
      'modhost.outcome': 'rolled-back',
    });
    expect(rollback.status.code).toBe(0);
  });

  it('storageSpans: true traces the host storage operations as modhost.storage roots', async () => {
    const { host, rec } = tracedHost([tasks('1.0.0')], {}, true);
    await host.start();
    const storage = rec.named('modhost.storage');
    expect(storage.length).toBeGreaterThan(0);
    for (const span of storage) {
      expect(parentIdOf(span)).toBeUndefined();
      expect(span.attributes['modhost.adapter']).toBe('memory');
      expect(['get', 'set', 'delete', 'keys', 'compareAndSet']).toContain(span.attributes['modhost.operation']);
    }
  });
});
