import { ModhostError, type StorageAdapter, systemClock } from '@modhost/core';
import { createChangeFeed } from './change-feed.js';
import type { Driver, Row } from './driver.js';
import type { PostgresStorageOptions } from './options.js';
import { createPgDriver, type PgSource } from './pg-driver.js';
import { createPgliteDriver } from './pglite-driver.js';
import { createStatements, forKey, identifier, likePrefix, type Statement } from './statements.js';
import { isConnectionError, refused, unreachable } from './target.js';

const SOURCES = ['connectionString', 'pool', 'client', 'pglite'] as const;
const HOUR = 3_600_000;

function number(value: number | undefined, fallback: number, option: string, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) {
    throw new ModhostError('INVALID_ARGUMENT', `postgresStorage: ${option} must be a number >= ${min}, got ${String(value)}.`, {
      details: { argument: option },
    });
  }
  return value;
}

/**
 * The storage port over PostgreSQL, through `pg` (a connection string, your pool or your client) or over a
 * PGlite instance. One table (`public.modhost_storage` unless `schema`/`table` say otherwise) is created on first
 * use if missing. `compareAndSet` is one statement; `watch` uses LISTEN/NOTIFY, so it reports what other
 * processes write too, and after a lost connection it reconnects and reports what changed meanwhile.
 *
 * Nothing connects until the first call. `dispose()` releases every connection the adapter opened: its own pool
 * is ended, your pool or client is left open.
 *
 * @example
 * ```ts
 * import { postgresStorage } from '@modhost/storage-postgres'
 * const storage = postgresStorage({ connectionString: process.env.DATABASE_URL })
 * // or: postgresStorage({ pool }), postgresStorage({ pglite: new PGlite() })
 * ```
 */
export function postgresStorage(options: PostgresStorageOptions): StorageAdapter {
  const given = SOURCES.filter((k) => options[k] !== undefined);
  if (given.length !== 1) {
    throw new ModhostError(
      'INVALID_ARGUMENT',
      `postgresStorage: pass exactly one of connectionString, pool, client or pglite (got ${given.length === 0 ? 'none' : given.join(' and ')}).`,
      { details: { argument: 'options' } },
    );
  }
  const schema = identifier(options.schema ?? 'public', 'schema');
  const table = identifier(options.table ?? 'modhost_storage', 'table');
  const channel = identifier(options.channel ?? `${schema}_${table}`.slice(0, 63), 'channel');
  const retention = number(options.tombstoneRetentionMs, 24 * HOUR, 'tombstoneRetentionMs', 0);
  const initialDelayMs = number(options.reconnect?.initialDelayMs, 100, 'reconnect.initialDelayMs', 1);
  const maxDelayMs = number(options.reconnect?.maxDelayMs, 10_000, 'reconnect.maxDelayMs', initialDelayMs);
  const clock = options.clock ?? systemClock;
  const onError = options.onError ?? ((error: Error) => console.warn(`[modhost] ${error.message}`));
  const statements = createStatements(schema, table, channel);

  let driver: Driver;
  if (options.pglite) {
    driver = createPgliteDriver(options.pglite, statements);
  } else {
    const source: PgSource = options.connectionString
      ? {
          connectionString: options.connectionString,
          maxConnections: number(options.maxConnections, 10, 'maxConnections', 1),
          onPoolError: (error) => onError(unreachable(driver.target, 'an idle pooled connection', error)),
        }
      : options.pool
        ? { pool: options.pool }
        : { client: options.client as NonNullable<typeof options.client> };
    driver = createPgDriver(source, statements);
  }
  const { target } = driver;

  const failure = (operation: string, error: unknown) =>
    error instanceof ModhostError
      ? error
      : isConnectionError(error)
        ? unreachable(target, operation, error)
        : refused(target, statements.table, operation, error);

  let ready: Promise<void> | undefined;
  let isReady = false;
  let disposed = false;
  const prepare = (): Promise<void> =>
    (ready ??= driver.exec(statements.setup).then(
      () => {
        isReady = true;
      },
      (error: unknown) => {
        // The server may come up later: the next call tries again.
        ready = undefined;
        throw failure('creating the table', error);
      },
    ));

  const run = async (operation: string, statement: Statement, values: readonly unknown[]): Promise<readonly Row[]> => {
    if (disposed) {
      throw new ModhostError('STORAGE_ADAPTER_FAILED', `storage-postgres: ${operation} after dispose(); create a new adapter.`, {
        details: { adapter: driver.name, operation },
      });
    }
    if (!isReady) await prepare();
    try {
      return await driver.query(statement, values);
    } catch (error) {
      throw failure(operation, error);
    }
  };

  // Tombstones (deleted keys, kept so a reconnecting watcher can report the delete) are pruned after a delete,
  // at most once per min(retention, 1 hour); a delete during a pruning asks for one more after it.
  let lastPrune = Number.NEGATIVE_INFINITY;
  let pruning: Promise<void> | undefined;
  let again = false;
  const deleted = () => {
    if (pruning) {
      again = true;
      return;
    }
    const now = clock.now();
    if (disposed || now - lastPrune < Math.min(retention, HOUR)) return;
    lastPrune = now;
    again = false;
    pruning = run('pruning tombstones', statements.prune, [retention])
      .then(
        () => {},
        (error: unknown) => onError(error instanceof Error ? error : new Error(String(error))),
      )
      .then(() => {
        pruning = undefined;
        if (again) deleted();
      });
  };

  const feed = createChangeFeed({
    driver,
    statements,
    query: run,
    clock,
    initialDelayMs,
    maxDelayMs,
    onError,
    lost: (cause) => (cause instanceof ModhostError ? cause : unreachable(target, 'watch (LISTEN)', cause)),
  });

  return {
    name: driver.name,
    async get(key) {
      const [row] = await run('get', statements.get, [key]);
      return typeof row?.value === 'string' ? row.value : undefined;
    },
    async set(key, value) {
      await run('set', forKey(statements.set, key), [key, value]);
    },
    async delete(key) {
      if ((await run('delete', forKey(statements.remove, key), [key])).length > 0) deleted();
    },
    async keys(prefix) {
      return (await run('keys', statements.keys, [likePrefix(prefix)])).map((row) => String(row.key));
    },
    async compareAndSet(key, expected, next) {
      if (expected === null && next === null) return (await run('compareAndSet', statements.present, [key])).length === 0;
      const rows =
        expected === null
          ? await run('compareAndSet', forKey(statements.insertIfAbsent, key), [key, next])
          : next === null
            ? await run('compareAndSet', forKey(statements.removeIf, key), [key, expected])
            : await run('compareAndSet', forKey(statements.replace, key), [key, expected, next]);
      if (next === null && rows.length > 0) deleted();
      return rows.length > 0;
    },
    async watch(prefix, callback) {
      if (disposed)
        throw new ModhostError('STORAGE_ADAPTER_FAILED', 'storage-postgres: watch after dispose(); create a new adapter.', {
          details: { adapter: driver.name },
        });
      if (!isReady) await prepare();
      return feed.subscribe(prefix, callback);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await feed.close();
      while (pruning) await pruning;
      await driver.close();
    },
  };
}
