// The adapter's connections killed by pg_terminate_backend while writers race and a watcher listens: no update is
// lost and every change is reported, by a notification or by the catch-up after the reconnect. Reconnects wait
// on the injected clock (a fake one here), with backoff. Needs a PostgreSQL server.
import type { StorageAdapter, StorageChange } from '@modhost/core';
import { createFakeClock } from '@modhost/testkit';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openServerDatabase, type ServerDatabase } from '../test/backend.js';
import { eventually } from '../test/eventually.js';
import { type PgPoolLike, postgresStorage } from './index.js';

const db = await openServerDatabase();
afterAll(() => db?.close());

/** Calls that failed on a killed connection and were retried (or, for compareAndSet, read back). */
let failedCalls = 0;

/** Retries a read through connection failures (a terminated pooled connection fails the call that used it). */
async function read(adapter: StorageAdapter, key: string): Promise<string | null> {
  for (let i = 0; ; i++) {
    try {
      return (await adapter.get(key)) ?? null;
    } catch (error) {
      failedCalls++;
      if (i > 50) throw error;
    }
  }
}

/** Retries a write that is safe to repeat (set, delete) through connection failures. */
async function again(write: () => unknown): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await write();
      return;
    } catch (error) {
      failedCalls++;
      if (i > 50) throw error;
    }
  }
}

/**
 * One increment of a counter held as `<n>:<writer>:<attempt>`. When compareAndSet fails with a connection error
 * its outcome is unknown: the value is read back, and it is ours exactly when it committed.
 */
async function increment(adapter: StorageAdapter, key: string, writer: string): Promise<void> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const current = await read(adapter, key);
    const next = `${Number(current?.split(':')[0] ?? 0) + 1}:${writer}:${attempt}`;
    try {
      if (await adapter.compareAndSet(key, current, next)) return;
    } catch {
      failedCalls++;
      if ((await read(adapter, key)) === next) return;
    }
  }
  throw new Error(`${writer}: 1000 lost races on ${key}`);
}

