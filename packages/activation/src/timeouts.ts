import { type Clock, ModhostError } from '@modhost/core';

/**
 * A phase ran past its deadline. Carries the phase so the registry can record it; `option` names the timeout to
 * raise when it is not `timeouts.<phase>` (a state hand-off runs under `stop` and `start`; a job under its own).
 */
export function timeoutError(module: string, phase: string, ms: number, option = `timeouts.${phase}`): ModhostError {
  return new ModhostError('ACTIVATION_TIMEOUT', `${module}: the ${phase} phase did not finish within ${ms} ms; make the hook faster or raise ${option}`, {
    details: { module, phase, timeoutMs: ms },
  });
}

/**
 * Runs `work` with a deadline on the injected clock. The timer is always cleared, so a finished phase leaves
 * nothing scheduled. `onLate` receives the result if the work finishes after the deadline (to clean it up).
 */
export async function withTimeout<T>(clock: Clock, ms: number, work: () => T | Promise<T>, onTimeout: () => Error, onLate?: (value: T) => void): Promise<T> {
  const running = Promise.resolve().then(work);
  if (!Number.isFinite(ms)) return running;
  let timer: unknown;
  let timedOut = false;
  const deadline = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => {
      timedOut = true;
      reject(onTimeout());
    }, ms);
  });
  try {
    return await Promise.race([running, deadline]);
  } finally {
    clock.clearTimeout(timer);
    if (timedOut)
      running.then(
        (v) => onLate?.(v),
        () => {},
      );
  }
}

/** Waits `ms` on the injected clock. */
export const sleep = (clock: Clock, ms: number): Promise<void> => new Promise((resolve) => clock.setTimeout(resolve, ms));
