// Restarting the version that serves: a fresh instance of the same version starts beside the old one through the
// health gate and takes over (as an upgrade does, without a rollback window); when the fresh one cannot start beside
// it (a port or a lock the old one holds, say), a stateless module falls back to stop then start.
import { ModhostError, summarizeCause } from '@modhost/core';
import { unhealthyTable } from './health-monitor-unroute.js';
import { recordIfAllowed } from './record-state.js';
import { handOver } from './state-handoff.js';
import type { RestartOptions, RestartReport } from './types.js';
import type { Running, VersionRunner } from './version-runner.js';

// One restart per module at a time: a second ask shares the first one's outcome.
const underWay = new WeakMap<VersionRunner, Map<string, Promise<RestartReport>>>();

/** @internal See `Activator.restart`. */
export function restartModule(e: VersionRunner, name: string, reason = 'restarted by the host', options: RestartOptions = {}): Promise<RestartReport> {
  const current = e.running.get(name);
  if (!current)
    return Promise.reject(
      new ModhostError('MODULE_NOT_FOUND', `${name} does not run here, so it cannot be restarted; activate it instead`, { details: { module: name } }),
    );
  const mine = underWay.get(e) ?? new Map<string, Promise<RestartReport>>();
  underWay.set(e, mine);
  const pending = mine.get(name);
  if (pending) return pending;
  const run = restart(e, current, reason, options.fallback ?? 'stop-start').finally(() => mine.delete(name));
  mine.set(name, run);
  return run;
}

async function restart(e: VersionRunner, current: Running, reason: string, fallback: 'stop-start' | 'none'): Promise<RestartReport> {
  const { name, version } = current;
  const base = { module: name, version };
  if (e.warm.has(name)) {
    const message = `${name}: an upgrade's rollback window is open, so a restart would strand its warm previous version; roll back (or let the window close) instead`;
    return { ...base, ok: false, outcome: 'refused', error: { code: 'ILLEGAL_TRANSITION', message, timedOut: false } };
  }
  const deps = Object.keys(current.def.dependencies ?? {});
  // The version's record moves through a stop to a start again (a version that failed while serving moves from
  // `failed`): the lifecycle has no edge from `active` back to a start.
  await recordIfAllowed(e.registry, name, version, 'draining', { reason });
  await recordIfAllowed(e.registry, name, version, 'stopped', { reason });
  const started = await e.startVersion(name, version, deps, { reason: 'restart' });
  if (started.ok) {
    const next = started.instance;
    const mode = next.def.stateMode ?? 'stateless';
    let release: (() => void) | undefined;
    if (mode !== 'stateless') {
      const handed = await handOver(e, current, next, mode === 'quiesce');
      if (!handed.ok) {
        // Nothing switched: the old instance serves on with its state.
        await e.stopOne(next);
        await recordIfAllowed(e.registry, name, version, 'active', { reason: 'restart abandoned: its state could not be handed over' });
        const message = `${name}: handing the state to the fresh instance failed (${summarizeCause(handed.error)}); the old instance serves on`;
        return { ...base, ok: false, outcome: 'failed', mode: 'beside', error: { code: codeOf(handed.error), message, timedOut: false } };
      }
      release = handed.release;
    }
    // The switch, as in an upgrade: API handle and routes first, then jobs and the bookkeeping, then the old one drains.
    e.running.set(name, next);
    e.switchRoutes(next);
    release?.();
    await e.stopJobs(current);
    e.startJobs(next);
    await e.markServed(next);
    await e.registry.transition(name, version, 'active', { reason });
    const { error } = await e.retire(current, false);
    if (error) e.loggerFor(name).warn(`the replaced instance did not stop cleanly: ${error.message}`);
    return { ...base, ok: true, outcome: 'restarted', mode: 'beside' };
  }
  // The fresh instance failed beside the old one (the registry records it failed). A module whose state lives in the
  // process keeps its old instance: stopping it would lose that state.
  // Asked not to fall back (a development reload), any module keeps its old instance too.
  if ((current.def.stateMode ?? 'stateless') !== 'stateless' || fallback === 'none')
    return { ...base, ok: false, outcome: 'failed', mode: 'beside', error: started.failure.summary };
  return stopThenStart(e, current, deps, reason);
}

/** Stops the old instance (its routes answer 503 meanwhile), then starts a fresh one; without one, the module is down. */
async function stopThenStart(e: VersionRunner, current: Running, deps: readonly string[], reason: string): Promise<RestartReport> {
  const { name, version } = current;
  const slot = e.options.router?.slot(e.prefixOf(name));
  if (slot && current.table && slot.current === current.table) slot.switchTo(unhealthyTable(current, current.table));
  await e.stopJobs(current);
  const stopped = await e.retire(current, false);
  if (stopped.error) e.loggerFor(name).warn(`the old instance did not stop cleanly: ${stopped.error.message}`);
  await recordIfAllowed(e.registry, name, version, 'resolved', { reason });
  const started = await e.startVersion(name, version, deps, { reason: 'restart' });
  if (!started.ok) {
    // Nothing of it runs any more: it leaves the active set, its routes go (dependents see it missing).
    e.running.delete(name);
    e.activeOrder.delete(name);
    e.options.router?.unmount(e.prefixOf(name));
    return { module: name, version, ok: false, outcome: 'failed', mode: 'stop-start', error: started.failure.summary };
  }
  const next = started.instance;
  e.running.set(name, next);
  e.switchRoutes(next);
  e.startJobs(next);
  await e.markServed(next);
  await e.registry.transition(name, version, 'active', { reason });
  return { module: name, version, ok: true, outcome: 'restarted', mode: 'stop-start' };
}

const codeOf = (error: unknown) => (error instanceof ModhostError ? error.code : error instanceof Error ? error.name : 'Error');
