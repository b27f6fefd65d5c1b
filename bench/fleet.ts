// bench/fleet: how fast a fleet converges. Run: npm run bench -- fleet
// N host instances (3, then 6), each with its own connection pool to one PostgreSQL database, as separate app
// processes would have. A tenant is enabled through the first; the time until every other instance serves it is
// measured, over 200 changes. The baseline, in the same run: the adapter's own notification latency (a write on one
// adapter until another adapter's watch hears it), the floor under any convergence that rides on it.
import { PGlite } from '@electric-sql/pglite';
import { defineModule, type StorageAdapter } from '@modhost/core';
import { postgresStorage } from '@modhost/storage-postgres';
import { createHost, type Host } from 'modhost';
import pg from 'pg';

const SERVER_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const CHANGES = Number(process.env.FLEET_CHANGES ?? 200);
const quiet = () => ({ debug() {}, info() {}, warn() {}, error() {} });
const tasks = defineModule({ name: 'tasks', version: '1.0.0', activate: () => ({}) });
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] as number;
const yieldOnce = () => new Promise((r) => setImmediate(r));

/** One adapter per instance, over its own pool (a server) or one shared PGlite (no server: one process anyway). */
async function backend(): Promise<{ label: string; adapter(): StorageAdapter; close(): Promise<void> }> {
  const root = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 2_000 });
  root.on('error', () => {});
  const adapters: StorageAdapter[] = [];
  try {
    await root.connect();
  } catch {
    const db = new PGlite();
    return {
      label: 'PGlite (no PostgreSQL server reachable; every instance in this process)',
      adapter() {
        const a = postgresStorage({ pglite: db });
        adapters.push(a);
        return a;
      },
      async close() {
        for (const a of adapters) await a.dispose?.();
        await db.close();
      },
    };
  }
  const name = `modhost_bench_fleet_${Math.random().toString(36).slice(2, 10)}`;
  await root.query(`CREATE DATABASE "${name}"`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const pools: pg.Pool[] = [];
  return {
    label: `PostgreSQL at ${url.host}, a pool per instance`,
    adapter() {
      const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
      // The database is dropped at the end: connections it ends are expected.
      pool.on('error', () => {});
      pools.push(pool);
      const a = postgresStorage({ pool });
      adapters.push(a);
      return a;
    },
    async close() {
      for (const a of adapters) await a.dispose?.();
      for (const p of pools) await p.end();
      await root.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
      await root.end();
    },
  };
}

/** The adapter's notification latency: a write on one adapter until another one's watch reports it. */
async function notifyLatency(a: StorageAdapter, b: StorageAdapter, samples: number): Promise<number[]> {
  const heard = new Map<string, () => void>();
  const off = await b.watch?.('bench:notify:', (c) => heard.get(c.key)?.());
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const key = `bench:notify:${i}`;
    const got = new Promise<void>((r) => heard.set(key, r));
    const t = performance.now();
    await a.set(key, String(i));
    await got;
    out.push(performance.now() - t);
  }
  await off?.();
  return out;
}

async function fleetOf(n: number, make: () => StorageAdapter) {
  const hosts: Host[] = [];
  // Long leases: what is measured is the watch path, not the periodic re-read.
  for (let i = 0; i < n; i++)
    hosts.push(createHost({ version: '1.0.0', storage: make(), modules: [tasks], instanceId: `bench-${n}-${i}`, leaseMs: 600_000, logger: quiet }));
  for (const h of hosts) await h.start();
  const [first, ...others] = hosts as [Host, ...Host[]];
  const latencies: number[] = [];
  for (let k = 0; k < CHANGES; k++) {
    const tenant = `t-${n}-${k}`;
    await first.enable('tasks', { tenant });
    const committed = performance.now();
    const waiting = new Set(others);
    while (waiting.size > 0) {
      for (const h of [...waiting]) {
        if (!h.isEnabled('tasks', tenant)) continue;
        waiting.delete(h);
        latencies.push(performance.now() - committed);
      }
      if (waiting.size > 0) await yieldOnce();
    }
  }
  for (const h of hosts) await h.stop();
  return latencies;
}

export async function benchFleet() {
  const b = await backend();
  try {
    const raw = await notifyLatency(b.adapter(), b.adapter(), CHANGES);
    const facts: Record<string, unknown> = { backend: b.label, changes: CHANGES };
    facts['baseline: adapter notification latency p50 / p99 (ms)'] = `${percentile(raw, 0.5).toFixed(2)} / ${percentile(raw, 0.99).toFixed(2)}`;
    for (const n of [3, 6]) {
      const l = await fleetOf(n, () => b.adapter());
      facts[`${n} instances: change applied on the others, p50 / p99 (ms)`] = `${percentile(l, 0.5).toFixed(2)} / ${percentile(l, 0.99).toFixed(2)}`;
      facts[`${n} instances: p99 over the notification p99`] = `${(percentile(l, 0.99) / percentile(raw, 0.99)).toFixed(2)}×`;
    }
    return { rows: [], facts };
  } finally {
    await b.close();
  }
}
