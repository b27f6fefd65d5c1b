import type { FakeClock } from './fake-clock.js';

/** Options for {@link drive}. */
export interface DriveOptions {
  /** Fake milliseconds each step advances the clock by. Default 100. */
  stepMs?: number;
  /** Steps to take before giving up with an error. Default 10,000. */
  maxSteps?: number;
  /**
   * Runs before each step (0-based `step`), and is awaited: a test can send traffic or sample state while time
   * moves on.
   */
  onTick?: (step: number) => unknown;
}

/**
 * Moves a {@link FakeClock} forward `stepMs` at a time, letting promises settle between timers
 * (`advanceAsync`), until `promise` settles; returns what it resolves to, or rejects with its error. For work
 * that waits on timers (timeouts, health probes, drains) and is driven by a fake clock instead of real time.
 *
 * Throws when the promise is still pending after `maxSteps` steps, naming how far the clock was moved: something
 * waits on a timer that is never set, or on an event that never comes.
 *
 * @example
 * ```ts
 * const clock = createFakeClock()
 * const later = new Promise((resolve) => clock.setTimeout(() => resolve('done'), 1_500))
 * await drive(clock, later) // 'done', after 15 steps of 100 ms
 * ```
 */
export async function drive<T>(clock: FakeClock, promise: Promise<T>, options: DriveOptions = {}): Promise<T> {
  const { stepMs = 100, maxSteps = 10_000, onTick } = options;
  let settled = false;
  const done = promise.finally(() => {
    settled = true;
  });
  // A rejection is the caller's to see when `drive` returns, not an unhandled one while the clock moves
  // (or after `drive` gave up on the promise).
  done.catch(() => {});
  let steps = 0;
  for (; steps < maxSteps && !settled; steps++) {
    await onTick?.(steps);
    await clock.advanceAsync(stepMs);
  }
  if (!settled) {
    throw new Error(
      `drive: the promise was still pending after ${steps} steps of ${stepMs} ms (${steps * stepMs} ms of fake time); ` +
        'it waits on a timer that is never set or an event that never comes, or needs a larger maxSteps',
    );
  }
  return done;
}
