import type { Clock, TimerHandle } from '@modhost/core';

/** What a {@link DueList} says of its timers, so a test or a benchmark can show that there is only ever one. */
interface DueListStats {
  /** Clock timers created since the list was made. */
  readonly timersCreated: number;
  /** Clock timers pending now: 0 or 1. */
  readonly pendingTimers: number;
  /** Entries waiting (stale ones included until their time comes). */
  readonly size: number;
}

/**
 * Items due at given times, woken by one clock timer for the whole list (never a timer per item): a min-heap of due
 * times and a single timer armed for the earliest. Due times are rounded up to `resolutionMs`, so items due close
 * together are served by one wake-up.
 * @internal
 */
export interface DueList<T> {
  /** Schedules `item` at clock time `due` (rounded up to the resolution). */
  add(due: number, item: T): void;
  /** Drops every entry and the timer. */
  clear(): void;
  stats(): DueListStats;
}

interface Entry<T> {
  readonly due: number;
  readonly seq: number;
  readonly item: T;
}

/** Creates a due list; `onDue` gets the items whose time has come, in due order, on each wake-up. @internal */
export function createDueList<T>(clock: Clock, resolutionMs: number, onDue: (items: T[]) => void): DueList<T> {
  const heap: Entry<T>[] = [];
  const step = Math.max(1, resolutionMs);
  let seq = 0;
  let timer: TimerHandle | undefined;
  let armedFor = Number.POSITIVE_INFINITY;
  let waking = false;
  let timersCreated = 0;

  const before = (a: Entry<T>, b: Entry<T>) => a.due < b.due || (a.due === b.due && a.seq < b.seq);
  // Sift with a hole instead of swaps: no array allocated per step, which counts with 10,000 entries a period.
  const push = (e: Entry<T>) => {
    let i = heap.length;
    heap.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Entry<T>;
      if (!before(e, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = e;
  };
  const pop = (): Entry<T> | undefined => {
    const top = heap[0];
    const last = heap.pop();
    const n = heap.length;
    if (n === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(heap[r] as Entry<T>, heap[l] as Entry<T>) ? r : l;
      const child = heap[c] as Entry<T>;
      if (!before(child, last)) break;
      heap[i] = child;
      i = c;
    }
    heap[i] = last;
    return top;
  };

  const disarm = () => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    armedFor = Number.POSITIVE_INFINITY;
  };
  /** One timer, for the earliest entry: re-armed only when an earlier entry arrives. */
  const arm = () => {
    const next = heap[0];
    if (waking || next === undefined || next.due >= armedFor) return;
    disarm();
    armedFor = next.due;
    timersCreated++;
    timer = clock.setTimeout(wake, Math.max(0, next.due - clock.now()));
    // A monitor must never keep a process alive (Node's timers have unref; a fake clock's handles do not).
    (timer as { unref?: () => void } | null)?.unref?.();
  };
  const wake = () => {
    timer = undefined;
    armedFor = Number.POSITIVE_INFINITY;
    const now = clock.now();
    const items: T[] = [];
    while (heap.length > 0 && (heap[0] as Entry<T>).due <= now) items.push((pop() as Entry<T>).item);
    // Entries added while the due ones are served wait for the one arm() below, not one timer each.
    waking = true;
    try {
      onDue(items);
    } finally {
      waking = false;
      arm();
    }
  };

  return {
    add(due, item) {
      push({ due: Math.ceil(due / step) * step, seq: seq++, item });
      arm();
    },
    clear() {
      disarm();
      heap.length = 0;
    },
    stats: () => ({ timersCreated, pendingTimers: timer === undefined ? 0 : 1, size: heap.length }),
  };
}
