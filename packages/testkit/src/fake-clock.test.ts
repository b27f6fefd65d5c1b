import { describe, expect, it } from 'vitest';
import { createFakeClock } from './fake-clock.js';

describe('createFakeClock', () => {
  it('fires timers in due order only when time is advanced', () => {
    const clock = createFakeClock({ now: 100 });
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 20);
    clock.setTimeout(() => fired.push('a'), 10);
    clock.setTimeout(() => fired.push('a2'), 10);
    const c = clock.setTimeout(() => fired.push('cancelled'), 15);
    clock.clearTimeout(c);
    clock.advance(9);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual(['a', 'a2']);
    expect(clock.now()).toBe(110);
    clock.advance(100);
    expect(fired).toEqual(['a', 'a2', 'b']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('fires timers that timers set, when they fall due within the advance', () => {
    const clock = createFakeClock();
    const at: number[] = [];
    const tick = () => {
      at.push(clock.now());
      if (at.length < 5) clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    clock.advance(35);
    expect(at).toEqual([10, 20, 30]);
    clock.advance(100);
    expect(at).toEqual([10, 20, 30, 40, 50]);
  });

  it('lets async code between timers run with advanceAsync', async () => {
    const clock = createFakeClock();
    const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
    const log: number[] = [];
    const task = (async () => {
      await sleep(10);
      log.push(clock.now());
      await sleep(10);
      log.push(clock.now());
    })();
    await clock.advanceAsync(25);
    await task;
    expect(log).toEqual([10, 20]);
  });

  it('refuses to run a timer that re-arms forever, and time never goes back', () => {
    const clock = createFakeClock();
    const loop = () => clock.setTimeout(loop, 1);
    loop();
    expect(() => clock.runAll(50)).toThrow(/keeps re-arming/);
    expect(() => clock.setNow(-1)).toThrow(/only moves forward/);
  });
});
