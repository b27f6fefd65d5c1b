// Upgrades without a restart, through the version runner: the new version starts beside the old one, takes the
// state, switches (at once or through a canary) and keeps the old one warm for a rollback that hands state back.
import { ModhostError, type TelemetrySpan } from '@modhost/core';
import { type CatalogEntry, resolve } from '@modhost/resolver';
import { isHealthy } from './health.js';
import { failedWhileServing, recordIfAllowed } from './record-state.js';
import { rollbackModule } from './rollback.js';
import { handOver } from './state-handoff.js';
import { withTimeout } from './timeouts.js';
import type { UpgradeOptions, UpgradeReport } from './types.js';
import type { Running, VersionRunner, WarmState } from './version-runner.js';

const now = () => (globalThis as { performance?: { now(): number } }).performance?.now() ?? Date.now();

/** Failures that are not the version's own: they do not mark it rejected, so it can be tried again. */
const NOT_ITS_FAULT = new Set([
  'INTEGRITY_MISMATCH',
  'SIGNATURE_INVALID',
  'STORAGE_ADAPTER_FAILED',
  'STORAGE_CONFLICT',
  'MODULE_NOT_FOUND',
  'VERSION_UNAVAILABLE',
  'CONFIG_INVALID',
]);

/** Ends a rollback window: the previous version drains and stops for good. @internal */
export async function finishWarm(e: VersionRunner, name: string): Promise<void> {
  const w = e.warm.get(name);
  if (!w) return;
  // A rollback under way decides whether the previous version serves again: wait for it.
  if (w.rolling && (await w.rolling).ok) return;
  if (e.warm.get(name) !== w) return;
  e.warm.delete(name);
  for (const t of w.timers) e.clock.clearTimeout(t);
  await w.recorded;
  const drain = e.telemetry.startSpan('modhost.upgrade.step', { module: name, step: 'drain' }, w.span);
  const { error } = await e.retire(w.previous, false);
  drain.end(error ? { error: { code: error.code, message: error.message } } : undefined);
  if (error) await recordIfAllowed(e.registry, name, w.previous.version, 'failed', { phase: 'drain', error });
  else await recordIfAllowed(e.registry, name, w.previous.version, 'stopped', { reason: `replaced by ${w.next.version}` });
}

/** Checks that every active dependent still accepts `to`, and that `to`'s own dependencies are active. */
async function compatibility(e: VersionRunner, name: string, to: string): Promise<string | undefined> {
  const def = e.registry.getDefinition(name, to);
  const record = await e.registry.get(name, to);
  const next: CatalogEntry | undefined = def ?? record?.manifest;
  if (!next) return `${name}@${to} is not registered`;
  const catalog: CatalogEntry[] = [next];
  const roots: Record<string, string> = { [name]: to };
  for (const [n, r] of e.running) {
    if (n === name) continue;
    catalog.push(r.def);
    roots[n] = r.version;
  }
  const result = resolve({ roots, catalog });
  if (!result.ok) return result.explanation.text;
  return undefined;
}

/** @internal See `Activator.upgrade`. */
export async function upgradeModule(e: VersionRunner, name: string, to: string, options: UpgradeOptions = {}): Promise<UpgradeReport> {
  const current = e.running.get(name);
  if (!current) throw new ModhostError('MODULE_NOT_FOUND', `${name} is not active; activate it before upgrading`, { details: { module: name } });
  const span = e.telemetry.startSpan('modhost.upgrade', { module: name, from: current.version, to, canary: options.canary !== undefined });
  try {
    const report = await upgradeTraced(e, name, to, options, current, span);
    span.setAttributes({ outcome: report.outcome, ...(report.switchMs !== undefined ? { switch_ms: report.switchMs } : {}) });
    span.end(report.ok ? undefined : { error: { code: report.error?.code ?? 'UPGRADE_FAILED', message: report.error?.message ?? report.outcome } });
    return report;
  } catch (err) {
    span.end({ error: { code: err instanceof ModhostError ? err.code : 'Error', message: err instanceof Error ? err.message : String(err) } });
    throw err;
  }
}

/** One step of an upgrade as a span under the upgrade's. */
const step = (e: VersionRunner, span: TelemetrySpan, name: string, which: string) =>
  e.telemetry.startSpan('modhost.upgrade.step', { module: name, step: which }, span);

