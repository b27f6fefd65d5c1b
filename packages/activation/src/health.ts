import { type Clock, type HealthResult, ModhostError } from '@modhost/core';
import { sleep, withTimeout } from './timeouts.js';

/** How the health gate probes a starting module (Kubernetes-style readiness). */
export interface HealthGateOptions {
  /** Time between probes, ms. Default 1000. */
  periodMs?: number;
  /** Time one probe may take, ms. Default 5000. */
  timeoutMs?: number;
  /** Consecutive passing probes needed. Default 1. */
  successThreshold?: number;
  /** Consecutive failing probes that fail the module. Default 3. */
  failureThreshold?: number;
}

/** Reads a health result: `true`, `{ status: 'ok' | 'degraded' }` pass; `false`, `{ status: 'fail' }` fail. */
export function isHealthy(result: HealthResult): boolean {
  return result === true || (typeof result === 'object' && result !== null && result.status !== 'fail');
}

const detailOf = (result: HealthResult) =>
  typeof result === 'object' && result?.detail ? result.detail : result === false ? 'health() returned false' : 'unhealthy';

/**
 * Probes `health` until it passes `successThreshold` times in a row (resolves) or fails `failureThreshold`
 * times in a row (rejects with `HEALTH_CHECK_FAILED`). A probe that throws or times out counts as a failure.
 */
export async function healthGate(
  clock: Clock,
  module: string,
  health: () => HealthResult | Promise<HealthResult>,
  options: HealthGateOptions = {},
): Promise<number> {
  const { periodMs = 1000, timeoutMs = 5000, successThreshold = 1, failureThreshold = 3 } = options;
  let successes = 0;
  let failures = 0;
  let probes = 0;
  let last = '';
  for (;;) {
    probes++;
    try {
      const result = await withTimeout(clock, timeoutMs, health, () => new Error(`probe timed out after ${timeoutMs} ms`));
      if (isHealthy(result)) {
        successes++;
        failures = 0;
      } else {
        failures++;
        successes = 0;
        last = detailOf(result);
      }
    } catch (e) {
      failures++;
      successes = 0;
      last = e instanceof Error ? e.message : String(e);
    }
    if (successes >= successThreshold) return probes;
    if (failures >= failureThreshold) {
      throw new ModhostError('HEALTH_CHECK_FAILED', `${module} failed ${failures} health probe${failures === 1 ? '' : 's'} in a row: ${last}`, {
        details: { module, probes, failures, detail: last },
      });
    }
    await sleep(clock, periodMs);
  }
}
