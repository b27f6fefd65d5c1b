import { ModhostError } from './errors.js';
import type { StorageAdapter } from './storage.js';

/** The envelope format version core writes. Readers refuse newer ones instead of guessing. */
const ENVELOPE_VERSION = 1;

/** How every stored value looks: `{ "modhost": 1, "kind": "...", "data": ... }`. */
interface Envelope<T> {
  readonly modhost: number;
  readonly kind: string;
  readonly data: T;
}

/** What an `update` callback returns: the next value, `undefined` to delete, or {@link KEEP}. */
export const KEEP: unique symbol = Symbol('keep');

/**
 * The one storage helper every package that persists goes through: namespaced, encoded keys; adapter errors
 * wrapped as `STORAGE_ADAPTER_FAILED` (with the cause); read-modify-write through one compare-and-set loop. The
 * registry stores envelopes (`read`/`write`/`update`); other areas (module data, migrations, audit, integrity)
 * store their own text formats (`readText`/`writeText`/`updateText`), unchanged from before.
 * @internal
 */
export interface Store {
  readonly adapter: StorageAdapter;
  readonly namespace: string;
  /** `<namespace>:<segment>:<segment>…`, each part URI-encoded. */
  key(...segments: string[]): string;
  /** A text value, or undefined when absent. */
  readText(key: string): Promise<string | undefined>;
  writeText(key: string, value: string): Promise<void>;
  remove(key: string): Promise<void>;
  /** Every key that starts with `fullPrefix` (a key or part of one, as `key()` builds them), sorted. */
  keysFrom(fullPrefix: string): Promise<string[]>;
  /** The adapter's atomic compare-and-set, wrapped (`null` = absent). */
  swap(key: string, expected: string | null, next: string | null): Promise<boolean>;
  /** The compare-and-set loop over text: `fn` returns the next text, `undefined` to delete, or {@link KEEP}. */
  updateText(key: string, fn: (current: string | undefined) => string | undefined | typeof KEEP): Promise<string | undefined>;
  /** Splits a full key made by `key()` back into its segments. */
  segments(fullKey: string): string[];
  read<T>(key: string, kind: string): Promise<T | undefined>;
  readRaw(key: string): Promise<string | undefined>;
  keys(...prefixSegments: string[]): Promise<string[]>;
  /** The same keys as {@link Store.keys}, in the adapter's order (for callers that sort by something else). */
  scan(...prefixSegments: string[]): Promise<string[]>;
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
  /** How many lost compare-and-set races in a row before `STORAGE_CONFLICT` (default 100). */
  maxAttempts?: number;
  /** Who is writing, for error messages and `details` (e.g. `{ module: 'tasks' }`; default the adapter's name). */
  owner?: { readonly label: string; readonly details?: Record<string, unknown> };
  /** How many decoded envelopes to keep, each valid while its key holds the same text (default 50,000; 0 = none). */
  decodeCacheSize?: number;
  /** Called with the key after each write this store makes (set, delete, a won compare-and-set). */
  onWrite?: (key: string) => void;
}

