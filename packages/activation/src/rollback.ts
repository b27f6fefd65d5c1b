import { ModhostError, summarizeCause } from '@modhost/core';
import { failedWhileServing, recordIfAllowed } from './record-state.js';
import { handOver } from './state-handoff.js';
import type { UpgradeReport } from './types.js';
import type { Running, VersionRunner, WarmState } from './version-runner.js';

/** @internal See `Activator.rollback`. */
export async function rollbackModule(e: VersionRunner, name: string, reason = 'rolled back by the host'): Promise<UpgradeReport> {
  const w = e.warm.get(name);
  if (!w) {
    throw new ModhostError(
      'ROLLBACK_FAILED',
      `${name} has no warm previous version to point back at (no upgrade, or its rollback window has passed); upgrade to the version you want instead`,
      {
        details: { module: name },
      },
    );
  }
  // An upgrade whose switch just happened is still recording it: point back once that is done.
  await w.recorded;
  if (e.warm.get(name) !== w) return rollbackModule(e, name, reason);
  // One rollback at a time: a second hand-back would import a stale state over the one the first moved back.
  if (w.rolling) return w.rolling;
  const span = e.telemetry.startSpan('modhost.rollback', {
    module: name,
    from: w.next.version,
    to: w.previous.version,
    reason: reason === 'rolled back by the host' ? 'manual' : 'health',
  });
  w.rolling = pointBack(e, w, reason);
  const report = await w.rolling.catch((err: unknown) => {
    span.end({ error: { code: err instanceof ModhostError ? err.code : 'Error', message: err instanceof Error ? err.message : String(err) } });
    throw err;
  });
  span.setAttributes({ outcome: report.outcome });
  span.end(report.ok ? undefined : { error: { code: report.error?.code ?? 'ROLLBACK_FAILED', message: report.error?.message ?? report.outcome } });
  if (!report.ok) w.rolling = undefined;
  e.events.emit(report.ok ? 'rolled-back' : 'rollback-refused', { ...report, reason });
  return report;
}

/** Hands the state back, points traffic back and retires the newer version (see `rollbackModule`). */
async function pointBack(e: VersionRunner, w: WarmState, reason: string): Promise<UpgradeReport> {
  const name = w.next.name;
  const { previous, next } = w;
  const base = { module: name, from: next.version, to: previous.version };
  if (await failedWhileServing(e.registry, name, previous.version)) {
    const message = `${name}@${previous.version} failed while it was kept warm (its guest gave up); there is nothing healthy to point back at, so ${next.version} keeps serving`;
    return { ...base, ok: false, outcome: 'refused', phase: 'switch', error: { code: 'ROLLBACK_FAILED', message, timedOut: false } };
  }
  // State that lives in the process goes back the way it came: hold, drain, export from the newer version,
  // import into the warm older one. Without that, everything the newer version acknowledged would be lost.
  const handBack = await handStateBack(e, previous, next);
  if (!handBack.ok) {
    // Nothing switched: the newer version keeps serving with its state, and stays rollback-able in its window.
    return { ...base, ok: false, outcome: 'refused', phase: 'switch', error: handBack.error };
  }
  e.warm.delete(name);
  for (const t of w.timers) e.clock.clearTimeout(t);
  // Point back first, so no request waits on the bookkeeping.
  e.running.set(name, previous);
  e.switchRoutes(previous);
  handBack.release?.();
  await e.stopJobs(next);
  e.startJobs(previous);
  await recordIfAllowed(e.registry, name, previous.version, 'active', { reason });
  await recordIfAllowed(e.registry, name, next.version, 'rolled-back', { reason });
  await e.registry.rejectVersion(name, next.version, reason);
  const { error } = await e.retire(next, false);
  return {
    ...base,
    ok: true,
    outcome: 'rolled-back',
    phase: 'serve',
    ...(error ? { error: { code: error.code, message: error.message, timedOut: error.code === 'ACTIVATION_TIMEOUT' } } : {}),
  };
}

type HandBack =
  | { readonly ok: true; readonly release?: () => void }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string; readonly timedOut: boolean } };

/**
 * For a stateful module (`snapshot` or `quiesce` in either version), moves the newer version's state into the warm
 * older one before traffic points back (see {@link handOver}); or says why it cannot.
 */
async function handStateBack(e: VersionRunner, previous: Running, next: Running): Promise<HandBack> {
  const mode = (r: Running) => r.def.stateMode ?? 'stateless';
  if (mode(next) === 'stateless' && mode(previous) === 'stateless') return { ok: true };
  const name = next.name;
  const refuse = (code: string, message: string, timedOut = false): HandBack => ({ ok: false, error: { code, message, timedOut } });
  if (!next.def.exportState || !previous.def.importState) {
    return refuse(
      'ROLLBACK_FAILED',
      `${name}: rolling back from ${next.version} to ${previous.version} would lose the state ${next.version} holds (stateMode "${mode(next)}"), ` +
        `and ${!next.def.exportState ? `${next.version} has no exportState` : `${previous.version} has no importState`}; ${next.version} keeps serving. ` +
        'Upgrade to a fixed version instead',
    );
  }
  const handed = await handOver(e, next, previous, mode(next) === 'quiesce' || mode(previous) === 'quiesce');
  if (handed.ok) return handed;
  // Held requests went back to the newer version, which still serves.
  const code = handed.error instanceof ModhostError ? handed.error.code : 'ROLLBACK_FAILED';
  return refuse(
    code,
    `${name}: handing the state of ${next.version} back to ${previous.version} failed (${summarizeCause(handed.error)}); ${next.version} keeps serving`,
    code === 'ACTIVATION_TIMEOUT',
  );
}
