import type { MaybePromise, StorageAdapter, StorageChange } from '@modhost/core';

/** How to make the adapters a conformance run needs. */
export interface StorageSuiteOptions {
  /** A fresh adapter; called once per case. */
  create: () => MaybePromise<StorageAdapter>;
  /**
   * Optional: a second adapter over the same backend as `first` (as a second process would
   * open). Enables the cross-instance cases.
   */
  createPeer?: (first: StorageAdapter) => MaybePromise<StorageAdapter>;
  /** Optional: an adapter whose backend fails every call (e.g. a closed pool). Enables the error cases. */
  createBroken?: () => MaybePromise<StorageAdapter>;
  /** Case names to skip, with the reason shown in the report. */
  skip?: Readonly<Record<string, string>>;
  /** Concurrent writers in the race cases. Default 16. */
  writers?: number;
  /** How long a watch case waits for a notification, in ms. Default 5000. */
  watchTimeoutMs?: number;
}

/** What a case receives. */
export interface StorageCaseContext {
  readonly adapter: StorageAdapter;
  readonly options: StorageSuiteOptions;
  /** A key unique to this case run, so cases never see each other's data. */
  key(suffix?: string): string;
  /** Marks the case skipped (a capability the adapter lacks) and stops it. */
  skip(reason: string): never;
}

/** One conformance case. */
export interface StorageCase {
  readonly name: string;
  run(ctx: StorageCaseContext): Promise<void>;
}

/** Thrown when an adapter does not conform; the message says what was expected. */
export class StorageConformanceError extends Error {
  override readonly name = 'StorageConformanceError';
}

/** Thrown by `ctx.skip()`. */
export class StorageCaseSkipped extends Error {
  override readonly name = 'StorageCaseSkipped';
}

const fail = (message: string): never => {
  throw new StorageConformanceError(message);
};
const show = (v: unknown) => (typeof v === 'string' && v.length > 80 ? `${JSON.stringify(v.slice(0, 80))}… (${v.length} chars)` : JSON.stringify(v));
function equal(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}
function absent(actual: unknown, what: string): void {
  if (actual !== undefined && actual !== null) fail(`${what}: expected absent (undefined or null), got ${show(actual)}`);
}
function sameSet(actual: readonly string[], expected: readonly string[], what: string): void {
  const a = [...actual].sort();
  const e = [...expected].sort();
  if (a.length !== e.length || a.some((k, i) => k !== e[i])) fail(`${what}: expected keys ${show(e)}, got ${show(a)}`);
}
async function rejects(fn: () => MaybePromise<unknown>, what: string): Promise<void> {
  let result: unknown;
  try {
    result = await fn();
  } catch {
    return;
  }
  fail(`${what}: the backend is down, so this must reject, but it resolved with ${show(result)} (errors must not be swallowed)`);
}

