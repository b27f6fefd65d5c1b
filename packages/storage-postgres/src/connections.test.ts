// Whose connections are whose: an owned pool is ended, your pool or client stays open, and the LISTEN
// connection is released either way. Needs a PostgreSQL server (PGlite has no connections to count).
import type { StorageChange } from '@modhost/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openServerDatabase, type ServerDatabase } from '../test/backend.js';
import { eventually } from '../test/eventually.js';
import { postgresStorage } from './index.js';

const db = await openServerDatabase();
afterAll(() => db?.close());

/** Backends of the test database other than the admin pool's, by application_name. */
const backends = async (server: ServerDatabase, app: string) =>
  (await server.sql('SELECT query, state FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [server.name, app])) as {
    query: string;
    state: string;
  }[];

const withApp = (server: ServerDatabase, app: string) => {
  const url = new URL(server.url);
  url.searchParams.set('application_name', app);
  return url.toString();
};

describe.skipIf(!db)('connections', () => {
  const server = db as ServerDatabase;

  it('an adapter that opened its own pool ends it at dispose(), LISTEN connection included', async () => {
    const storage = postgresStorage({ connectionString: withApp(server, 'owned') });
    await storage.watch?.('', () => {});
    await storage.set('k', 'v');
    expect((await backends(server, 'owned')).some((b) => b.query.startsWith('LISTEN'))).toBe(true);
    await storage.dispose?.();
    await eventually(async () => (await backends(server, 'owned')).length === 0 || undefined, 'no connection left');
  });

  it('your pool stays open at dispose(); the LISTEN connection taken from it is released (destroyed, never pooled again)', async () => {
    const pool = new pg.Pool({ connectionString: withApp(server, 'yours'), max: 4 });
    const storage = postgresStorage({ pool });
    const unwatch = await storage.watch?.('', () => {});
    await storage.set('k', 'v');
    expect(pool.totalCount).toBeGreaterThanOrEqual(2);
    await unwatch?.(); // the last watcher gone: the LISTEN connection goes too
    await eventually(async () => !(await backends(server, 'yours')).some((b) => b.query.startsWith('LISTEN')) || undefined, 'the LISTEN connection to go');
    await storage.watch?.('', () => {});
    await storage.dispose?.();
    await eventually(async () => !(await backends(server, 'yours')).some((b) => b.query.startsWith('LISTEN')) || undefined, 'the LISTEN connection to go');
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    const listening = await pool.query('SELECT count(*)::int AS n FROM pg_listening_channels()');
    expect(listening.rows).toEqual([{ n: 0 }]);
    await pool.end();
  });

  it('your client stays open at dispose() and stops listening; watch works through it meanwhile', async () => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    const storage = postgresStorage({ client, table: 'through_client' });
    const peer = postgresStorage({ connectionString: server.url, table: 'through_client' });
    const changes: StorageChange[] = [];
    await storage.watch?.('c:', (c) => changes.push(c));
    await peer.set('c:1', 'from the peer');
    await eventually(() => changes.some((c) => c.key === 'c:1') || undefined, "the peer's write");
    expect(await storage.get('c:1')).toBe('from the peer');
    expect(await storage.compareAndSet('c:1', 'from the peer', 'mine')).toBe(true);
    await storage.dispose?.();
    expect((await client.query('SELECT count(*)::int AS n FROM pg_listening_channels()')).rows).toEqual([{ n: 0 }]);
    await peer.dispose?.();
    await client.end();
  });
});
