import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineModule } from './define-module.js';
import { ModhostError } from './errors.js';
import { createRegistry } from './registry.js';
import { memoryStorage } from './storage.js';

const secretive = defineModule({
  name: 'payments',
  version: '1.0.0',
  config: { schema: z.object({ token: z.string(), region: z.string() }), defaults: { region: 'eu' }, sensitive: ['token'] },
});
const tasks = defineModule({ name: 'tasks', version: '1.0.0' });
const reports = defineModule({ name: 'reports', version: '2.1.0', dependencies: { tasks: '^1.0.0' } });

async function populated() {
  const registry = createRegistry({ storage: memoryStorage(), clock: { now: () => 7 } });
  for (const m of [secretive, tasks, reports]) await registry.register(m);
  await registry.transition('tasks', '1.0.0', 'resolved');
  await registry.transition('reports', '2.1.0', 'blocked', { reason: 'tasks failed' });
  await registry.setDesiredVersion('reports', '2.1.0');
  await registry.enable('tasks', { tenant: 'acme' });
  await registry.enable('payments', { tenant: 'globex', range: '^1.0.0' });
  await registry.configure('payments', { token: 'tok_host' });
  await registry.configure('payments', { token: 'tok_globex_SECRET' }, { tenant: 'globex' });
  await registry.configure('payments', { region: 'us' }, { tenant: 'globex' });
  return registry;
}

describe('snapshot', () => {
  it('round-trips the whole state into an empty storage', async () => {
    const source = await populated();
    const snapshot = await source.exportSnapshot({ includeSensitive: true });
    const json = JSON.parse(JSON.stringify(snapshot));
    const target = createRegistry({ storage: memoryStorage(), clock: { now: () => 7 } });
    expect(await target.importSnapshot(json)).toEqual({ entries: snapshot.entries.length });
    expect(await target.exportSnapshot({ includeSensitive: true })).toEqual(snapshot);
    expect((await target.get('reports', '2.1.0'))?.status).toBe('blocked');
    expect(await target.listEnabled('globex')).toEqual([{ tenant: 'globex', name: 'payments', range: '^1.0.0', enabledAt: 7 }]);
    expect((await target.configHistory('payments', { tenant: 'globex' })).length).toBe(2);
    // Code is not data: the host registers the same module again and gets its config back.
    await target.register(secretive);
    expect((await target.getConfig('payments', { tenant: 'globex', reveal: true })).values).toEqual({ token: 'tok_globex_SECRET', region: 'us' });
  });

  it('masks sensitive values by default, and such a snapshot cannot be imported', async () => {
    const snapshot = await (await populated()).exportSnapshot();
    expect(snapshot.redacted).toBe(true);
    expect(JSON.stringify(snapshot)).not.toContain('SECRET');
    expect(JSON.stringify(snapshot)).not.toContain('tok_host');
    const err = await createRegistry({ storage: memoryStorage() })
      .importSnapshot(snapshot)
      .catch((e) => e);
    expect(err).toBeInstanceOf(ModhostError);
    expect(err.code).toBe('SNAPSHOT_INVALID');
    expect(err.message).toContain('includeSensitive: true');
  });

  it('refuses to import over existing data', async () => {
    const snapshot = await (await populated()).exportSnapshot({ includeSensitive: true });
    const target = createRegistry({ storage: memoryStorage() });
    await target.register(tasks);
    const err = await target.importSnapshot(snapshot).catch((e) => e);
    expect(err.code).toBe('SNAPSHOT_TARGET_NOT_EMPTY');
    expect((await target.list()).length).toBe(1);
  });

  it('rejects malformed and hostile documents', async () => {
    const good = await (await populated()).exportSnapshot({ includeSensitive: true });
    const bad: unknown[] = [
      null,
      { ...good, format: 'other' },
      { ...good, version: 2 },
      { ...good, entries: 'x' },
      { ...good, entries: [{ key: ['v'], kind: 'module-version', data: {} }] },
      { ...good, entries: [{ key: ['v', 'a', '1.0.0'], kind: 'tenant-enablement', data: {} }] },
      { ...good, entries: [{ key: ['x', 'a'], kind: 'evil', data: {} }] },
      JSON.parse(
        `{"format":"modhost-snapshot","version":1,"redacted":false,"entries":[{"key":["m","a"],"kind":"module","data":{"__proto__":{"admin":true}}}]}`,
      ),
    ];
    for (const doc of bad) {
      const target = createRegistry({ storage: memoryStorage() });
      const err = await target.importSnapshot(doc).catch((e) => e);
      expect(err?.code, JSON.stringify(doc)?.slice(0, 80)).toBe('SNAPSHOT_INVALID');
      expect(await target.list()).toEqual([]);
    }
  });
});
