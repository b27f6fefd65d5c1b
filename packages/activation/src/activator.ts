// The activator is wiring: it applies the defaults and composes the parts. One version's life is in
// version-runner.ts, the plan scheduler in activate-plan.ts, stopping in deactivate.ts, upgrades in upgrade.ts.
import { memoryStorage, systemClock } from '@modhost/core';
import { activatePlan } from './activate-plan.js';
import { deactivate } from './deactivate.js';
import { createHealthMonitor } from './health-monitor.js';
import { consoleLogger } from './module-context.js';
import { probeModule } from './probe.js';
import { reconfigureModule } from './reconfigure.js';
import { restartModule } from './restart.js';
import { rollbackModule } from './rollback.js';
import type { Activator, ActivatorOptions, PhaseTimeouts } from './types.js';
import { upgradeModule } from './upgrade.js';
import { createVersionRunner } from './version-runner.js';

// Tests import these from here; the package's index exports them from types.ts.
export type { Activator, ActivatorOptions, BoundHandler } from './types.js';

const DEFAULT_TIMEOUTS: PhaseTimeouts = { load: 30_000, migrate: 120_000, start: 30_000, verify: 60_000, stop: 30_000 };

/**
 * Creates the activation engine.
 *
 * Scheduling is event-driven: a module enters the ready queue when its last dependency becomes active, and a
 * slot is filled the moment one frees up; no timer polls. The queue serves the module with the longest chain of
 * modules waiting on it first (the plan's `longestPath`), which shortens the total time.
 */
export function createActivator(options: ActivatorOptions): Activator {
  const runner = createVersionRunner({
    registry: options.registry,
    clock: options.clock ?? systemClock,
    timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    options,
    storage: options.storage ?? memoryStorage(),
    namespace: options.namespace ?? 'modhost',
    loggerFor: options.logger ?? consoleLogger,
    hostId: options.hostId ?? `host-${Math.random().toString(36).slice(2, 10)}`,
  });
  const slots = Math.max(1, options.slots ?? 4);
  const required = new Set(options.required ?? []);
  const { running, activeOrder } = runner;
  // The health monitor learns what runs after each call that changes it (and after automatic rollbacks).
  const synced = <T>(work: Promise<T>): Promise<T> => work.finally(() => monitor.sync());
  const rollback = (name: string) => synced(rollbackModule(runner, name));
  const restart: Activator['restart'] = (name, opts) => synced(restartModule(runner, name, undefined, opts));
  const monitor = createHealthMonitor({
    runner,
    options: options.healthMonitor,
    emit: (event) => runner.events.emit('module:health', event),
    restart: (name) => restartModule(runner, name, 'restarted after failing its health probes'),
    rollback,
  });
  runner.events.on('rolled-back', () => monitor.sync());
  return {
    activate: (plan) => synced(activatePlan(runner, plan, { slots, required, progressDeadlineMs: options.progressDeadlineMs ?? 600_000 })),
    deactivate: (names, opts) => synced(deactivate(runner, names, opts)),
    upgrade: (name, version, opts) => synced(upgradeModule(runner, name, version, opts)),
    rollback,
    restart,
    health: (name) => monitor.health(name),
    monitor,
    get active() {
      return [...activeOrder];
    },
    api: (name) => running.get(name)?.api,
    versionOf: (name) => running.get(name)?.version,
    reconfigure: (name) => reconfigureModule(runner, name),
    probe: (name) => probeModule(runner, name),
    on: runner.events.on,
  };
}
