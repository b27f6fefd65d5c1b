// Deactivation: which modules must stop (the targets and, with `cascade`, every active module that depends on
// them), then stopping them in reverse activation order, best effort.
import { isModhostError, ModhostError, summarizeCause } from '@modhost/core';
import { recordIfAllowed } from './record-state.js';
import type { ModuleOutcome } from './types.js';
import { finishWarm } from './upgrade.js';
import type { Running, VersionRunner } from './version-runner.js';

/** The targets plus, with `cascade`, the active modules that depend on them; without it, `MODULE_IN_USE`. */
function closeOverDependents(runner: VersionRunner, targets: Set<string>, cascade: boolean | undefined): void {
  const { running, activeOrder } = runner;
  // Every target's dependents are all active modules when everything stops: no index needed, nothing to add.
  if (targets.size === activeOrder.size && [...activeOrder].every((m) => targets.has(m))) return;
  // Who depends on what among active modules, from each running module's declared dependencies: built once, in
  // activation order (so messages list dependents as before), instead of a scan of every active module per target.
  const users = new Map<string, string[]>();
  for (const m of activeOrder)
    for (const dep of Object.keys(running.get(m)?.def.dependencies ?? {}))
      if (dep !== m) {
        const list = users.get(dep);
        if (list) list.push(m);
        else users.set(dep, [m]);
      }
  const dependentsOf = (n: string) => users.get(n) ?? [];
  // Each target is checked once: what it adds is checked in its turn (a Set visits what is added while iterating).
  for (const n of targets) {
    const outside = dependentsOf(n).filter((d) => !targets.has(d));
    if (outside.length === 0) continue;
    if (!cascade) {
      throw new ModhostError(
        'MODULE_IN_USE',
        `cannot stop ${n}: active module${outside.length === 1 ? '' : 's'} ${outside.join(', ')} depend${outside.length === 1 ? 's' : ''} on it; stop them first or pass { cascade: true }`,
        {
          details: { module: n, dependents: outside },
        },
      );
    }
    for (const u of outside) targets.add(u);
  }
}

/** A module that did not stop cleanly, as an outcome. */
function failedOutcome(name: string, version: string, e: unknown): ModuleOutcome {
  const error = isModhostError(e)
    ? e
    : new ModhostError('ROLLBACK_FAILED', `${name}: stopping failed: ${summarizeCause(e)}`, { cause: e, details: { module: name } });
  return {
    name,
    version,
    state: 'failed',
    error: { code: error.code, message: error.message, timedOut: error.code === 'ACTIVATION_TIMEOUT' },
    timings: {},
  };
}

/** @internal See `Activator.deactivate`. */
export async function deactivate(runner: VersionRunner, names: readonly string[] | undefined, opts: { cascade?: boolean } = {}): Promise<ModuleOutcome[]> {
  const { registry, running, activeOrder } = runner;
  const targets = new Set(names ?? activeOrder);
  for (const n of targets) if (!running.has(n)) throw new ModhostError('MODULE_NOT_FOUND', `${n} is not active`, { details: { module: n } });
  closeOverDependents(runner, targets, opts.cascade);
  const outcomes: ModuleOutcome[] = [];
  // A module still inside an upgrade's rollback window: its warm previous version stops first.
  for (const n of targets)
    await finishWarm(runner, n).catch((e: unknown) => runner.loggerFor(n).error(`stopping its warm previous version failed: ${summarizeCause(e)}`));
  // Reverse activation order: dependents stop before what they depend on. Best effort: one module that fails to
  // stop (or a storage error while recording it) never keeps the others running; each failure is in its outcome.
  for (const name of [...activeOrder].reverse()) {
    if (!targets.has(name)) continue;
    const r = running.get(name) as Running;
    running.delete(name);
    activeOrder.delete(name);
    try {
      // A version whose guest failed for good is `failed` already: it stops without draining.
      await recordIfAllowed(registry, name, r.version, 'draining');
      const { error } = await runner.retire(r, true);
      if (error) {
        await recordIfAllowed(registry, name, r.version, 'failed', { phase: 'drain', error });
        outcomes.push(failedOutcome(name, r.version, error));
      } else {
        await recordIfAllowed(registry, name, r.version, 'stopped');
        outcomes.push({ name, version: r.version, state: 'stopped', timings: {} });
      }
    } catch (e) {
      r.revoke?.();
      outcomes.push(failedOutcome(name, r.version, e));
    }
  }
  return outcomes;
}
