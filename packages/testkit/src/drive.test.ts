import { describe, expect, it, vi } from 'vitest';
import { drive } from './drive.js';
import { createFakeClock } from './fake-clock.js';
import { fixtureModule } from './fixtures.js';
import { silentLogger } from './silent-logger.js';

describe('drive', () => {
  it('steps the clock until the promise settles and returns its value', async () => {
    const clock = createFakeClock();
    const later = new Promise((resolve) => clock.setTimeout(() => resolve('done'), 1_500));
    expect(await drive(clock, later)).toBe('done');
    expect(clock.now()).toBe(1_500);
  });

  it('steps by stepMs, and runs async code that awaits between timers', async () => {
    const clock = createFakeClock();
    const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
    const work = (async () => {
      for (let i = 0; i < 3; i++) await sleep(40);
      return clock.now();
    })();
    expect(await drive(clock, work, { stepMs: 50 })).toBe(120);
    expect(clock.now()).toBe(150);
  });

  it('rejects with the promise’s own error', async () => {
    const clock = createFakeClock();
    const failing = new Promise((_, reject) => clock.setTimeout(() => reject(new Error('boom')), 300));
    await expect(drive(clock, failing)).rejects.toThrow('boom');
  });

  it('calls onTick before each step and waits for it', async () => {
    const clock = createFakeClock();
    const ticks: string[] = [];
    const later = new Promise((resolve) => clock.setTimeout(() => resolve('ok'), 250));
    await drive(clock, later, {
      onTick: async (step) => {
        await Promise.resolve();
        ticks.push(`${step}@${clock.now()}`);
      },
    });
    expect(ticks).toEqual(['0@0', '1@100', '2@200']);
  });

  it('gives up with an error naming the steps taken when the promise never settles', async () => {
    const clock = createFakeClock();
    const never = new Promise(() => {});
    await expect(drive(clock, never, { maxSteps: 5, stepMs: 20 })).rejects.toThrow(
      'drive: the promise was still pending after 5 steps of 20 ms (100 ms of fake time)',
    );
    expect(clock.now()).toBe(100);
  });

  it('leaves no unhandled rejection when the promise rejects after drive gave up', async () => {
    const clock = createFakeClock();
    let reject!: (e: Error) => void;
    const late = new Promise((_, r) => {
      reject = r;
    });
    await expect(drive(clock, late, { maxSteps: 1 })).rejects.toThrow(/after 1 steps/);
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      reject(new Error('too late'));
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});

describe('silentLogger', () => {
  it('drops every line, and is a fresh logger each time', () => {
    const spies = (['debug', 'info', 'warn', 'error', 'log'] as const).map((level) => vi.spyOn(console, level).mockImplementation(() => {}));
    try {
      const log = silentLogger();
      for (const level of ['debug', 'info', 'warn', 'error'] as const) expect(log[level]('nobody hears this', { level })).toBeUndefined();
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
      expect(silentLogger()).not.toBe(log);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it('fits a `logger: (module) => Logger` option as is', () => {
    const option: (module: string) => ReturnType<typeof silentLogger> = silentLogger;
    expect(Object.keys(option('tasks')).sort()).toEqual(['debug', 'error', 'info', 'warn']);
  });
});

describe('fixtureModule', () => {
  it('takes dependencies as a list of names, each meaning ^1.0.0', () => {
    expect(fixtureModule('app', '1.0.0', { dependencies: ['left', 'right'] }).dependencies).toEqual({ left: '^1.0.0', right: '^1.0.0' });
    expect(fixtureModule('app', '1.0.0', { dependencies: { left: '~1.2.0' } }).dependencies).toEqual({ left: '~1.2.0' });
    expect(fixtureModule('solo').dependencies).toBeUndefined();
  });
});