async function waitForChange(changes: StorageChange[], predicate: (c: StorageChange) => boolean, timeoutMs: number, what: string) {
  // Notifications from a real backend arrive asynchronously: poll briefly, bounded.
  const deadline = Date.now() + timeoutMs;
  while (!changes.some(predicate)) {
    if (Date.now() > deadline) fail(`${what}: no notification within ${timeoutMs} ms (got ${show(changes)})`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Every case of the storage-adapter conformance suite, in order. */
export const storageAdapterCases: readonly StorageCase[] = [
  {
    name: 'get of a missing key is absent',
    async run({ adapter, key }) {
      absent(await adapter.get(key('missing')), 'get(missing)');
    },
  },
  {
    name: 'set then get returns the value; set overwrites',
    async run({ adapter, key }) {
      await adapter.set(key('a'), 'one');
      equal(await adapter.get(key('a')), 'one', 'get after set');
      await adapter.set(key('a'), 'two');
      equal(await adapter.get(key('a')), 'two', 'get after overwrite');
    },
  },
  {
    name: 'falsy and blank values survive',
    async run({ adapter, key }) {
      for (const [i, v] of ['', ' ', '0', 'false', 'null', 'undefined'].entries()) {
        await adapter.set(key(`f${i}`), v);
        equal(await adapter.get(key(`f${i}`)), v, `get after set(${show(v)})`);
      }
      sameSet(await adapter.keys(key('f0')), [key('f0')], 'keys() lists a key holding ""');
      equal(await adapter.compareAndSet(key('f0'), '', 'x'), true, 'compareAndSet(expected "") on a key holding ""');
    },
  },
  {
    name: 'values round-trip exactly (unicode, JSON, 256 KiB)',
    async run({ adapter, key }) {
      const values = ['ünïcødé ✓ 日本語 🎉', '{"a":[1,2,{"b":null}]}', 'line\nbreak\ttab\\slash"quote', 'x'.repeat(256 * 1024)];
      for (const [i, v] of values.entries()) {
        await adapter.set(key(`v${i}`), v);
        equal(await adapter.get(key(`v${i}`)), v, `round-trip of value ${i}`);
      }
    },
  },
  {
    name: 'keys with separators and escapes round-trip',
    async run({ adapter, key }) {
      const names = ['a:b', 'a/b', 'a%3Ab', '@scope%2Fname', 'sp ace', 'ünï'];
      for (const n of names) await adapter.set(key(n), n);
      for (const n of names) equal(await adapter.get(key(n)), n, `get(${show(key(n))})`);
      sameSet(
        await adapter.keys(key('')),
        names.map((n) => key(n)),
        'keys(prefix)',
      );
    },
  },
  {
    name: 'delete removes a key; deleting a missing key resolves',
    async run({ adapter, key }) {
      await adapter.set(key('d'), 'v');
      await adapter.delete(key('d'));
      absent(await adapter.get(key('d')), 'get after delete');
      await adapter.delete(key('never-set'));
    },
  },
  {
    name: 'keys(prefix) returns exactly the keys under the prefix',
    async run({ adapter, key }) {
      for (const k of ['p:a', 'p:b', 'p:a:c', 'q:a', 'pp:a']) await adapter.set(key(k), k);
      sameSet(await adapter.keys(key('p:')), [key('p:a'), key('p:b'), key('p:a:c')], 'keys("p:")');
      sameSet(await adapter.keys(key('none:')), [], 'keys of an unused prefix');
      await adapter.delete(key('p:b'));
      sameSet(await adapter.keys(key('p:')), [key('p:a'), key('p:a:c')], 'keys after delete');
    },
  },
  {
    name: 'keys(prefix) matches %, _ and \\ literally, not as wildcards',
    async run({ adapter, key }) {
      const names = ['100%', '100%:x', '100a:y', 'a_b', 'aXb', 'back\\slash', 'back\\\\slash', 'backXslash'];
      for (const n of names) await adapter.set(key(n), n);
      sameSet(await adapter.keys(key('100%')), [key('100%'), key('100%:x')], 'keys("100%") (a % in a prefix is a character)');
      sameSet(await adapter.keys(key('a_')), [key('a_b')], 'keys("a_") (an _ in a prefix is a character)');
      sameSet(await adapter.keys(key('back\\')), [key('back\\slash'), key('back\\\\slash')], 'keys("back\\") (a \\ in a prefix is a character)');
      sameSet(await adapter.keys(key('back\\\\')), [key('back\\\\slash')], 'keys("back\\\\")');
      for (const n of names) equal(await adapter.get(key(n)), n, `get(${show(key(n))})`);
    },
  },
  {
    name: 'compareAndSet creates only when absent (expected null)',
    async run({ adapter, key }) {
      equal(await adapter.compareAndSet(key('c'), null, 'first'), true, 'compareAndSet(null) on a missing key');
      equal(await adapter.get(key('c')), 'first', 'value after create');
      equal(await adapter.compareAndSet(key('c'), null, 'second'), false, 'compareAndSet(null) on an existing key');
      equal(await adapter.get(key('c')), 'first', 'value after refused create');
    },
  },
  {
    name: 'compareAndSet replaces only on a match, and deletes with next null',
    async run({ adapter, key }) {
      await adapter.set(key('c'), 'v1');
      equal(await adapter.compareAndSet(key('c'), 'other', 'v2'), false, 'compareAndSet with a stale expected');
      equal(await adapter.get(key('c')), 'v1', 'value after refused compareAndSet');
      equal(await adapter.compareAndSet(key('c'), 'v1', 'v2'), true, 'compareAndSet with the current value');
      equal(await adapter.get(key('c')), 'v2', 'value after compareAndSet');
      equal(await adapter.compareAndSet(key('c'), 'v2', null), true, 'compareAndSet(next null)');
      absent(await adapter.get(key('c')), 'value after compareAndSet delete');
      equal(await adapter.compareAndSet(key('c'), 'v2', 'v3'), false, 'compareAndSet on a deleted key');
      equal(await adapter.compareAndSet(key('gone'), '', 'x'), false, 'compareAndSet(expected "") on a missing key');
    },
  },
  {
    name: 'racing compareAndSet: exactly one writer wins',
    async run({ adapter, key, options }) {
      const n = options.writers ?? 16;
      await adapter.set(key('race'), 'start');
      const results = await Promise.all(Array.from({ length: n }, (_, i) => adapter.compareAndSet(key('race'), 'start', `w${i}`)));
      const winners = results.flatMap((won, i) => (won ? [i] : []));
      equal(winners.length, 1, `winners among ${n} racing compareAndSet calls`);
      equal(await adapter.get(key('race')), `w${winners[0]}`, 'value after the race');
    },
  },
  {
    name: 'concurrent read-modify-write loops lose no update',
    async run({ adapter, key, options }) {
      const n = options.writers ?? 16;
      const k = key('counter');
      const increment = async () => {
        for (let i = 0; i < 1000; i++) {
          const cur = (await adapter.get(k)) ?? null;
          if (await adapter.compareAndSet(k, cur, String(Number(cur ?? 0) + 1))) return;
        }
        fail('an increment lost 1000 races in a row');
      };
      await Promise.all(Array.from({ length: n }, increment));
      equal(await adapter.get(k), String(n), `counter after ${n} concurrent increments`);
    },
  },
  {
    name: 'a peer over the same backend sees writes and races fairly',
    async run({ adapter, key, options, skip }) {
      if (!options.createPeer) return skip('no createPeer option');
      const peer = await options.createPeer(adapter);
      try {
        await adapter.set(key('shared'), 'from-a');
        equal(await peer.get(key('shared')), 'from-a', 'peer reads what the first adapter wrote');
        const results = await Promise.all([adapter.compareAndSet(key('shared'), 'from-a', 'a'), peer.compareAndSet(key('shared'), 'from-a', 'b')]);
        equal(results.filter(Boolean).length, 1, 'winners between two instances');
      } finally {
        await peer.dispose?.();
      }
    },
  },
  {
    name: 'watch reports sets and deletes under the prefix, and stops after unwatch',
    async run({ adapter, key, options, skip }) {
      if (!adapter.watch) return skip('adapter has no watch()');
      const changes: StorageChange[] = [];
      const unwatch = await adapter.watch(key('w:'), (c) => changes.push(c));
      const timeout = options.watchTimeoutMs ?? 5000;
      await adapter.set(key('w:a'), '1');
      await adapter.set(key('other'), '1');
      await waitForChange(changes, (c) => c.key === key('w:a') && c.type === 'set', timeout, 'watch after set');
      await adapter.delete(key('w:a'));
      await waitForChange(changes, (c) => c.key === key('w:a') && c.type === 'delete', timeout, 'watch after delete');
      if (changes.some((c) => c.key === key('other'))) fail('watch reported a key outside its prefix');
      await unwatch();
      const before = changes.length;
      await adapter.set(key('w:b'), '1');
      await adapter.get(key('w:b'));
      equal(changes.length, before, 'notifications after unwatch');
    },
  },
  {
    name: 'watch reports writes made through a peer (another client of the same backend)',
    async run({ adapter, key, options, skip }) {
      if (!adapter.watch) return skip('adapter has no watch()');
      if (!options.createPeer) return skip('no createPeer option');
      const peer = await options.createPeer(adapter);
      const changes: StorageChange[] = [];
      const unwatch = await adapter.watch(key('pw:'), (c) => changes.push(c));
      const timeout = options.watchTimeoutMs ?? 5000;
      try {
        await peer.set(key('pw:a'), '1');
        await waitForChange(changes, (c) => c.key === key('pw:a') && c.type === 'set', timeout, "watch after a peer's set");
        equal(await peer.compareAndSet(key('pw:b'), null, 'x'), true, "peer's compareAndSet(null)");
        await waitForChange(changes, (c) => c.key === key('pw:b') && c.type === 'set', timeout, "watch after a peer's compareAndSet");
        await peer.delete(key('pw:a'));
        await waitForChange(changes, (c) => c.key === key('pw:a') && c.type === 'delete', timeout, "watch after a peer's delete");
      } finally {
        await unwatch();
        await peer.dispose?.();
      }
    },
  },
  {
    name: 'backend errors reject every operation',
    async run({ key, options, skip }) {
      if (!options.createBroken) return skip('no createBroken option');
      const broken = await options.createBroken();
      try {
        await rejects(() => broken.get(key('x')), 'get');
        await rejects(() => broken.set(key('x'), 'v'), 'set');
        await rejects(() => broken.delete(key('x')), 'delete');
        await rejects(() => broken.keys(key('')), 'keys');
        await rejects(() => broken.compareAndSet(key('x'), null, 'v'), 'compareAndSet');
      } finally {
        try {
          await broken.dispose?.();
        } catch {
          // A broken backend may also fail to dispose.
        }
      }
    },
  },
];

/** The outcome of one case. */
export interface StorageCaseResult {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  readonly error?: unknown;
  readonly reason?: string;
}

let runCounter = 0;

/** Runs one case against a fresh adapter and disposes it after. */
export async function runStorageCase(c: StorageCase, options: StorageSuiteOptions): Promise<StorageCaseResult> {
  const skipReason = options.skip?.[c.name];
  if (skipReason !== undefined) return { name: c.name, status: 'skipped', reason: skipReason };
  const adapter = await options.create();
  const prefix = `conformance:${Date.now().toString(36)}:${(runCounter++).toString(36)}:${Math.random().toString(36).slice(2, 8)}:`;
  const ctx: StorageCaseContext = {
    adapter,
    options,
    key: (suffix = '') => prefix + suffix,
    skip: (reason) => {
      throw new StorageCaseSkipped(reason);
    },
  };
  try {
    await c.run(ctx);
    return { name: c.name, status: 'passed' };
  } catch (error) {
    if (error instanceof StorageCaseSkipped) return { name: c.name, status: 'skipped', reason: error.message };
    return { name: c.name, status: 'failed', error };
  } finally {
    await adapter.dispose?.();
  }
}

/** Runs the whole suite without a test framework (for scripts, or other runners). */
export async function runStorageConformance(options: StorageSuiteOptions): Promise<StorageCaseResult[]> {
  const results: StorageCaseResult[] = [];
  for (const c of storageAdapterCases) results.push(await runStorageCase(c, options));
  return results;
}
