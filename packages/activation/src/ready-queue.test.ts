import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReadyQueue } from './ready-queue.js';

const drain = <T>(q: { pop(): T | undefined; readonly size: number }): T[] => {
  const out: T[] = [];
  while (q.size > 0) out.push(q.pop() as T);
  return out;
};

describe('ready queue', () => {
  it('is empty at first: size 0, pop gives undefined', () => {
    const q = createReadyQueue<number>((a, b) => a < b);
    expect(q.size).toBe(0);
    expect(q.pop()).toBeUndefined();
    expect(q.size).toBe(0);
  });

  it('counts what is pushed and popped', () => {
    const q = createReadyQueue<number>((a, b) => a < b);
    q.push(3);
    q.push(1);
    expect(q.size).toBe(2);
    expect(q.pop()).toBe(1);
    expect(q.size).toBe(1);
    expect(q.pop()).toBe(3);
    expect(q.size).toBe(0);
  });

  it('serves the longest remaining path first, then plan order (as the scheduler orders it)', () => {
    const longestPath = new Map([
      ['a', 1],
      ['b', 3],
      ['c', 3],
      ['d', 2],
    ]);
    const index = new Map([...longestPath.keys()].map((n, i) => [n, i]));
    const q = createReadyQueue<string>((a, b) => {
      const d = (longestPath.get(b) ?? 0) - (longestPath.get(a) ?? 0);
      return d !== 0 ? d < 0 : (index.get(a) as number) < (index.get(b) as number);
    });
    for (const n of ['a', 'c', 'd', 'b']) q.push(n);
    expect(drain(q)).toEqual(['b', 'c', 'd', 'a']);
  });

  it('takes pushes between pops', () => {
    const q = createReadyQueue<number>((a, b) => a < b);
    q.push(5);
    q.push(2);
    expect(q.pop()).toBe(2);
    q.push(1);
    q.push(9);
    expect(drain(q)).toEqual([1, 5, 9]);
  });

  it('pops any pushed numbers in sorted order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), (xs) => {
        const q = createReadyQueue<number>((a, b) => a < b);
        for (const x of xs) q.push(x);
        expect(q.size).toBe(xs.length);
        expect(drain(q)).toEqual([...xs].sort((a, b) => a - b));
      }),
    );
  });
});
