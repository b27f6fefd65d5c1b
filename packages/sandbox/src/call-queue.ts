/** A bounded FIFO of calls waiting for a free slot. @internal */
export interface CallQueue<T> {
  /** Items waiting. */
  readonly size: number;
  /** Appends `item`; returns false (and keeps nothing) when `max` items wait already. */
  push(item: T): boolean;
  /** Takes the oldest item, or `undefined` when none waits. */
  shift(): T | undefined;
  /** Empties the queue, then hands each item that waited to `fn`, oldest first. */
  drain(fn: (item: T) => void): void;
}

// Shifting from the front of an array is O(n), so the queue keeps a head index instead, and cuts off the consumed
// front once it is both long and more than half of the array (amortised O(1) per item).
const COMPACT_AFTER = 1024;

/** Creates a FIFO that holds at most `max` items. @internal */
export function createCallQueue<T>(max: number): CallQueue<T> {
  let items: (T | undefined)[] = [];
  let head = 0;
  return {
    get size() {
      return items.length - head;
    },
    push(item) {
      if (items.length - head < max) {
        items.push(item);
        return true;
      }
      return false;
    },
    shift() {
      if (head >= items.length) return undefined;
      const item = items[head];
      items[head] = undefined; // let it be collected now, not at the next compaction
      head += 1;
      if (head > COMPACT_AFTER && head * 2 > items.length) {
        items.splice(0, head);
        head = 0;
      }
      return item;
    },
    drain(fn) {
      const waiting = items.slice(head);
      items = [];
      head = 0;
      for (const item of waiting) fn(item as T);
    },
  };
}
