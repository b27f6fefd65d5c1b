import pg from 'pg';
import type { Driver, Row } from './driver.js';
import type { PgClientLike, PgPoolLike } from './options.js';
import type { Statements } from './statements.js';
import { describeConnectionString, describeSettings, type Target } from './target.js';

/** Where the `pg` driver gets connections: a pool (its own or yours) or one client of yours. */
export type PgSource =
  | { readonly connectionString: string; readonly maxConnections: number; readonly onPoolError: (error: Error) => void }
  | { readonly pool: PgPoolLike }
  | { readonly client: PgClientLike };

interface Notification {
  readonly channel: string;
  readonly payload?: string | undefined;
}

const ignore = () => {};
type Listener = (...args: unknown[]) => void;

/** LISTENs on `client` until stopped or lost; `release` is called once, when either happens. */
async function listenOn(
  client: PgClientLike,
  statements: Statements,
  onPayload: (payload: string) => void,
  onLost: (error: Error) => void,
  release: (error?: Error) => Promise<void>,
  ours: boolean,
): Promise<() => Promise<void>> {
  let done = false;
  let released: Promise<void> = Promise.resolve();
  const onNotification: Listener = (...args) => {
    const message = args[0] as Notification;
    if (!done && message.channel === statements.channel) onPayload(message.payload ?? '');
  };
  const finish = (error: Error | undefined) => {
    if (done) return false;
    done = true;
    client.removeListener('notification', onNotification);
    client.removeListener('error', onError);
    client.removeListener('end', onEnd);
    // A connection of ours (being destroyed) may still report its end: an 'error' event with no listener would
    // crash the process. Your client keeps the listeners you gave it, and no more.
    if (ours) client.addListener('error', ignore);
    released = release(error).catch(ignore);
    return true;
  };
  const onError: Listener = (...args) => {
    const error = args[0] instanceof Error ? args[0] : new Error(String(args[0]));
    if (finish(error)) onLost(error);
  };
  const onEnd = () => {
    const error = new Error('the LISTEN connection ended');
    if (finish(error)) onLost(error);
  };
  client.addListener('notification', onNotification);
  client.addListener('error', onError);
  client.addListener('end', onEnd);
  try {
    await client.query({ text: statements.listen });
  } catch (error) {
    finish(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  if (done) throw new Error('the LISTEN connection was lost while it started');
  return async () => {
    finish(undefined);
    await released;
  };
}

/** The driver over `pg`: a pool for the statements, one dedicated connection for LISTEN while anything watches. */
export function createPgDriver(source: PgSource, statements: Statements): Driver {
  let target: Target;
  let pool: PgPoolLike | undefined;
  let owned: pg.Pool | undefined;
  let client: PgClientLike | undefined;
  if ('connectionString' in source) {
    target = describeConnectionString(source.connectionString);
    owned = new pg.Pool({ connectionString: source.connectionString, max: source.maxConnections, keepAlive: true, connectionTimeoutMillis: 10_000 });
    // An idle connection that the server closes is reported here; the pool replaces it.
    owned.on('error', (error) => source.onPoolError(error));
    pool = owned;
  } else if ('pool' in source) {
    target = describeSettings(source.pool.options);
    pool = source.pool;
  } else {
    target = describeSettings({ host: source.client.host, port: source.client.port, database: source.client.database });
    client = source.client;
  }
  const queryable = (pool ?? client) as PgPoolLike | PgClientLike;
  return {
    name: 'postgres',
    target,
    reconnectable: pool !== undefined,
    async query(statement, values) {
      const result = await queryable.query({ text: statement.text, values: [...values], name: statement.name });
      return result.rows as Row[];
    },
    async exec(sql) {
      await queryable.query({ text: sql });
    },
    async listen(onPayload, onLost) {
      if (client) {
        const c = client;
        return listenOn(
          c,
          statements,
          onPayload,
          onLost,
          async (error) => {
            // Your client stays open; only this LISTEN goes (when the connection still works).
            if (!error) await c.query({ text: statements.unlisten });
          },
          false,
        );
      }
      const c = await (pool as PgPoolLike).connect();
      // A connection that has LISTENed is never handed back to the pool: it is destroyed.
      return listenOn(c, statements, onPayload, onLost, async (error) => c.release(error ?? true), true);
    },
    async close() {
      await owned?.end();
    },
  };
}
