import { ModhostError } from '@modhost/core';
import { healthGate } from './health.js';
import { timeoutError, withTimeout } from './timeouts.js';
import type { VersionRunner } from './version-runner.js';

/**
 * Runs the health gate on the version of `name` that serves now (as at activation: the gate's probes, thresholds and
 * the verify timeout). Resolves when it passes; rejects with `HEALTH_CHECK_FAILED` or `ACTIVATION_TIMEOUT` when not,
 * and with `MODULE_NOT_FOUND` when the module does not run. A module without `health()` passes.
 */
export async function probeModule(e: VersionRunner, name: string): Promise<void> {
  const r = e.running.get(name);
  if (!r) throw new ModhostError('MODULE_NOT_FOUND', `${name} does not run here, so its health cannot be probed`, { details: { module: name } });
  const probe = r.def.health;
  if (!probe) return;
  await withTimeout(
    e.clock,
    e.timeouts.verify,
    () => healthGate(e.clock, name, () => probe(r.ctx), e.options.health),
    () => timeoutError(name, 'verify', e.timeouts.verify),
  );
}
