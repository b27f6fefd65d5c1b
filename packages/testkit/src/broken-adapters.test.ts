import { memoryStorage, type StorageAdapter } from '@modhost/core';
import { describe, expect, it } from 'vitest';
import { runStorageConformance, type StorageSuiteOptions } from './storage-cases.js';

/** Loses falsy values: reads "" back as absent. */
function losesFalsy(): StorageAdapter {
  const inner = memoryStorage();
  return { ...inner, get: async (k) => (await inner.get(k)) || undefined };
}

/** compareAndSet as a read, a pause, then a write: two racers can both "win". */
function nonAtomicCas(): StorageAdapter {
  const inner = memoryStorage();
  return {
    ...inner,
    async compareAndSet(k, expected, next) {
      const current = (await inner.get(k)) ?? null;
      await new Promise((r) => setImmediate(r));
      if (current !== expected) return false;
      if (next === null) await inner.delete(k);
      else await inner.set(k, next);
      return true;
    },
  };
}

/** Swallows backend errors, answering as if the data were absent. */
function swallowsErrors(): StorageAdapter {
  const down = () => {
    throw new Error('ECONNREFUSED');
  };
  const quiet =
    <A extends unknown[], R>(fallback: R) =>
    async (..._args: A): Promise<R> => {
      try {
        return down();
      } catch {
        return fallback;
      }
    };
  return { name: 'swallowing', get: quiet(undefined), set: quiet(undefined), delete: quiet(undefined), keys: quiet([]), compareAndSet: quiet(false) };
}

/** Lists keys with `LIKE prefix || '%'` semantics and nothing escaped: `%` and `_` in the prefix are wildcards. */
function likeWildcards(): StorageAdapter {
  const map = new Map<string, string>();
  const inner = memoryStorage({ map });
  const like = (prefix: string) => {
    const pattern = `${prefix}%`;
    let source = '';
    for (let i = 0; i < pattern.length; i++) {
      const ch = pattern[i] as string;
      if (ch === '\\') source += (pattern[++i] ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      else if (ch === '%') source += '.*';
      else if (ch === '_') source += '.';
      else source += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${source}$`, 's');
  };
  return { ...inner, keys: (prefix) => [...map.keys()].filter((k) => like(prefix).test(k)) };
}

/** Two memory adapters over one Map: each watch sees only the writes made through its own adapter. */
const shared = new WeakMap<StorageAdapter, Map<string, string>>();
/** Shares its data with its peer, but tells its watchers only about writes made through itself. */
function watchesOwnWrites(map: Map<string, string>): StorageAdapter {
  const own = new Set<{ prefix: string; callback: (c: { type: 'set' | 'delete'; key: string }) => void }>();
  const tell = (type: 'set' | 'delete', key: string) => {
    for (const w of own) if (key.startsWith(w.prefix)) w.callback({ type, key });
  };
  return {
    name: 'watches-own-writes',
    get: (k) => map.get(k),
    set(k, v) {
      map.set(k, v);
      tell('set', k);
    },
    delete(k) {
      if (map.delete(k)) tell('delete', k);
    },
    keys: (p) => [...map.keys()].filter((k) => k.startsWith(p)),
    compareAndSet(k, expected, next) {
      if ((map.get(k) ?? null) !== expected) return false;
      if (next === null) map.delete(k);
      else map.set(k, next);
      tell(next === null ? 'delete' : 'set', k);
      return true;
    },
    watch(prefix, callback) {
      const w = { prefix, callback };
      own.add(w);
      return () => void own.delete(w);
    },
  };
}
function ownWritesOnly(): StorageAdapter {
  const map = new Map<string, string>();
  const adapter = watchesOwnWrites(map);
  shared.set(adapter, map);
  return adapter;
}
const peerOverSameMap = (first: StorageAdapter) => watchesOwnWrites(shared.get(first) ?? new Map());

const failedCases = async (options: StorageSuiteOptions) => (await runStorageConformance(options)).filter((r) => r.status === 'failed').map((r) => r.name);

describe('the conformance suite catches broken adapters', () => {
  it('fails an adapter that loses falsy values, in exactly that case', async () => {
    expect(await failedCases({ create: losesFalsy })).toEqual(['falsy and blank values survive']);
  });

  it('fails an adapter whose compareAndSet is not atomic, in the race cases', async () => {
    expect(await failedCases({ create: nonAtomicCas })).toEqual([
      'racing compareAndSet: exactly one writer wins',
      'concurrent read-modify-write loops lose no update',
    ]);
  });

  it('fails an adapter that swallows backend errors, in the error case', async () => {
    const failed = await failedCases({ create: () => memoryStorage(), createBroken: swallowsErrors });
    expect(failed).toEqual(['backend errors reject every operation']);
  });

  it('fails an adapter whose prefix listing treats %, _ and \\ as LIKE wildcards, in exactly that case', async () => {
    expect(await failedCases({ create: likeWildcards })).toEqual(['keys(prefix) matches %, _ and \\ literally, not as wildcards']);
  });

  it('fails an adapter whose watch sees only its own writes, in the peer watch case', async () => {
    const failed = await failedCases({ create: ownWritesOnly, createPeer: peerOverSameMap, watchTimeoutMs: 100 });
    expect(failed).toEqual(['watch reports writes made through a peer (another client of the same backend)']);
  });

  it('passes the memory adapter and reports capability skips', async () => {
    const results = await runStorageConformance({ create: () => memoryStorage() });
    expect(results.filter((r) => r.status === 'failed')).toEqual([]);
    expect(results.filter((r) => r.status === 'skipped').map((r) => r.reason)).toEqual([
      'no createPeer option',
      'no createPeer option',
      'no createBroken option',
    ]);
  });

  it('says what was expected when a case fails', async () => {
    const [result] = (await runStorageConformance({ create: losesFalsy })).filter((r) => r.status === 'failed');
    expect(String(result?.error)).toBe('StorageConformanceError: get after set(""): expected "", got undefined');
  });
});
