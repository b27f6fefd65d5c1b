// What the PostgreSQL adapter's compareAndSet costs over the statement it wraps: the adapter (one statement that
// also bumps the version and queues a NOTIFY) against a bare `UPDATE … SET value = $next WHERE key = $1 AND value
// = $expected` on the same pool, in the same run. Against the server when one answers (DATABASE_URL, else
// postgres://postgres@127.0.0.1:5432/postgres; in a database made for the run and dropped after), else PGlite.
import { PGlite } from '@electric-sql/pglite';
import type { StorageAdapter } from '@modhost/core';
import { postgresStorage } from '@modhost/storage-postgres';
import pg from 'pg';
import { type Comparison, compare, report } from './lib.js';

const SERVER_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const PLAIN = 'CREATE TABLE bench_plain (key text COLLATE "C" PRIMARY KEY, value text NOT NULL)';
const UPDATE = 'UPDATE bench_plain SET value = $3 WHERE key = $1 AND value = $2';

interface Backend {
  readonly label: string;
  readonly version: string;
  adapter(): StorageAdapter;
  /** The bare UPDATE, on the same pool (or the same PGlite) as the adapter; true when a row matched. */
  update(key: string, expected: string, next: string): Promise<boolean>;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

async function server(): Promise<Backend | undefined> {
  const root = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 2_000 });
  root.on('error', () => {});
  try {
    await root.connect();
  } catch {
    return undefined;
  }
  const name = `modhost_bench_${Math.random().toString(36).slice(2, 10)}`;
  await root.query(`CREATE DATABASE "${name}"`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 8 });
  const version = String((await pool.query('SHOW server_version')).rows[0]?.server_version);
  const adapters: StorageAdapter[] = [];
  return {
    label: `PostgreSQL ${version} at ${url.host}`,
    version,
    adapter() {
      const adapter = postgresStorage({ pool, table: 'bench_storage' });
      adapters.push(adapter);
      return adapter;
    },
    // Named like the adapter's statements: both are prepared once per connection.
    update: async (key, expected, next) => ((await pool.query({ name: 'bench_plain_update', text: UPDATE, values: [key, expected, next] })).rowCount ?? 0) > 0,
    exec: async (sql) => void (await pool.query(sql)),
    async close() {
      for (const a of adapters) await a.dispose?.();
      await pool.end();
      await root.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => root.query(`DROP DATABASE IF EXISTS "${name}"`));
      await root.end();
    },
  };
}

async function pglite(): Promise<Backend> {
  const db = new PGlite();
  await db.waitReady;
  const adapters: StorageAdapter[] = [];
  return {
    label: 'PGlite (no PostgreSQL server answered)',
    version: String((await db.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version),
    adapter() {
      const adapter = postgresStorage({ pglite: db, table: 'bench_storage' });
      adapters.push(adapter);
      return adapter;
    },
    update: async (key, expected, next) => ((await db.query(UPDATE, [key, expected, next])).affectedRows ?? 0) > 0,
    exec: async (sql) => void (await db.exec(sql)),
    async close() {
      for (const a of adapters) await a.dispose?.();
      await db.close();
    },
  };
}

/** A counter advanced by compare-and-set: each call expects the value the previous one wrote. */
function counter(key: string, cas: (key: string, expected: string, next: string) => Promise<boolean>) {
  let n = 0;
  return async () => {
    if (!(await cas(key, String(n), String(n + 1)))) throw new Error(`lost the compare-and-set on ${key} at ${n}`);
    n++;
  };
}

export async function benchStoragePostgres(): Promise<{ rows: Comparison[]; facts: Record<string, unknown> }> {
  const backend = (await server()) ?? (await pglite());
  try {
    const storage = backend.adapter();
    await storage.get('warm-up'); // creates the table
    await backend.exec(PLAIN);
    const keys = Array.from({ length: 8 }, (_, i) => `bench:multi:${i}`);
    for (const k of [...keys, 'bench:solo', 'bench:watched']) {
      await storage.set(k, '0');
      await backend.exec(`INSERT INTO bench_plain VALUES ('${k}', '0')`);
    }
    const adapterCas = (k: string, e: string, n: string) => Promise.resolve(storage.compareAndSet(k, e, n));
    const ops = 1_000;
    const rows: Comparison[] = [];
    rows.push(
      await compare(
        'compareAndSet, one writer',
        ['postgresStorage.compareAndSet', counter('bench:solo', adapterCas)],
        ['bare UPDATE … WHERE value = $expected', counter('bench:solo', backend.update)],
        ops,
      ),
    );
    const eight = (cas: typeof adapterCas) => {
      const counters = keys.map((k) => counter(k, cas));
      return () => Promise.all(counters.map((c) => c()));
    };
    rows.push(
      await compare(
        'compareAndSet, 8 writers on 8 keys',
        ['postgresStorage.compareAndSet', eight(adapterCas)],
        ['bare UPDATE', eight(backend.update)],
        ops / 4,
      ),
    );
    // With a watcher listening (another adapter, as another process would): NOTIFY is delivered, not only queued.
    const watcher = backend.adapter();
    let heard = 0;
    await watcher.watch?.('bench:', () => heard++);
    rows.push(
      await compare(
        'compareAndSet, one writer, a watcher listening',
        ['postgresStorage.compareAndSet', counter('bench:watched', adapterCas)],
        ['bare UPDATE', counter('bench:watched', backend.update)],
        ops,
      ),
    );
    return {
      rows,
      facts: {
        backend: backend.label,
        'ratio target': '≤ 1.3× (the adapter against the bare UPDATE, one writer)',
        'changes the watcher heard': heard,
      },
    };
  } finally {
    await backend.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { rows, facts } = await benchStoragePostgres();
  report('storage-postgres', 'storage-postgres: compareAndSet against a bare UPDATE on the same pool', rows, facts);
}
