import { memoryStorage } from '@modhost/core';
import { afterEach, expect, it } from 'vitest';
import { tasksModule, testHost } from '../test/folders.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('writes each area under the key layout docs/storage-adapters.md lists (so existing data reads as before)', async () => {
  const map = new Map<string, string>();
  const { folder, host } = testHost(cleanups, { storage: memoryStorage({ map }), minimumIsolation: 'in-process' });
  folder.write(
    'notes',
    {
      name: 'notes',
      version: '1.0.0',
      permissions: ['storage:module'],
      config: { schema: { type: 'object', properties: { title: { type: 'string' } } } },
    },
    `export default {
  migrations: [{ name: '001-init', up: (ctx) => ctx.storage.set('schema', 1) }],
  activate: async (ctx) => { await ctx.storage.set('draft/1', { text: 'hi' }); return {}; },
};`,
  );
  await host.start();
  await host.enable('notes', { tenant: 'acme' });
  await host.configure('notes', { title: 'Acme' }, { tenant: 'acme' });
  await host.stop();
  const keys = [...map.keys()];
  const areas: [string, RegExp][] = [
    ['module version', /^modhost:v:notes:1\.0\.0$/],
    ['module record', /^modhost:m:notes$/],
    ['tenant enablement', /^modhost:t:acme:notes$/],
    ['tenant config layer', /^modhost:c:notes:t:acme$/],
    ['module data', /^modhost:data:notes:draft%2F1$/],
    ['migration history', /^modhost:migrations:notes$/],
    ['integrity record', /^modhost:integrity:notes@1\.0\.0$/],
    ['audit record', /^modhost:audit:\d{15}:[a-z0-9]+:\d{12}$/],
  ];
  for (const [area, pattern] of areas)
    expect(
      keys.some((k) => pattern.test(k)),
      `${area}: ${pattern} in ${keys.join(', ')}`,
    ).toBe(true);
  // Module data is the module's own JSON; the registry's records are versioned envelopes.
  expect(JSON.parse(map.get('modhost:data:notes:draft%2F1') as string)).toEqual({ text: 'hi' });
  expect(JSON.parse(map.get('modhost:m:notes') as string)).toMatchObject({ modhost: 1, kind: 'module' });
  // The migration lock is released: nothing is left that could block the next start.
  expect(keys.filter((k) => k.startsWith('modhost:migration-lock:'))).toEqual([]);
});

it('a folder module is identified by its files: a record made by an older modhost (another wrapper fingerprint) still registers', async () => {
  const map = new Map<string, string>();
  const storage = memoryStorage({ map });
  const { folder, host } = testHost(cleanups, { storage, minimumIsolation: 'worker' });
  folder.write('tasks', tasksModule('1.0.0').manifest, tasksModule('1.0.0').entry);
  await host.start();
  await host.stop();
  // What an older modhost left: the same version recorded under the fingerprint of its own loader code.
  const key = 'modhost:v:tasks:1.0.0';
  const env = JSON.parse(map.get(key) as string) as { data: Record<string, unknown> };
  const { codeFingerprint: _files, ...legacy } = env.data;
  map.set(key, JSON.stringify({ ...env, data: { ...legacy, fingerprint: 'fnv1a-from-an-older-loader' } }));
  const again = testHost(cleanups, { storage, minimumIsolation: 'worker' });
  again.folder.write('tasks', tasksModule('1.0.0').manifest, tasksModule('1.0.0').entry);
  // Its own folder, same files: the integrity record already pins them.
  const report = await again.host.start();
  expect(report.modules.map((m) => `${m.name} ${m.state}`)).toEqual(['tasks active']);
  expect((await again.host.registry.get('tasks', '1.0.0'))?.codeFingerprint).toMatch(/^sha512-/);
});
