import { reportError } from './runtime.js';

/** A value or a promise of it: adapter methods may be sync or async. */
export type MaybePromise<T> = T | Promise<T>;

/** What a storage watcher is told. */
export interface StorageChange {
  readonly type: 'set' | 'delete';
  readonly key: string;
}

/**
 * The storage port: a plain object of small methods, each sync or async. Values are strings
 * (core writes versioned JSON envelopes; an adapter stores them as they are). `""` is a value
 * and must survive; absent keys read as `undefined` (or `null`).
 *
 * Every adapter must pass `describeStorageAdapter` from `@modhost/testkit`.
 */
export interface StorageAdapter {
  /** Adapter name for messages, e.g. `"memory"` or `"postgres"`. */
  readonly name?: string;
  get(key: string): MaybePromise<string | null | undefined>;
  set(key: string, value: string): MaybePromise<void>;
  /** Deleting an absent key is not an error. */
  delete(key: string): MaybePromise<void>;
  /** Every key that starts with `prefix` (all keys for `""`), in any order. */
  keys(prefix: string): MaybePromise<string[]>;
  /**
   * Atomically: if the current value equals `expected` (`null` = absent), store `next`
   * (`null` = delete) and return true; otherwise change nothing and return false.
   * Of two racing writers with the same `expected`, exactly one wins.
   */
  compareAndSet(key: string, expected: string | null, next: string | null): MaybePromise<boolean>;
  /** Optional: calls `callback` for changes under `prefix` (also ones other processes make). Returns unwatch. */
  watch?(prefix: string, callback: (change: StorageChange) => void): MaybePromise<() => MaybePromise<void>>;
  /** Optional: releases connections and timers. */
  dispose?(): MaybePromise<void>;
}

/** Options for {@link memoryStorage}. */
export interface MemoryStorageOptions {
  /**
   * The map that holds the data. Pass your own to share one store between several
   * adapters (as two processes would share a database) or to inspect it in tests.
   */
  map?: Map<string, string>;
}

type Watcher = { prefix: string; callback: (change: StorageChange) => void };
const watchersOf = new WeakMap<Map<string, string>, Set<Watcher>>();

/**
 * The embedded default storage: a Map in this process. Sync, atomic by construction
 * (JavaScript runs one thing at a time), with `watch`. Data is lost when the process exits.
 */
export function memoryStorage(options: MemoryStorageOptions = {}): StorageAdapter {
  const map = options.map ?? new Map<string, string>();
  // Adapters over one Map are one backend (as two processes over one database): each hears the others' writes.
  const watchers = watchersOf.get(map) ?? new Set<Watcher>();
  watchersOf.set(map, watchers);
  const mine = new Set<Watcher>();
  const notify = (change: StorageChange) => {
    for (const w of [...watchers]) {
      if (!change.key.startsWith(w.prefix)) continue;
      try {
        w.callback(change);
      } catch (e) {
        reportError('[modhost] a memoryStorage watcher threw:', e);
      }
    }
  };
  return {
    name: 'memory',
    get: (key) => map.get(key),
    set(key, value) {
      map.set(key, value);
      notify({ type: 'set', key });
    },
    delete(key) {
      if (map.delete(key)) notify({ type: 'delete', key });
    },
    keys: (prefix) => [...map.keys()].filter((k) => k.startsWith(prefix)),
    compareAndSet(key, expected, next) {
      const current = map.get(key);
      if ((current ?? null) !== expected) return false;
      if (next === null) {
        if (current !== undefined) {
          map.delete(key);
          notify({ type: 'delete', key });
        }
      } else {
        map.set(key, next);
        notify({ type: 'set', key });
      }
      return true;
    },
    watch(prefix, callback) {
      const w = { prefix, callback };
      watchers.add(w);
      mine.add(w);
      return () => {
        watchers.delete(w);
        mine.delete(w);
      };
    },
    dispose() {
      for (const w of mine) watchers.delete(w);
      mine.clear();
    },
  };
}
