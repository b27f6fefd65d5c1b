// What the tests run against: a database of their own on the PostgreSQL server when one is reachable
// (DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres), else PGlite.
import { PGlite } from '@electric-sql/pglite';
import type { StorageAdapter } from '@modhost/core';
import pg from 'pg';
import { inject } from 'vitest';
import { type PostgresStorageOptions, postgresStorage } from '../src/index.js';

export const SERVER_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
/** A server that is certainly down (port 1), with a password that must never show up in a message. */
export const DOWN_URL = 'postgres://modhost:s3cr3t-pw@127.0.0.1:1/nothing';

type Extra = Omit<PostgresStorageOptions, 'connectionString' | 'pool' | 'client' | 'pglite'>;

/** A database created for one test file, dropped by `close()`. */
export interface ServerDatabase {
  readonly kind: 'postgres';
  /** Runs SQL for the test itself (on the admin pool). */
  sql(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  readonly label: string;
  readonly name: string;
  /** The URL of the test database. */
  readonly url: string;
  /** A pool on the test database for the test's own look-ups (the adapters never use it unless given). */
  readonly admin: pg.Pool;
  adapter(extra?: Extra): StorageAdapter;
  /** Ends every other connection to the test database (the adapters'), as an operator or a failover would. */
  terminateOthers(): Promise<number>;
  close(): Promise<void>;
}

/** A PGlite instance for one test file. */
export interface PgliteDatabase {
  readonly kind: 'pglite';
  /** Runs SQL for the test itself. */
  sql(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  readonly label: string;
  readonly db: PGlite;
  adapter(extra?: Extra): StorageAdapter;
  close(): Promise<void>;
}

export type TestBackend = ServerDatabase | PgliteDatabase;

/** Connects to the server, or says why not. */
export async function probeServer(url = SERVER_URL): Promise<{ ok: true } | { ok: false; reason: string }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message || String((error as { code?: unknown }).code) : String(error) };
  } finally {
    await client.end().catch(() => {});
  }
}

/** The URL with its password masked. */
export const withoutPassword = (url: string) => url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');

/** Creates `modhost_test_<random>` on the server. */
async function createServerDatabase(url = SERVER_URL): Promise<ServerDatabase> {
  const name = `modhost_test_${Math.random().toString(36).slice(2, 10)}`;
  const root = new pg.Client({ connectionString: url });
  await root.connect();
  try {
    await root.query(`CREATE DATABASE "${name}"`);
  } finally {
    await root.end();
  }
  const dbUrl = new URL(url);
  dbUrl.pathname = `/${name}`;
  const testUrl = dbUrl.toString();
  const admin = new pg.Pool({ connectionString: testUrl, max: 2 });
  admin.on('error', () => {});
  const adapters = new Set<StorageAdapter>();
  return {
    kind: 'postgres',
    label: `PostgreSQL at ${withoutPassword(url)}`,
    name,
    url: testUrl,
    admin,
    sql: async (text, params = []) => (await admin.query(text, params)).rows,
    adapter(extra = {}) {
      const adapter = postgresStorage({ connectionString: testUrl, onError: () => {}, ...extra });
      adapters.add(adapter);
      return adapter;
    },
    async terminateOthers() {
      const { rows } = await admin.query(
        'SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = $2) t',
        [name, 'client backend'],
      );
      return (rows[0] as { n: number }).n;
    },
    async close() {
      await Promise.allSettled([...adapters].map((a) => a.dispose?.()));
      await admin.end();
      const drop = new pg.Client({ connectionString: url });
      await drop.connect();
      try {
        await drop.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        await drop.query(`DROP DATABASE IF EXISTS "${name}"`);
      } finally {
        await drop.end();
      }
    },
  };
}

/** A fresh in-memory PGlite. */
export async function createPgliteDatabase(): Promise<PgliteDatabase> {
  const db = new PGlite();
  await db.waitReady;
  return {
    kind: 'pglite',
    label: 'PGlite',
    db,
    sql: async (text, params = []) => (await db.query<Record<string, unknown>>(text, params)).rows,
    adapter: (extra = {}) => postgresStorage({ pglite: db, onError: () => {}, ...extra }),
    close: () => db.close(),
  };
}

/** The server's test database when the run found a server (see global-setup.ts), else PGlite. */
export async function openTestBackend(): Promise<TestBackend> {
  const url = inject('postgresServer');
  return url ? createServerDatabase(url) : createPgliteDatabase();
}

/** The server's test database when the run found a server, else undefined (the cases that need one skip). */
export async function openServerDatabase(): Promise<ServerDatabase | undefined> {
  const url = inject('postgresServer');
  return url ? createServerDatabase(url) : undefined;
}

/** An adapter whose backend is down: a server on port 1, or a closed PGlite. */
export async function brokenAdapter(kind: TestBackend['kind']): Promise<StorageAdapter> {
  if (kind === 'postgres') return postgresStorage({ connectionString: DOWN_URL, onError: () => {} });
  const closed = new PGlite();
  await closed.close();
  return postgresStorage({ pglite: closed });
}
