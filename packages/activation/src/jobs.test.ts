import { defineModule, type JobDefinition, type ModuleContext } from '@modhost/core';
import { createFakeClock } from '@modhost/testkit';
import { createActivationHarness } from '@modhost/testkit/activation';
import { describe, expect, it } from 'vitest';
import { createJobRunner, type JobEvent } from './jobs.js';

const ctx = {} as ModuleContext;

describe('job runner', () => {
  it('runs an interval job every everyMs after the previous run ends, never overlapping', async () => {
    const clock = createFakeClock();
    const starts: number[] = [];
    let running = 0;
    let maxRunning = 0;
    const job: JobDefinition = {
      name: 'sweep',
      schedule: { everyMs: 1000 },
      run: async () => {
        starts.push(clock.now());
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise<void>((r) => clock.setTimeout(r, 1500));
        running--;
      },
    };
    const runner = createJobRunner({ module: 'm', clock, ctx, jobs: [job] });
    runner.start();
    await clock.advanceAsync(8000);
    expect(starts).toEqual([1000, 3500, 6000]);
    expect(maxRunning).toBe(1);
    await runner.stop();
  });

  it('skips a cron tick while the previous run is still going', async () => {
    const clock = createFakeClock({ now: Date.parse('2026-11-22T10:00:30Z') });
    const events: JobEvent[] = [];
    // Each run takes 90 s (within its 120 s timeout), so the next minute's tick finds it still going.
    const job: JobDefinition = { name: 'report', schedule: '* * * * *', timeout: 120_000, run: () => new Promise<void>((r) => clock.setTimeout(r, 90_000)) };
    const runner = createJobRunner({ module: 'm', clock, ctx, jobs: [job], onEvent: (e) => events.push(e) });
    runner.start();
    await clock.advanceAsync(3 * 60_000);
    // 10:01 run starts; 10:02 tick skipped; 10:02:30 run ends; 10:03 next run starts (still going at 10:03:30).
    expect(events.map((e) => (e.type === 'run' ? `run ok=${e.ok}` : e.type))).toEqual(['skipped', 'run ok=true']);
    const stopping = runner.stop();
    await clock.advanceAsync(90_000);
    await stopping;
    expect(clock.pendingTimers()).toBe(0);
  });

  it('retries a failing run, then succeeds; times out a hanging one', async () => {
    const clock = createFakeClock();
    const events: JobEvent[] = [];
    let calls = 0;
    const flaky: JobDefinition = {
      name: 'flaky',
      schedule: { everyMs: 100 },
      retries: 2,
      run: () => {
        calls++;
        if (calls < 3) throw new Error(`attempt ${calls} failed`);
      },
    };
    const hang: JobDefinition = { name: 'hang', schedule: { everyMs: 100 }, timeout: 500, run: () => new Promise(() => {}) };
    const runner = createJobRunner({ module: 'm', clock, ctx, jobs: [flaky, hang], onEvent: (e) => events.push(e), retryDelayMs: () => 10 });
    runner.start();
    await clock.advanceAsync(700);
    const flakyRuns = events.filter((e) => e.type === 'run' && e.job === 'flaky').slice(0, 3);
    expect(flakyRuns.map((e) => (e.type === 'run' ? [e.attempt, e.ok] : []))).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    const hung = events.find((e) => e.type === 'run' && e.job === 'hang');
    expect(hung).toMatchObject({ ok: false, attempt: 1 });
    expect(hung?.type === 'run' && hung.error).toContain('ACTIVATION_TIMEOUT');
    // stop() waits for the hanging run in flight, which its own timeout ends.
    const stopping = runner.stop();
    await clock.advanceAsync(1000);
    await stopping;
    expect(clock.pendingTimers()).toBe(0);
  });

  it('stop waits for the run in progress and schedules nothing more', async () => {
    const clock = createFakeClock();
    let finished = false;
    let runs = 0;
    const job: JobDefinition = {
      name: 'slow',
      schedule: { everyMs: 10 },
      run: async () => {
        runs++;
        await new Promise<void>((r) => clock.setTimeout(r, 100));
        finished = true;
      },
    };
    const runner = createJobRunner({ module: 'm', clock, ctx, jobs: [job] });
    runner.start();
    await clock.advanceAsync(10);
    expect(runner.running('slow')).toBe(true);
    const stopping = runner.stop();
    await clock.advanceAsync(100);
    await stopping;
    expect(finished).toBe(true);
    await clock.advanceAsync(1000);
    expect(runs).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('jobs in the activator', () => {
  it('start with their module, move to the new version at a swap, and stop with it: nothing left scheduled', async () => {
    const ran: string[] = [];
    const make = (v: string) =>
      defineModule({ name: 'cleanup', version: v, jobs: [{ name: 'sweep', schedule: { everyMs: 1000 }, run: () => void ran.push(v) }] });
    const { clock, activator, activate } = await createActivationHarness([make('1.0.0'), make('1.1.0')]);
    await activate();
    await clock.advanceAsync(2500);
    expect(ran).toEqual(['1.0.0', '1.0.0']);
    await activator.upgrade('cleanup', '1.1.0');
    await clock.advanceAsync(2500);
    expect(ran).toEqual(['1.0.0', '1.0.0', '1.1.0', '1.1.0']);
    await activator.deactivate();
    await clock.advanceAsync(5000);
    expect(ran).toHaveLength(4);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('fails a module with a malformed cron at start, before it runs', async () => {
    const bad = defineModule({ name: 'bad', version: '1.0.0', jobs: [{ name: 'x', schedule: 'every day', run: () => {} }] });
    const { activate } = await createActivationHarness([bad]);
    const report = await activate();
    expect(report.modules[0]).toMatchObject({ state: 'failed', phase: 'start', error: { code: 'MANIFEST_INVALID' } });
    expect(report.modules[0]?.error?.message).toContain('must have 5 fields');
  });
});
