import { ModhostError } from './errors.js';
import type { StorageAdapter } from './storage.js';

/** The envelope format version core writes. Readers refuse newer ones instead of guessing. */
export const ENVELOPE_VERSION = 1;

/** How every stored value looks: `{ "modhost": 1, "kind": "...", "data": ... }`. */
export interface Envelope<T> {
  readonly modhost: number;
  readonly kind: string;
  readonly data: T;
}

/** What an `update` callback returns: the next value, `undefined` to delete, or {@link KEEP}. */
export const KEEP: unique symbol = Symbol('keep');

/**
 * Core's view of an adapter: namespaced keys, envelopes, errors wrapped as
 * `STORAGE_ADAPTER_FAILED`, and read-modify-write through compare-and-set.
 * @internal
 */
export interface Store {
  readonly adapter: StorageAdapter;
  readonly namespace: string;
  key(...segments: string[]): string;
  /** Splits a full key made by `key()` back into its segments. */
  segments(fullKey: string): string[];
  read<T>(key: string, kind: string): Promise<T | undefined>;
  readRaw(key: string): Promise<string | undefined>;
  keys(...prefixSegments: string[]): Promise<string[]>;
  /** Writes unconditionally. */
  write<T>(key: string, kind: string, data: T): Promise<void>;
  /**
   * Reads, applies `fn`, and compare-and-sets, retrying on lost races. `fn` may throw to abort
   * (the error passes through untouched). Returns what was stored (or the unchanged value).
   */
  update<T>(key: string, kind: string, fn: (current: T | undefined) => T | undefined | typeof KEEP): Promise<T | undefined>;
}

/** Options for {@link createStore}. @internal */
export interface StoreOptions {
  namespace: string;
  /** How many lost compare-and-set races in a row before `STORAGE_CONFLICT`. */
  maxAttempts: number;
}

const enc = (s: string) => encodeURIComponent(s);

/** @internal */
export function createStore(adapter: StorageAdapter, options: StoreOptions): Store {
  const { namespace, maxAttempts } = options;
  const adapterName = adapter.name ?? 'storage adapter';
  const call = async <R>(op: string, key: string, fn: () => R | Promise<R>): Promise<R> => {
    try {
      return await fn();
    } catch (cause) {
      throw new ModhostError(
        'STORAGE_ADAPTER_FAILED',
        `${adapterName}.${op}("${key}") failed: ${cause instanceof Error ? cause.message : String(cause)}. Check the storage backend; nothing was changed by this operation.`,
        { cause, details: { adapter: adapterName, operation: op, key } },
      );
    }
  };
  const decode = <T>(key: string, kind: string, raw: string): T => {
    let env: Envelope<T>;
    try {
      env = JSON.parse(raw) as Envelope<T>;
    } catch (cause) {
      throw new ModhostError('STORAGE_DATA_INVALID', `value at "${key}" is not JSON; it was not written by modhost or was corrupted`, {
        cause,
        details: { key },
      });
    }
    if (!env || typeof env !== 'object' || typeof env.modhost !== 'number' || env.kind !== kind) {
      throw new ModhostError('STORAGE_DATA_INVALID', `value at "${key}" is not a modhost "${kind}" envelope`, { details: { key, kind } });
    }
    if (env.modhost > ENVELOPE_VERSION) {
      throw new ModhostError(
        'STORAGE_DATA_INVALID',
        `value at "${key}" was written by a newer modhost (envelope v${env.modhost}, this one reads v${ENVELOPE_VERSION}); upgrade modhost on this host`,
        { details: { key, kind, version: env.modhost } },
      );
    }
    return env.data;
  };
  const encode = <T>(kind: string, data: T) => JSON.stringify({ modhost: ENVELOPE_VERSION, kind, data } satisfies Envelope<T>);
  const readRaw = async (key: string) => {
    const raw = await call('get', key, () => adapter.get(key));
    return raw === null || raw === undefined ? undefined : raw;
  };
  const prefix = `${enc(namespace)}:`;

  return {
    adapter,
    namespace,
    key: (...segments) => prefix + segments.map(enc).join(':'),
    segments: (fullKey) => fullKey.slice(prefix.length).split(':').map(decodeURIComponent),
    readRaw,
    async read<T>(key: string, kind: string) {
      const raw = await readRaw(key);
      return raw === undefined ? undefined : decode<T>(key, kind, raw);
    },
    async keys(...prefixSegments) {
      const p = prefixSegments.length === 0 ? prefix : `${prefix + prefixSegments.map(enc).join(':')}:`;
      const keys = await call('keys', p, () => adapter.keys(p));
      return [...keys].sort();
    },
    async write(key, kind, data) {
      await call('set', key, () => adapter.set(key, encode(kind, data)));
    },
    async update<T>(key: string, kind: string, fn: (current: T | undefined) => T | undefined | typeof KEEP) {
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const raw = await readRaw(key);
        const current = raw === undefined ? undefined : decode<T>(key, kind, raw);
        const next = fn(current);
        if (next === KEEP) return current;
        const nextRaw = next === undefined ? null : encode(kind, next);
        if (nextRaw === (raw ?? null)) return current;
        const won = await call('compareAndSet', key, () => adapter.compareAndSet(key, raw ?? null, nextRaw));
        if (won) return next;
      }
      throw new ModhostError(
        'STORAGE_CONFLICT',
        `gave up writing "${key}" after ${maxAttempts} lost compare-and-set races; another writer changes it constantly. Retry, or raise casMaxAttempts.`,
        { details: { key, attempts: maxAttempts } },
      );
    },
  };
}