describe.skipIf(!db)('pg_terminate_backend in the middle of a run', () => {
  const server = db as ServerDatabase;

  it('loses no compare-and-set increment and no notification', async () => {
    const clock = createFakeClock({ now: Date.now() });
    const lost: Error[] = [];
    const watcher = server.adapter({ table: 'chaos', clock, reconnect: { initialDelayMs: 50, maxDelayMs: 50 }, onError: (e) => lost.push(e) });
    const writers = [server.adapter({ table: 'chaos' }), server.adapter({ table: 'chaos' })];
    const changes: StorageChange[] = [];
    await watcher.watch?.('chaos:', (c) => changes.push(c));
    const reported = (type: string, key: string) => changes.some((c) => c.type === type && c.key === key);
    let canaries = 0;
    /** Steps the fake clock until the watcher is back: a fresh write is reported. */
    const reconnected = async () => {
      const canary = `chaos:canary:${canaries++}`;
      await eventually(
        async () => {
          await Promise.resolve()
            .then(() => (writers[0] as StorageAdapter).set(canary, 'x'))
            .catch(() => {});
          return reported('set', canary) || undefined;
        },
        'the watcher to reconnect',
        15_000,
        () => clock.advance(50),
      );
    };

    const counters = 8;
    const perWorker = 12;
    const workers = 16;
    let done = 0;
    const work = Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        for (let i = 0; i < perWorker; i++) {
          await increment(writers[w % 2] as StorageAdapter, `chaos:counter:${(w + i) % counters}`, `w${w}`);
          done++;
        }
      }),
    );
    const total = workers * perWorker;
    // First kill: a third of the way in. The watcher stays down (its clock does not move) while writes go on.
    await eventually(() => done >= total / 3 || undefined, 'a third of the increments');
    const killed = await server.terminateOthers();
    await eventually(() => lost.length > 0 || undefined, 'the watcher to notice');
    await eventually(() => done >= (2 * total) / 3 || undefined, 'two thirds of the increments');
    await reconnected();
    await work;

    // Second kill: then writes that happen only while the watcher is down, so only the catch-up can report them.
    expect(await server.terminateOthers()).toBeGreaterThan(0);
    await eventually(() => lost.length > 1 || undefined, 'the watcher to notice again');
    const writer = writers[1] as StorageAdapter;
    for (let i = 0; i < 5; i++) {
      await again(() => writer.set(`chaos:created:${i}`, String(i)));
      await again(() => writer.set(`chaos:removed:${i}`, 'soon gone'));
      await again(() => writer.delete(`chaos:removed:${i}`));
    }
    await reconnected();

    // No lost update: every counter holds exactly the increments made to it.
    for (let c = 0; c < counters; c++) {
      const expected = Array.from({ length: workers }, (_, w) => w).reduce(
        (n, w) => n + Array.from({ length: perWorker }, (_, i) => i).filter((i) => (w + i) % counters === c).length,
        0,
      );
      expect(Number((await read(watcher, `chaos:counter:${c}`))?.split(':')[0])).toBe(expected);
    }
    // No lost notification: what was written while the watcher was down was reported after it came back.
    for (let i = 0; i < 5; i++) {
      expect(reported('set', `chaos:created:${i}`), `chaos:created:${i}`).toBe(true);
      expect(reported('delete', `chaos:removed:${i}`), `chaos:removed:${i}`).toBe(true);
    }
    // Every key the watcher was told about last as set exists, and the other way round.
    const last = new Map(changes.map((c) => [c.key, c.type]));
    const present = new Set(await watcher.keys('chaos:'));
    for (const [key, type] of last) expect([key, type === 'set']).toEqual([key, present.has(key)]);
    for (const key of present) expect(last.get(key), key).toBe('set');
    expect(killed).toBeGreaterThan(0);
    expect(lost.every((e) => e.message.startsWith('storage-postgres: cannot reach PostgreSQL at '))).toBe(true);
    console.info(
      `storage-postgres (reconnect.test.ts): killed ${killed} connections mid-run; ${failedCalls} calls failed on them and were retried (compare-and-set: read back)`,
    );
    await Promise.all([watcher.dispose?.(), ...writers.map((w) => w.dispose?.())]);
  });

  it('reconnects after initialDelayMs, doubling up to maxDelayMs while connecting fails, then catches up', async () => {
    const clock = createFakeClock({ now: Date.now() });
    const real = new pg.Pool({ connectionString: server.url, max: 3 });
    real.on('error', () => {});
    let refuse = 0;
    let attempts = 0;
    const pool: PgPoolLike = {
      query: (q) => real.query(q),
      options: real.options,
      connect: () => {
        attempts++;
        return refuse-- > 0 ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })) : real.connect();
      },
    };
    const errors: Error[] = [];
    const watcher = postgresStorage({ pool, table: 'backoff', clock, reconnect: { initialDelayMs: 100, maxDelayMs: 300 }, onError: (e) => errors.push(e) });
    const writer = server.adapter({ table: 'backoff' });
    const changes: StorageChange[] = [];
    await watcher.watch?.('', (c) => changes.push(c));
    expect(attempts).toBe(1);

    refuse = 3;
    await server.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'", [server.name]);
    await eventually(() => errors.length > 0 || undefined, 'the lost connection to be noticed');
    await writer.set('while-down', 'v');
    const step = async (ms: number) => {
      await clock.advanceAsync(ms);
      await new Promise((r) => setImmediate(r));
    };
    // Waits 100, then 200, then 300 (the cap), then 300: three refused, the fourth connects.
    for (const [ms, expected] of [
      [99, 1],
      [1, 2],
      [199, 2],
      [1, 3],
      [299, 3],
      [1, 4],
      [299, 4],
      [1, 5],
    ] as const) {
      await step(ms);
      expect(attempts, `after ${ms} more ms`).toBe(expected);
    }
    await eventually(() => changes.some((c) => c.key === 'while-down') || undefined, 'the catch-up to report the write made while down');
    const where = new URL(server.url);
    expect(errors.map((e) => e.message.replace(/ \(.*$/, ''))).toEqual(
      Array(4).fill(`storage-postgres: cannot reach PostgreSQL at ${where.hostname}:${where.port || 5432}/${server.name}`),
    );
    expect(clock.pendingTimers()).toBe(0);
    await watcher.dispose?.();
    await writer.dispose?.();
    await real.end();
  });
});
