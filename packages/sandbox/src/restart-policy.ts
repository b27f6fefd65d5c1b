/**
 * OTP-style restarts: at most `maxRestarts` in any `withinMs`, then the module fails for good. Restarts wait
 * `backoffMs`, doubling each time up to `maxBackoffMs`.
 */
export interface RestartPolicy {
  maxRestarts?: number;
  withinMs?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** A {@link RestartPolicy} with its defaults filled in. @internal */
export function resolveRestartPolicy(policy: RestartPolicy = {}): Required<RestartPolicy> {
  return {
    maxRestarts: policy.maxRestarts ?? 3,
    withinMs: policy.withinMs ?? 60_000,
    backoffMs: policy.backoffMs ?? 100,
    maxBackoffMs: policy.maxBackoffMs ?? 5_000,
  };
}

/** What to do about one crash. @internal */
export interface RestartPlan {
  /** Restart the guest, or give up on it. */
  readonly willRestart: boolean;
  /** How long to wait before the restart (0 when giving up). */
  readonly delayMs: number;
  /** The earlier restart times still inside the window. Keep them, and add `now` when you restart. */
  readonly history: number[];
}

/**
 * Decides whether a guest that crashed at `now` is restarted, and after how long, given the times of its earlier
 * restarts. Pure: the caller keeps the history and the timer.
 * @internal
 */
export function planRestart(history: readonly number[], now: number, policy: RestartPolicy = {}): RestartPlan {
  const { maxRestarts, withinMs, backoffMs, maxBackoffMs } = resolveRestartPolicy(policy);
  const recent = history.filter((t) => now - t < withinMs);
  const willRestart = recent.length < maxRestarts;
  return { willRestart, delayMs: willRestart ? Math.min(maxBackoffMs, backoffMs * 2 ** recent.length) : 0, history: recent };
}