async function upgradeTraced(
  e: VersionRunner,
  name: string,
  to: string,
  options: UpgradeOptions,
  current: Running,
  span: TelemetrySpan,
): Promise<UpgradeReport> {
  const base = { module: name, from: current.version, to };
  if (current.version === to) return { ...base, ok: true, outcome: 'unchanged' };
  // Finish any earlier upgrade's window first: one warm version per module.
  await finishWarm(e, name);

  const rejected = (await e.registry.getModule(name))?.rejected.find((r) => r.version === to);
  if (rejected) {
    return {
      ...base,
      ok: false,
      outcome: 'refused',
      error: {
        code: 'VERSION_REJECTED',
        message: `${name}@${to} was rejected earlier (${rejected.reason}); publish a fixed version, or registry.clearRejection("${name}", "${to}") to try it again`,
        timedOut: false,
      },
    };
  }
  const problem = await compatibility(e, name, to);
  if (problem) {
    return {
      ...base,
      ok: false,
      outcome: 'refused',
      explanation: problem,
      error: { code: 'DEPENDENCY_UNSATISFIED', message: `upgrading ${name} to ${to} would break what runs now:\n${problem}`, timedOut: false },
    };
  }

  if (options.canary) {
    const nextDef = e.registry.getDefinition(name, to);
    const why =
      (nextDef?.stateMode ?? 'stateless') !== 'stateless' || (current.def.stateMode ?? 'stateless') !== 'stateless'
        ? `${name} keeps state in the process (stateMode "${nextDef?.stateMode ?? current.def.stateMode}"), which two versions cannot share; upgrade it without a canary`
        : !e.options.router || !current.table || (nextDef?.routes?.length ?? 0) === 0
          ? 'a canary splits route traffic, so it needs a router and routes in both versions'
          : options.canary.steps.some((p) => !(p > 0 && p < 100))
            ? 'canary steps are percentages between 0 and 100 (exclusive); the last step is followed by promotion'
            : undefined;
    if (why)
      return {
        ...base,
        ok: false,
        outcome: 'refused',
        error: { code: 'INVALID_ARGUMENT', message: `canary upgrade of ${name} to ${to} refused: ${why}`, timedOut: false },
      };
  }

  // Start the new version beside the old one. The old one serves throughout.
  const status = (await e.registry.get(name, to))?.status;
  if (status !== 'resolved') await e.registry.transition(name, to, 'resolved');
  const beside = step(e, span, name, 'start-beside');
  const started = await e.startVersion(name, to, Object.keys(e.registry.getDefinition(name, to)?.dependencies ?? {}), { parent: beside, reason: 'upgrade' });
  beside.end(started.ok ? undefined : { error: { code: started.failure.summary.code, message: started.failure.summary.message } });
  if (!started.ok) {
    const f = started.failure;
    // Rejected only for its own failure: a changed folder or a storage outage says nothing about the version.
    if (!NOT_ITS_FAULT.has(f.summary.code) && options.rejectOnFailure !== false) await e.registry.rejectVersion(name, to, `${f.phase}: ${f.summary.message}`);
    return { ...base, ok: false, outcome: 'failed', phase: f.phase, error: f.summary };
  }
  const next = started.instance;

  // State hand-off, declared by the module: stateless (nothing), snapshot (export → import just before the
  // switch), quiesce (hold new requests, drain in-flight ones, then export → import, switch, release).
  const mode = next.def.stateMode ?? 'stateless';
  let release: (() => void) | undefined;
  if (mode !== 'stateless' && !options.canary) {
    const handoff = step(e, span, name, 'handoff');
    const handed = await handOver(e, current, next, mode === 'quiesce');
    handoff.end(handed.ok ? undefined : { error: { code: handed.error instanceof ModhostError ? handed.error.code : 'Error' } });
    if (!handed.ok) {
      const err = handed.error;
      // Nothing switched: the old version keeps serving (held requests go to it), the new one is discarded.
      await e.stopOne(next);
      await e.registry.transition(name, to, 'failed', {
        phase: 'switch',
        error: err,
        timedOut: err instanceof ModhostError && err.code === 'ACTIVATION_TIMEOUT',
      });
      if (options.rejectOnFailure !== false)
        await e.registry.rejectVersion(name, to, `state hand-off failed: ${err instanceof Error ? err.message : String(err)}`);
      const code = err instanceof ModhostError ? err.code : err instanceof Error ? err.name : 'Error';
      return {
        ...base,
        ok: false,
        outcome: 'failed',
        phase: 'switch',
        error: { code, message: err instanceof Error ? err.message : String(err), timedOut: code === 'ACTIVATION_TIMEOUT' },
      };
    }
    release = handed.release;
  }

  if (options.canary) {
    const canary = step(e, span, name, 'canary');
    const ok = await runCanary(e, current, next, options.canary);
    canary.end(ok ? undefined : { error: { code: 'HEALTH_CHECK_FAILED' } });
    if (!ok) {
      await e.registry.transition(name, to, 'rolled-back', { reason: 'failed its health probes during the canary' });
      await e.registry.rejectVersion(name, to, 'failed its health probes during the canary');
      await e.retire(next, false);
      return {
        ...base,
        ok: false,
        outcome: 'rolled-back',
        phase: 'serve',
        error: {
          code: 'HEALTH_CHECK_FAILED',
          message: `${name}@${to} failed its health probes during the canary; all traffic is back on ${current.version}`,
          timedOut: false,
        },
      };
    }
  }
  // A previous version whose guest failed for good is not worth keeping warm: nothing to roll back to.
  const previousFailed = await failedWhileServing(e.registry, name, current.version);
  const windowMs = previousFailed ? 0 : (options.rollbackWindowMs ?? e.options.rollbackWindowMs ?? 0);
  let recorded!: () => void;
  const until = e.clock.now() + Math.max(0, windowMs);
  const w: WarmState = { previous: current, next, timers: [], until, recorded: new Promise<void>((r) => (recorded = r)), span };
  const switching = step(e, span, name, 'switch');
  const healthyAt = now();
  // The switch: API handles and routes move in one step each; requests in flight finish on the old table.
  // Serving comes first; recording it in the registry follows (a storage round trip must not delay traffic).
  e.running.set(name, next);
  if (options.canary) e.options.router?.slot(e.prefixOf(name))?.promoteCanary();
  else e.switchRoutes(next);
  // The rollback window opens with the switch: a rollback asked for during the bookkeeping below waits for it.
  e.warm.set(name, w);
  // Held requests (quiesce) now go to the new version.
  release?.();
  const switchMs = now() - healthyAt;
  switching.end();
  try {
    // Jobs move with the traffic: the old version's stop (after a run in progress ends), the new version's start.
    await e.stopJobs(current);
    e.startJobs(next);
    await e.markServed(next);
    if (!options.canary) await e.registry.transition(name, to, 'active');
    await recordIfAllowed(e.registry, name, current.version, 'draining', { reason: `upgrading to ${to}` });
    await e.registry.setDesiredVersion(name, to);
  } finally {
    recorded();
  }

  if (windowMs <= 0) {
    await finishWarm(e, name);
    return { ...base, ok: true, outcome: 'switched', switchMs };
  }
  w.timers.push(e.clock.setTimeout(() => void finishWarm(e, name), windowMs));
  // Keep probing the new version while the old one is warm: a failing gate points traffic back.
  const probe = next.def.health;
  if (probe) {
    const period = e.options.health?.periodMs ?? 1000;
    const threshold = e.options.health?.failureThreshold ?? 3;
    let failures = 0;
    const tick = async () => {
      if (e.warm.get(name) !== w) return;
      const healthy = await probeOnce(e, next);
      if (e.warm.get(name) !== w) return;
      failures = healthy ? 0 : failures + 1;
      if (failures >= threshold) {
        await rollbackModule(e, name, `failed ${failures} health probes after the switch`);
        return;
      }
      w.timers.push(e.clock.setTimeout(() => void tick(), period));
    };
    w.timers.push(e.clock.setTimeout(() => void tick(), period));
  }
  return { ...base, ok: true, outcome: 'switched', rollbackUntil: until, switchMs };
}

