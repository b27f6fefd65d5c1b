import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCallQueue } from './call-queue.js';

describe('call queue', () => {
  it('is empty at first: size 0, shift gives undefined', () => {
    const q = createCallQueue<number>(3);
    expect(q.size).toBe(0);
    expect(q.shift()).toBeUndefined();
    expect(q.size).toBe(0);
  });

  it('keeps at most max items: a push beyond is refused and keeps nothing', () => {
    const q = createCallQueue<string>(2);
    expect(q.push('a')).toBe(true);
    expect(q.push('b')).toBe(true);
    expect(q.push('c')).toBe(false);
    expect(q.size).toBe(2);
    expect(q.shift()).toBe('a');
    expect(q.push('d')).toBe(true);
    expect([q.shift(), q.shift(), q.shift()]).toEqual(['b', 'd', undefined]);
    expect(createCallQueue<string>(0).push('x')).toBe(false);
  });

  it('drain empties the queue first, then hands over what waited, oldest first', () => {
    const q = createCallQueue<number>(10);
    for (const n of [1, 2, 3]) q.push(n);
    q.shift();
    const seen: [number, number][] = [];
    q.drain((n) => seen.push([n, q.size]));
    expect(seen).toEqual([
      [2, 0],
      [3, 0],
    ]);
    expect(q.shift()).toBeUndefined();
    expect(q.push(4)).toBe(true);
    expect(q.shift()).toBe(4);
  });

  it('behaves as a bounded array FIFO over long runs, across compactions (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3_000 }),
        fc.array(fc.oneof(fc.constant('drain' as const), fc.record({ push: fc.nat(2_500), shift: fc.nat(2_500) })), { maxLength: 8 }),
        (max, steps) => {
          const q = createCallQueue<number>(max);
          let model: number[] = [];
          let next = 0;
          // Plain comparisons in the loops (one expect per step): thousands of expect() calls per run are slow.
          for (const step of steps) {
            if (step === 'drain') {
              const drained: number[] = [];
              q.drain((n) => drained.push(n));
              expect(drained).toEqual(model);
              model = [];
              continue;
            }
            for (let i = 0; i < step.push; i++) {
              next += 1;
              const fits = model.length < max;
              if (q.push(next) !== fits) throw new Error(`push(${next}) answered ${!fits} with ${model.length} of ${max} waiting`);
              if (fits) model.push(next);
            }
            const shifted: (number | undefined)[] = [];
            const expected: (number | undefined)[] = [];
            for (let i = 0; i < step.shift; i++) {
              shifted.push(q.shift());
              expected.push(model.shift());
            }
            expect(shifted).toEqual(expected);
            expect(q.size).toBe(model.length);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
