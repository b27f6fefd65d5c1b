import { runtime } from './runtime.js';

/** An opaque timer handle. */
export type TimerHandle = unknown;

/**
 * Where modhost gets time from. Inject a fake one in tests (`createFakeClock` in
 * `@modhost/testkit`) so that no test sleeps.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `Date.now` and the global timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => runtime.setTimeout(callback, ms),
  clearTimeout: (handle) => runtime.clearTimeout(handle),
};
