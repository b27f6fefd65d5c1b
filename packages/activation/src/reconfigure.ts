import { summarizeCause } from '@modhost/core';
import { timeoutError, withTimeout } from './timeouts.js';
import type { ReconfigureReport } from './types.js';
import type { VersionRunner } from './version-runner.js';

/**
 * Gives a running version its current effective config: `ctx.config` reads the new values from now on, and the
 * module's `reconfigure(config, ctx)` hook, if it has one, is told (bounded by the stop timeout). Values the module's
 * schema rejects are refused and the old ones stay.
 */
export async function reconfigureModule(e: VersionRunner, name: string): Promise<ReconfigureReport> {
  const r = e.running.get(name);
  if (!r) return { ok: true, module: name, outcome: 'not-running' };
  const resolved = await e.registry.getConfig(name, { reveal: true });
  if (resolved.issues.length > 0) return { ok: false, module: name, outcome: 'refused', issues: resolved.issues };
  // A tenant's layer may have changed while the host-wide values did not.
  await r.refreshTenants();
  if (JSON.stringify(resolved.values) === JSON.stringify(r.config.value)) return { ok: true, module: name, outcome: 'unchanged' };
  r.config.value = Object.freeze({ ...resolved.values });
  const hook = r.def.reconfigure;
  if (!hook) return { ok: true, module: name, outcome: 'applied' };
  try {
    await withTimeout(
      e.clock,
      e.timeouts.stop,
      () => hook(r.config.value, r.ctx),
      () => timeoutError(name, 'reconfigure', e.timeouts.stop, 'timeouts.stop'),
    );
    return { ok: true, module: name, outcome: 'applied' };
  } catch (err) {
    return { ok: true, module: name, outcome: 'applied', hookError: summarizeCause(err) };
  }
}
