// What the conformance suite does not cover: options, errors that name the connection, the table and its
// tombstones, NOTIFY payloads (never the value; long keys), and the integration with core.
import { createRegistry, defineModule, isModhostError, type StorageChange } from '@modhost/core';
import { createStore } from '@modhost/core/internal';
import { afterAll, describe, expect, it } from 'vitest';
import { DOWN_URL, openTestBackend } from '../test/backend.js';
import { eventually } from '../test/eventually.js';
import { postgresStorage } from './index.js';

const backend = await openTestBackend();
afterAll(() => backend.close());

describe('options', () => {
  it('takes exactly one connection source', () => {
    expect(() => postgresStorage({})).toThrow(/exactly one of connectionString, pool, client or pglite \(got none\)/);
    expect(() => postgresStorage({ connectionString: DOWN_URL, pglite: {} as never })).toThrow(/got connectionString and pglite/);
    try {
      postgresStorage({});
    } catch (error) {
      expect(isModhostError(error, 'INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('refuses a schema, table or channel that is not a plain identifier', () => {
    expect(() => postgresStorage({ connectionString: DOWN_URL, table: 'x; DROP TABLE y' })).toThrow(/table "x; DROP TABLE y" is not a plain identifier/);
    expect(() => postgresStorage({ connectionString: DOWN_URL, schema: 'a'.repeat(64) })).toThrow(/schema/);
    expect(() => postgresStorage({ connectionString: DOWN_URL, channel: 'two words' })).toThrow(/channel/);
    expect(() => postgresStorage({ connectionString: DOWN_URL, reconnect: { initialDelayMs: 0 } })).toThrow(/reconnect.initialDelayMs must be a number >= 1/);
  });
});

describe('a server that is down', () => {
  it('constructs without connecting, then rejects each call naming host:port/database, never the password', async () => {
    const storage = postgresStorage({ connectionString: DOWN_URL, onError: () => {} });
    const error = await Promise.resolve()
      .then(() => storage.get('k'))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isModhostError(error, 'STORAGE_ADAPTER_FAILED')).toBe(true);
    expect(String((error as Error).message)).toMatch(
      /^storage-postgres: cannot reach PostgreSQL at 127\.0\.0\.1:1\/nothing \(creating the table\): .*ECONNREFUSED/,
    );
    await expect(storage.watch?.('k', () => {})).rejects.toThrow(/127\.0\.0\.1:1\/nothing/);
    for (const e of [error, await Promise.resolve(storage.keys('')).catch((x: unknown) => x)]) {
      expect(JSON.stringify({ message: (e as Error).message, stack: (e as Error).stack })).not.toContain('s3cr3t-pw');
    }
    await storage.dispose?.();
  });

  it('is wrapped by core as STORAGE_ADAPTER_FAILED with the cause', async () => {
    const storage = postgresStorage({ connectionString: DOWN_URL });
    const store = createStore(storage, { namespace: 'modhost' });
    const error = await store.readText(store.key('m', 'x')).catch((e: unknown) => e);
    expect(isModhostError(error, 'STORAGE_ADAPTER_FAILED')).toBe(true);
    expect((error as Error).message).toContain('cannot reach PostgreSQL at 127.0.0.1:1/nothing');
    await storage.dispose?.();
  });

  it('rejects after dispose()', async () => {
    const storage = backend.adapter();
    await storage.set('k', 'v');
    await storage.dispose?.();
    await expect(storage.get('k')).rejects.toThrow(/get after dispose\(\)/);
  });
});

describe(`the table, on ${backend.label}`, () => {
  it('keeps a deleted key as a tombstone until pruned: absent to get, keys and compareAndSet', async () => {
    const storage = backend.adapter({ table: 'tombstones' });
    await storage.set('t:a', 'v');
    await storage.delete('t:a');
    expect(await storage.get('t:a')).toBeUndefined();
    expect(await storage.keys('t:')).toEqual([]);
    expect(await storage.compareAndSet('t:a', null, null)).toBe(true);
    expect(await backend.sql('SELECT key, value FROM tombstones')).toEqual([{ key: 't:a', value: null }]);
    expect(await storage.compareAndSet('t:a', null, 'again')).toBe(true);
    expect(await storage.get('t:a')).toBe('again');
    await storage.dispose?.();
  });

  it('prunes tombstones older than tombstoneRetentionMs after a delete', async () => {
    const storage = backend.adapter({ table: 'pruned', tombstoneRetentionMs: 0 });
    for (const k of ['a', 'b', 'c']) await storage.set(k, 'v');
    await storage.delete('a');
    await storage.compareAndSet('b', 'v', null);
    await storage.delete('c');
    await eventually(async () => (await backend.sql('SELECT key FROM pruned')).length === 0 || undefined, 'the tombstones to be pruned');
    await storage.dispose?.();
  });

  it('lists keys sorted, and makes the table idempotently when many adapters start at once', async () => {
    const adapters = Array.from({ length: 8 }, () => backend.adapter({ schema: 'racing', table: 'kv' }));
    await Promise.all(adapters.map((a, i) => a.set(`k${(7 - i) % 8}`, String(i))));
    expect(await adapters[0]?.keys('k')).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
    expect(await backend.sql(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'racing'`)).toEqual([{ n: 1 }]);
    await Promise.all(adapters.map((a) => a.dispose?.()));
  });
});

describe(`notifications, on ${backend.label}`, () => {
  const listenRaw = async (channel: string, onPayload: (p: string) => void) => {
    if (backend.kind === 'pglite') return backend.db.listen(channel, onPayload);
    const client = await backend.admin.connect();
    const handler = (m: { payload?: string | undefined }) => onPayload(m.payload ?? '');
    client.on('notification', handler);
    await client.query(`LISTEN "${channel}"`);
    return async () => {
      client.removeListener('notification', handler);
      client.release(true);
    };
  };

  it('carry the key, the change and a version, never the value', async () => {
    const storage = backend.adapter({ table: 'payloads' });
    const payloads: string[] = [];
    const stop = await listenRaw('public_payloads', (p) => payloads.push(p));
    await storage.set('p:one', 'SECRET-VALUE');
    await storage.compareAndSet('p:one', 'SECRET-VALUE', 'OTHER-SECRET');
    await storage.delete('p:one');
    await eventually(() => payloads.length >= 3 || undefined, 'three notifications');
    expect(payloads.map((p) => p.replace(/:\d+:/, ':<v>:'))).toEqual(['s:<v>:p:one', 's:<v>:p:one', 'd:<v>:p:one']);
    expect(payloads.join()).not.toMatch(/SECRET/);
    await stop();
    await storage.dispose?.();
  });

  it('report keys too long for NOTIFY (8000 bytes) by re-reading under their first characters', async () => {
    const storage = backend.adapter({ table: 'long_keys' });
    const changes: StorageChange[] = [];
    const unwatch = await storage.watch?.('long:', (c) => changes.push(c));
    const long = `long:${'€'.repeat(3000)}`; // 9,005 bytes
    const fits = `long:${'x'.repeat(6990)}`;
    const seen = (type: string, key: string) => () => changes.some((c) => c.type === type && c.key === key) || undefined;
    await storage.set(long, 'v');
    await eventually(seen('set', long), 'the set of the long key');
    await storage.set(fits, 'v');
    await eventually(seen('set', fits), 'the set of a key that just fits');
    await storage.delete(long);
    await eventually(seen('delete', long), 'the delete of the long key');
    expect(changes.every((c) => c.key === long || c.key === fits)).toBe(true);
    await unwatch?.();
    await storage.dispose?.();
  });

  it('tell onError about a watch callback that throws; the other watchers still hear', async () => {
    const errors: Error[] = [];
    const storage = backend.adapter({ table: 'throwing', onError: (e) => errors.push(e) });
    const heard: string[] = [];
    await storage.watch?.('', () => {
      throw new Error('boom');
    });
    await storage.watch?.('', (c) => heard.push(c.key));
    await storage.set('k', 'v');
    await eventually(() => heard.length > 0 || undefined, 'the second watcher');
    expect(errors.map((e) => [e.message, (e.cause as Error).message])).toEqual([['storage-postgres: a watch callback threw on set of "k"', 'boom']]);
    await storage.dispose?.();
  });
});

describe(`with core, on ${backend.label}`, () => {
  it('stores a registry that a second process (another adapter) reads back', async () => {
    const first = backend.adapter({ table: 'registry' });
    const registry = createRegistry({ storage: first });
    await registry.register(defineModule({ name: 'billing', version: '1.0.0' }));
    await registry.transition('billing', '1.0.0', 'resolved');
    const second = backend.adapter({ table: 'registry' });
    expect((await createRegistry({ storage: second }).get('billing', '1.0.0'))?.status).toBe('resolved');
    expect((await first.keys('modhost:')).length).toBeGreaterThan(0);
    await Promise.all([first.dispose?.(), second.dispose?.()]);
  });
});