/**
 * Steps traffic onto `next` while probing its health; returns false (with all traffic back on `previous`) as soon
 * as it fails `failureThreshold` probes in a row. The new version is `active` from the first step.
 */
async function runCanary(e: VersionRunner, previous: Running, next: Running, canary: NonNullable<UpgradeOptions['canary']>): Promise<boolean> {
  const slot = e.options.router?.slot(e.prefixOf(previous.name));
  if (!slot) return false;
  next.table ??= e.tableOf(next);
  await e.registry.transition(next.name, next.version, 'active', { reason: 'canary' });
  // Serving part of the traffic is serving: from here its migrations are permanent.
  await e.markServed(next);
  const period = Math.min(e.options.health?.periodMs ?? 1000, canary.stepMs);
  const threshold = e.options.health?.failureThreshold ?? 3;
  const probe = next.def.health;
  let failures = 0;
  for (const percent of canary.steps) {
    slot.setCanary(next.table, percent);
    for (let waited = 0; waited < canary.stepMs; waited += period) {
      await new Promise<void>((r) => e.clock.setTimeout(r, period));
      if (!probe) continue;
      const healthy = await probeOnce(e, next);
      failures = healthy ? 0 : failures + 1;
      if (failures >= threshold) {
        slot.abortCanary();
        return false;
      }
    }
  }
  // Promotion happens in the caller, together with the API handles.
  return true;
}

/** One health probe of a serving version, bounded by the probe timeout; a throw or timeout counts as unhealthy. */
async function probeOnce(e: VersionRunner, r: Running): Promise<boolean> {
  const probe = r.def.health;
  if (!probe) return true;
  try {
    return isHealthy(
      await withTimeout(
        e.clock,
        e.options.health?.timeoutMs ?? 5000,
        () => probe(r.ctx),
        () => new Error('probe timed out'),
      ),
    );
  } catch {
    return false;
  }
}
