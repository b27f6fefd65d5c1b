// Three host processes on one PostgreSQL database: what one changes, all apply; a kill -9 costs nothing; after all
// restart, the desired state serves. Needs a PostgreSQL server (DATABASE_URL, or 127.0.0.1:5432): PGlite lives in
// one process and cannot be shared by three, so without a server this file says so and skips.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const database = `modhost_fleet_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const url = (() => {
  const u = new URL(server);
  u.pathname = `/${database}`;
  return u.toString();
})();
const script = fileURLToPath(new URL('../test/fleet-instance.ts', import.meta.url));
const tsconfig = fileURLToPath(new URL('../../../tsconfig.json', import.meta.url));

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T | undefined> {
  const c = new pg.Client({ connectionString: server, connectionTimeoutMillis: 2_000 });
  try {
    await c.connect();
    return await fn(c);
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => {});
  }
}
const reachable = (await admin(async (c) => (await c.query('select 1')).rowCount === 1)) === true;
if (!reachable) console.info(`fleet test: no PostgreSQL server at ${new URL(server).host}; three processes cannot share PGlite, so it is skipped`);

interface Instance {
  readonly id: string;
  readonly child: ChildProcess;
  readonly port: number;
}
const running: Instance[] = [];

function start(id: string): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, INSTANCE_ID: id, DATABASE_URL: url, TSX_TSCONFIG_PATH: tsconfig },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${id} did not start: ${err}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      const m = /port (\d+)/.exec(d.toString());
      if (!m) return;
      clearTimeout(timer);
      const inst = { id, child, port: Number(m[1]) };
      running.push(inst);
      resolve(inst);
    });
    child.once('exit', (code) => reject(new Error(`${id} exited with ${code}: ${err}`)));
  });
}
async function call(i: Instance, path: string, body: unknown = {}) {
  const res = await fetch(`http://127.0.0.1:${i.port}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return (await res.json()) as Record<string, unknown>;
}
/** Waits (bounded, real time: these are processes) until `check` holds for every instance. */
async function converge(instances: Instance[], check: (state: Record<string, unknown>) => boolean, body: unknown = {}) {
  const giveUp = Date.now() + 20_000;
  for (;;) {
    const states = await Promise.all(instances.map((i) => call(i, '/state', body)));
    if (states.every(check)) return states;
    if (Date.now() > giveUp) throw new Error(`the fleet did not converge: ${JSON.stringify(states)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const stopAll = async () => {
  for (const i of running.splice(0)) {
    const exited = new Promise((r) => i.child.once('exit', r));
    i.child.kill('SIGTERM');
    await exited;
  }
};

describe.skipIf(!reachable)('a fleet of three host processes on one PostgreSQL database', () => {
  beforeAll(async () => {
    await admin((c) => c.query(`create database ${database}`));
  });
  afterAll(async () => {
    for (const i of running.splice(0)) i.child.kill('SIGKILL');
    await admin(async (c) => {
      await c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [database]);
      await c.query(`drop database if exists ${database}`);
    });
  });

  it('applies what one changes on all, loses no concurrent change, survives a kill -9, and serves the desired state after a restart', async () => {
    const [a, b, c] = [await start('web-a'), await start('web-b'), await start('web-c')];
    const all = [a, b, c];
    // The first one resolved the newest version and recorded it as desired; the others started on it.
    await converge(all, (s) => s.version === '1.2.0');

    await call(a, '/enable', { tenant: 'acme' });
    await converge(all, (s) => s.acme === true);
    await call(b, '/disable', { tenant: 'acme' });
    await converge(all, (s) => s.acme === false);

    // Concurrent changes from all three: none lost.
    await Promise.all(all.flatMap((i, n) => [0, 1, 2].map((k) => call(i, '/enable', { tenant: `t${n}${k}` }))));
    const tenants = all.flatMap((_, n) => [0, 1, 2].map((k) => `t${n}${k}`));
    await converge(all, (s) => (s.tenants as string[]).length === tenants.length, { tenants });

    // Config changed through one reaches the running module on all; an uninstall through another stops it on all.
    await converge(all, (s) => s.greeting === 'hello');
    await call(c, '/configure', { greeting: 'bonjour' });
    await converge(all, (s) => s.greeting === 'bonjour');
    await call(b, '/uninstall');
    await converge(all, (s) => s.greeting === null);

    // A downgrade on one moves the desired version: all follow. Then an upgrade rolled back: all go back.
    await call(c, '/upgrade', { version: '1.1.0' });
    await converge(all, (s) => s.version === '1.1.0');
    await call(a, '/upgrade', { version: '1.2.0' });
    await converge(all, (s) => s.version === '1.2.0');
    expect(await call(a, '/rollback')).toMatchObject({ outcome: 'rolled-back', to: '1.1.0' });
    await converge(all, (s) => s.version === '1.1.0');

    // kill -9 in the middle of an upgrade (b is upgrading when it dies): the others serve on; b restarts and converges.
    const upgrading = call(b, '/upgrade', { version: '1.0.0' }).catch(() => undefined);
    b.child.kill('SIGKILL');
    running.splice(running.indexOf(b), 1);
    await upgrading;
    const others = [a, c];
    await converge(others, (s) => typeof s.version === 'string');
    const b2 = await start('web-b');
    const desired = (await call(a, '/state')).version;
    await converge([a, b2, c], (s) => s.version === desired);

    // All three restart: the desired state serves, the rejected 1.2.0 does not.
    await stopAll();
    const again = [await start('web-a'), await start('web-b'), await start('web-c')];
    await converge(again, (s) => s.version === desired && s.version !== '1.2.0');
    const fleet = (await call(again[0] as Instance, '/fleet')) as unknown as { id: string; alive: boolean }[];
    expect(fleet.filter((i) => i.alive).map((i) => i.id)).toEqual(['web-a', 'web-b', 'web-c']);
  }, 120_000);
});
