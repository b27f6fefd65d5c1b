import type { Statement } from './statements.js';
import type { Target } from './target.js';

/** A result row. */
export type Row = Readonly<Record<string, unknown>>;

/** What the adapter needs of a connection to PostgreSQL: `pg` and PGlite each provide one. */
export interface Driver {
  /** The adapter's name (`postgres` or `pglite`). */
  readonly name: string;
  readonly target: Target;
  /** Whether a lost LISTEN connection can be opened again (not for a single `pg.Client` that was passed in). */
  readonly reconnectable: boolean;
  query(statement: Statement, values: readonly unknown[]): Promise<readonly Row[]>;
  /** SQL without parameters (the setup block). */
  exec(sql: string): Promise<void>;
  /**
   * LISTENs on the channel. Resolves once LISTEN is active, to the function that stops listening and releases
   * the connection. `onLost` is called at most once, after that, when the connection fails.
   */
  listen(onPayload: (payload: string) => void, onLost: (error: Error) => void): Promise<() => Promise<void>>;
  /** Releases what the driver owns (an owned pool is ended). */
  close(): Promise<void>;
}
