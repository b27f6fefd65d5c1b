/** A priority queue of modules ready to start. @internal */
export interface ReadyQueue<T> {
  push(item: T): void;
  /** Takes the item served first (the one `before` puts ahead of all others), or `undefined` when empty. */
  pop(): T | undefined;
  readonly size: number;
}

/**
 * A binary heap ordered by `before(a, b)`: true when `a` is served before `b`. The activation scheduler orders by
 * longest remaining path first, then plan order, so no two modules tie. @internal
 */
export function createReadyQueue<T>(before: (a: T, b: T) => boolean): ReadyQueue<T> {
  const heap: T[] = [];
  return {
    push(item) {
      heap.push(item);
      for (let i = heap.length - 1; i > 0; ) {
        const p = (i - 1) >> 1;
        if (!before(heap[i] as T, heap[p] as T)) break;
        [heap[i], heap[p]] = [heap[p] as T, heap[i] as T];
        i = p;
      }
    },
    pop() {
      const top = heap[0];
      const last = heap.pop();
      if (heap.length > 0 && last !== undefined) {
        heap[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && before(heap[l] as T, heap[m] as T)) m = l;
          if (r < heap.length && before(heap[r] as T, heap[m] as T)) m = r;
          if (m === i) break;
          [heap[i], heap[m]] = [heap[m] as T, heap[i] as T];
          i = m;
        }
      }
      return top;
    },
    get size() {
      return heap.length;
    },
  };
}
