import type { Clock } from '@modhost/core';

/** A query as `pg` takes it: text, parameters, and a name to prepare it once per connection. */
export interface PgQuery {
  /** The SQL text, with `$1`, `$2`… placeholders. */
  readonly text: string;
  /** The parameters. */
  readonly values?: unknown[];
  /** A prepared-statement name (`pg` prepares it once per connection). */
  readonly name?: string;
}

/** The part of a `pg` client (a `pg.Client` or a client checked out of a `pg.Pool`) that the adapter uses. */
export interface PgClientLike {
  /** Runs one query. */
  query(query: PgQuery): Promise<{ rows: unknown[] }>;
  /** Subscribes to `notification`, `error` and `end`. */
  addListener(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Unsubscribes. */
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Where it connects to (a `pg.Client` has these), for error messages. */
  readonly host?: string | undefined;
  /** The port it connects to. */
  readonly port?: number | undefined;
  /** The database it connects to. */
  readonly database?: string | undefined;
}

/** A client checked out of a `pg.Pool`. */
export interface PgPoolClientLike extends PgClientLike {
  /** Returns it to the pool; `true` or an error destroys it instead. */
  release(destroy?: Error | boolean): void;
}

/** The part of a `pg.Pool` that the adapter uses. */
export interface PgPoolLike {
  /** Runs one query on a pooled connection. */
  query(query: PgQuery): Promise<{ rows: unknown[] }>;
  /** Checks a connection out (the adapter holds one for LISTEN while something watches). */
  connect(): Promise<PgPoolClientLike>;
  /** The pool's settings, for error messages (never the password). */
  readonly options?:
    | {
        readonly host?: string | undefined;
        readonly port?: number | undefined;
        readonly database?: string | undefined;
        readonly connectionString?: string | undefined;
      }
    | undefined;
}

/** The part of a PGlite instance (`new PGlite()` from `@electric-sql/pglite`) that the adapter uses. */
export interface PGliteLike {
  /** Runs one query with parameters. */
  query(query: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
  /** Runs SQL without parameters (several statements allowed). */
  exec(query: string): Promise<unknown>;
  /** LISTENs on a channel; resolves to the function that stops. */
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

/** Options for {@link postgresStorage}: exactly one of `connectionString`, `pool`, `client` or `pglite`. */
export interface PostgresStorageOptions {
  /** A PostgreSQL URL; the adapter opens its own pool and ends it at `dispose()`. */
  connectionString?: string;
  /** A `pg.Pool` you own: the adapter uses it and leaves it open at `dispose()`. */
  pool?: PgPoolLike;
  /**
   * A connected `pg.Client` you own: the adapter queries through it and LISTENs on it, and leaves it open at
   * `dispose()`. A client cannot be reconnected: for a `watch` that survives a lost connection, pass a pool or a
   * connection string.
   */
  client?: PgClientLike;
  /** A PGlite instance (in-process PostgreSQL): the adapter uses it and leaves it open at `dispose()`. */
  pglite?: PGliteLike;
  /** The schema of the table (created if missing). Default `public`. */
  schema?: string;
  /** The table (created if missing). Default `modhost_storage`. */
  table?: string;
  /** The LISTEN/NOTIFY channel. Default `<schema>_<table>`. */
  channel?: string;
  /** Pool size when the adapter opens its own pool (`connectionString`). Default 10. */
  maxConnections?: number;
  /** Where reconnect delays and tombstone pruning get time from. Default the system clock. */
  clock?: Clock;
  /** Reconnect backoff of the LISTEN connection: doubles from `initialDelayMs` up to `maxDelayMs`. Default 100 ms to 10 s. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /**
   * How long a deleted key's tombstone is kept, so that a watcher that reconnects can still report the delete.
   * Default 24 hours; pruning runs after a delete, at most once per `min(retention, 1 hour)`.
   */
  tombstoneRetentionMs?: number;
  /**
   * Told about failures that no call can reject with: the LISTEN connection lost (and each failed reconnect), a
   * watch callback that threw, a failed tombstone pruning. Default `console.warn`.
   */
  onError?: (error: Error) => void;
}