/** Freezes a decoded value and everything in it (stopping at what is frozen already): every reader shares it. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
  return value;
}

const enc = (s: string) => encodeURIComponent(s);

/** @internal */
export function createStore(adapter: StorageAdapter, options: StoreOptions): Store {
  const { namespace } = options;
  const maxAttempts = options.maxAttempts ?? 100;
  const adapterName = adapter.name ?? 'storage adapter';
  const who = options.owner ? `${options.owner.label}: storage` : adapterName;
  const call = async <R>(op: string, key: string, fn: () => R | Promise<R>): Promise<R> => {
    try {
      return await fn();
    } catch (cause) {
      throw new ModhostError(
        'STORAGE_ADAPTER_FAILED',
        `${who}.${op}("${key}") failed: ${cause instanceof Error ? cause.message : String(cause)}. Check the storage backend; nothing was changed by this operation.`,
        { cause, details: { ...options.owner?.details, adapter: adapterName, operation: op, key } },
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
  // Decoded envelopes by key, each valid while the key holds the very text it came from: a record read again (or
  // read after this store wrote it) skips JSON.parse. The stored text stays the only truth; a value another writer
  // changed differs from `raw` and is decoded afresh. Oldest entries go first when the cache is full.
  // Bounded: the most recently written or read records stay (a host's start touches each module's records in a burst).
  const cacheSize = options.decodeCacheSize ?? 50_000;
  const decoded = new Map<string, { raw: string; kind: string; value: unknown }>();
  const remember = (key: string, raw: string, kind: string, value: unknown) => {
    if (cacheSize <= 0) return;
    decoded.delete(key);
    if (decoded.size >= cacheSize) decoded.delete(decoded.keys().next().value as string);
    decoded.set(key, { raw, kind, value: deepFreeze(value) });
  };
  const decodeCached = <T>(key: string, kind: string, raw: string): T => {
    const hit = decoded.get(key);
    if (hit !== undefined && hit.raw === raw && hit.kind === kind) return hit.value as T;
    const value = decode<T>(key, kind, raw);
    remember(key, raw, kind, value);
    return value;
  };
  const encode = <T>(kind: string, data: T) => JSON.stringify({ modhost: ENVELOPE_VERSION, kind, data } satisfies Envelope<T>);
  const readRaw = async (key: string) => {
    const raw = await call('get', key, () => adapter.get(key));
    return raw === null || raw === undefined ? undefined : raw;
  };
  const prefix = `${enc(namespace)}:`;
  const scan = (prefixSegments: string[]) => {
    const p = prefixSegments.length === 0 ? prefix : `${prefix + prefixSegments.map(enc).join(':')}:`;
    return call('keys', p, () => adapter.keys(p));
  };
  const wrote = options.onWrite ?? (() => {});
  const swap = async (key: string, expected: string | null, next: string | null) => {
    const won = await call('compareAndSet', key, () => adapter.compareAndSet(key, expected, next));
    if (won) wrote(key);
    return won;
  };
  /** The compare-and-set loop, written once: `fn` gets the current text and returns the next (or KEEP). */
  const updateText = async (key: string, fn: (current: string | undefined) => string | undefined | typeof KEEP): Promise<string | undefined> => {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const raw = await readRaw(key);
      const next = fn(raw);
      if (next === KEEP) return raw;
      if ((next ?? null) === (raw ?? null)) return raw;
      if (await swap(key, raw ?? null, next ?? null)) return next;
    }
    throw new ModhostError(
      'STORAGE_CONFLICT',
      `gave up writing "${key}" after ${maxAttempts} lost compare-and-set races; another writer changes it constantly. Retry, or raise casMaxAttempts.`,
      { details: { key, attempts: maxAttempts } },
    );
  };

  return {
    adapter,
    namespace,
    key: (...segments) => prefix + segments.map(enc).join(':'),
    segments: (fullKey) => fullKey.slice(prefix.length).split(':').map(decodeURIComponent),
    readRaw,
    async read<T>(key: string, kind: string) {
      const raw = await readRaw(key);
      return raw === undefined ? undefined : decodeCached<T>(key, kind, raw);
    },
    async keys(...prefixSegments) {
      return [...(await scan(prefixSegments))].sort();
    },
    scan: (...prefixSegments) => scan(prefixSegments),
    async write(key, kind, data) {
      // The caller's object is not cached (it may keep changing it): the next read decodes what was stored.
      await call('set', key, () => adapter.set(key, encode(kind, data)));
      wrote(key);
    },
    async update<T>(key: string, kind: string, fn: (current: T | undefined) => T | undefined | typeof KEEP) {
      let result: T | undefined;
      let written: { raw: string; value: T } | undefined;
      const stored = await updateText(key, (raw) => {
        const current = raw === undefined ? undefined : decodeCached<T>(key, kind, raw);
        const next = fn(current);
        result = next === KEEP ? current : next;
        if (next === KEEP) return KEEP;
        if (next === undefined) return undefined;
        written = { raw: encode(kind, next), value: next };
        return written.raw;
      });
      // What this store just wrote is what the next read of the key finds (unless another writer changed it since).
      if (written !== undefined && stored === written.raw) remember(key, written.raw, kind, written.value);
      return result;
    },
    readText: readRaw,
    async writeText(key, value) {
      await call('set', key, () => adapter.set(key, value));
      wrote(key);
    },
    async remove(key) {
      decoded.delete(key);
      await call('delete', key, () => adapter.delete(key));
      wrote(key);
    },
    async keysFrom(fullPrefix) {
      return [...(await call('keys', fullPrefix, () => adapter.keys(fullPrefix)))].sort();
    },
    swap,
    updateText,
  };
}
