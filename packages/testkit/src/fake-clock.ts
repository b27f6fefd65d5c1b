import type { Clock, TimerHandle } from '@modhost/core';

interface Timer {
  readonly id: number;
  readonly due: number;
  readonly callback: () => void;
}

/** A clock whose time moves only when a test says so. Satisfies core's `Clock`. */
export interface FakeClock extends Clock {
  /** Moves time forward, firing due timers in order (a timer set by a timer fires too if due). */
  advance(ms: number): void;
  /**
   * Like `advance`, but lets promises settle before and after each timer, so async code
   * that awaits and then sets the next timer runs as it would in real time.
   */
  advanceAsync(ms: number): Promise<void>;
  /** Fires every pending timer, however far ahead, until none remain (bounded to catch loops). */
  runAll(limit?: number): void;
  /** How many timers are pending: a test can assert nothing leaked. */
  pendingTimers(): number;
  /** Sets the current time without firing timers (only forward). */
  setNow(ms: number): void;
}

/** Options for {@link createFakeClock}. */
export interface FakeClockOptions {
  /** The starting time in ms since the epoch. Default 0. */
  now?: number;
}

// Lets every queued promise callback run. A macrotask boundary drains the whole microtask queue, however long
// the chain of awaits; runtimes without setImmediate fall back to many microtask rounds.
const immediate = (globalThis as { setImmediate?: (cb: () => void) => unknown }).setImmediate;
const flushMicrotasks = async () => {
  if (immediate) {
    await new Promise<void>((resolve) => immediate(resolve));
    return;
  }
  for (let i = 0; i < 1000; i++) await Promise.resolve();
};

/**
 * Creates a fake clock for timeouts and timestamps.
 *
 * @example
 * ```ts
 * const clock = createFakeClock()
 * let fired = false
 * clock.setTimeout(() => { fired = true }, 1000)
 * clock.advance(999) // fired === false
 * clock.advance(1)   // fired === true
 * ```
 */
export function createFakeClock(options: FakeClockOptions = {}): FakeClock {
  let now = options.now ?? 0;
  let nextId = 1;
  const timers = new Map<number, Timer>();

  const nextDue = (until: number): Timer | undefined => {
    let best: Timer | undefined;
    for (const t of timers.values()) {
      if (t.due <= until && (!best || t.due < best.due || (t.due === best.due && t.id < best.id))) best = t;
    }
    return best;
  };
  const fire = (t: Timer) => {
    timers.delete(t.id);
    now = Math.max(now, t.due);
    t.callback();
  };

  return {
    now: () => now,
    setTimeout(callback, ms) {
      const id = nextId++;
      timers.set(id, { id, due: now + Math.max(0, ms), callback });
      return id as TimerHandle;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const until = now + ms;
      for (let t = nextDue(until); t; t = nextDue(until)) fire(t);
      now = until;
    },
    async advanceAsync(ms) {
      const until = now + ms;
      await flushMicrotasks();
      for (let t = nextDue(until); t; t = nextDue(until)) {
        fire(t);
        await flushMicrotasks();
      }
      now = until;
    },
    runAll(limit = 10_000) {
      for (let i = 0; timers.size > 0; i++) {
        if (i >= limit) throw new Error(`createFakeClock: runAll fired ${limit} timers and more remain; a timer keeps re-arming itself`);
        const t = nextDue(Number.POSITIVE_INFINITY);
        if (t) fire(t);
      }
    },
    pendingTimers: () => timers.size,
    setNow(ms) {
      if (ms < now) throw new Error(`createFakeClock: time only moves forward (now ${now}, asked ${ms})`);
      now = ms;
    },
  };
}
