import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planRestart, type RestartPolicy, resolveRestartPolicy } from './restart-policy.js';

/** Crashes at the given times, as the supervisor meets them: returns when each restart happened and its delay. */
function simulate(crashTimes: number[], policy: RestartPolicy) {
  let history: number[] = [];
  const restarts: { at: number; delayMs: number }[] = [];
  const plans = crashTimes.map((now) => {
    const plan = planRestart(history, now, policy);
    history = plan.willRestart ? [...plan.history, now] : plan.history;
    if (plan.willRestart) restarts.push({ at: now, delayMs: plan.delayMs });
    return plan;
  });
  return { plans, restarts };
}

const policies = fc.record({
  maxRestarts: fc.integer({ min: 0, max: 6 }),
  withinMs: fc.integer({ min: 1, max: 10_000 }),
  backoffMs: fc.integer({ min: 0, max: 2_000 }),
  maxBackoffMs: fc.integer({ min: 0, max: 8_000 }),
});
/** Non-decreasing crash times, as a clock gives them. */
const crashTimes = fc.array(fc.integer({ min: 0, max: 3_000 }), { maxLength: 40 }).map((gaps) => {
  let now = 1_000;
  return gaps.map((gap) => {
    now += gap;
    return now;
  });
});

describe('restart policy', () => {
  it('fills in the defaults: 3 restarts within 60 s, backoff from 100 ms up to 5 s', () => {
    expect(resolveRestartPolicy()).toEqual({ maxRestarts: 3, withinMs: 60_000, backoffMs: 100, maxBackoffMs: 5_000 });
    expect(resolveRestartPolicy({ maxRestarts: 1, maxBackoffMs: 50 })).toEqual({ maxRestarts: 1, withinMs: 60_000, backoffMs: 100, maxBackoffMs: 50 });
  });

  it('doubles the delay for each restart inside the window, up to maxBackoffMs, then gives up', () => {
    const { plans } = simulate([1_000, 1_010, 1_020, 1_030, 1_040], { maxRestarts: 4, withinMs: 60_000, backoffMs: 100, maxBackoffMs: 500 });
    expect(plans.map((p) => [p.willRestart, p.delayMs])).toEqual([
      [true, 100],
      [true, 200],
      [true, 400],
      [true, 500],
      [false, 0],
    ]);
  });

  it('forgets restarts older than the window, so the backoff starts over', () => {
    const policy = { maxRestarts: 2, withinMs: 1_000, backoffMs: 100 };
    expect(planRestart([0, 500], 999, policy)).toEqual({ willRestart: false, delayMs: 0, history: [0, 500] });
    expect(planRestart([0, 500], 1_000, policy)).toEqual({ willRestart: true, delayMs: 200, history: [500] });
    expect(planRestart([0, 500], 1_500, policy)).toEqual({ willRestart: true, delayMs: 100, history: [] });
  });

  it('never waits longer than maxBackoffMs, and never restarts more than maxRestarts times within withinMs (property)', () => {
    fc.assert(
      fc.property(policies, crashTimes, (policy, times) => {
        const { plans, restarts } = simulate(times, policy);
        for (const p of plans) {
          expect(p.delayMs).toBeLessThanOrEqual(policy.maxBackoffMs);
          expect(p.delayMs).toBeGreaterThanOrEqual(0);
          if (!p.willRestart) expect(p.delayMs).toBe(0);
        }
        for (const r of restarts) {
          const inWindow = restarts.filter((o) => o.at <= r.at && r.at - o.at < policy.withinMs);
          expect(inWindow.length).toBeLessThanOrEqual(policy.maxRestarts);
        }
      }),
    );
  });

  it('gives up only when maxRestarts restarts already happened inside the window (property)', () => {
    fc.assert(
      fc.property(policies, crashTimes, (policy, times) => {
        let history: number[] = [];
        for (const now of times) {
          const plan = planRestart(history, now, policy);
          const recent = history.filter((t) => now - t < policy.withinMs).length;
          expect(plan.willRestart).toBe(recent < policy.maxRestarts);
          history = plan.willRestart ? [...plan.history, now] : plan.history;
        }
      }),
    );
  });
});
