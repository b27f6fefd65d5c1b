import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isModhostError, memoryStorage, type StorageAdapter } from '@modhost/core';
import { integrityKey } from '@modhost/sandbox/internal';
import type { FakeClock } from '@modhost/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { serveHost, tasksModule, testHost } from '../test/folders.js';
import { forgetDevVersions } from './dev-mode.js';
import type { Host, HostEvents } from './host.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The tasks module at 1.0.0 whose GET /list also says which edit of its code runs. */
function edited(label: string, options: { healthy?: boolean } = {}) {
  const t = tasksModule('1.0.0', options);
  return { manifest: t.manifest, entry: t.entry.replace("version: '1.0.0',", `version: '1.0.0', edit: '${label}',`) };
}

/** Waits for the file-system event to arm the watcher's debounce timer, then lets the debounce pass. */
async function afterDebounce(clock: FakeClock, ms = 50) {
  const idle = clock.pendingTimers();
  for (let i = 0; i < 10_000 && clock.pendingTimers() === idle; i++) await new Promise((r) => setImmediate(r));
  clock.advance(ms);
}

/** Saves the entry of `<root>/tasks` as an editor does (in place), and waits for the host's answer to it. */
async function save<K extends 'module:reloaded' | 'module:reload-failed'>(host: Host, clock: FakeClock, root: string, entry: string, expect: K) {
  const seen = new Promise<HostEvents[K]>((r) => host.events.once(expect, r as (p: HostEvents[K]) => void));
  writeFileSync(join(root, 'tasks', 'index.mjs'), entry);
  await afterDebounce(clock);
  return seen;
}

const devHost = (storage: StorageAdapter, extra: Record<string, unknown> = {}) =>
  // One failed probe fails the gate, so a broken edit needs no clock steps while workers start in real time.
  testHost(cleanups, { dev: true, storage, health: { failureThreshold: 1 }, minimumIsolation: undefined, ...extra });

const recordOf = async (storage: StorageAdapter) => JSON.parse((await storage.get(integrityKey('tasks', '1.0.0'))) as string) as Record<string, unknown>;

describe('development mode: createHost({ dev: true })', () => {
  it('an edit reloads the module in place through the gate; a broken edit leaves the old code serving until it is fixed', async () => {
    const storage = memoryStorage();
    const { folder, host, clock } = devHost(storage);
    const v1 = edited('first');
    folder.write('tasks', v1.manifest, v1.entry);
    await host.start();
    expect((await host.status()).modules).toMatchObject([{ name: 'tasks', version: '1.0.0', state: 'active', isolation: 'worker' }]);
    const http = await serveHost(cleanups, host);
    await http('/tasks/add', { method: 'POST', body: JSON.stringify({ title: 'kept across reloads' }) });
    expect((await http('/tasks/list')).body).toEqual({ version: '1.0.0', edit: 'first', tasks: ['kept across reloads'] });
    const first = await recordOf(storage);
    expect(first).toMatchObject({ dev: true });

    // Saved: the same version's new code serves, and its integrity is recorded again, still marked development.
    const reloaded = await save(host, clock, folder.root, edited('second').entry, 'module:reloaded');
    expect(reloaded).toMatchObject({ name: 'tasks', version: '1.0.0', dir: join(folder.root, 'tasks') });
    expect((await http('/tasks/list')).body).toEqual({ version: '1.0.0', edit: 'second', tasks: ['kept across reloads'] });
    const second = await recordOf(storage);
    expect(second).toMatchObject({ dev: true });
    expect(second.integrity).not.toBe(first.integrity);
    expect((await host.status()).problems).toEqual([]);

    // An edit whose health check fails: the previous code serves on, and the problem says so.
    const failedGate = await save(host, clock, folder.root, edited('unhealthy', { healthy: false }).entry, 'module:reload-failed');
    expect(failedGate).toMatchObject({ name: 'tasks', version: '1.0.0', code: 'HEALTH_CHECK_FAILED' });
    expect((await http('/tasks/list')).body.edit).toBe('second');
    expect((await host.status()).problems).toMatchObject([
      { dir: join(folder.root, 'tasks'), code: 'HEALTH_CHECK_FAILED', message: expect.stringContaining('the previous code keeps serving') },
    ]);

    // An edit that does not even load (a syntax error): the same.
    const broken = await save(host, clock, folder.root, 'export default {', 'module:reload-failed');
    expect(broken).toMatchObject({ name: 'tasks', code: 'MANIFEST_INVALID' });
    expect((await http('/tasks/list')).body.edit).toBe('second');
    expect((await host.status()).problems).toMatchObject([{ code: 'MANIFEST_INVALID', message: expect.stringContaining('failed to load') }]);

    // Fixed: it reloads, and the problem is gone.
    await save(host, clock, folder.root, edited('third').entry, 'module:reloaded');
    expect((await http('/tasks/list')).body).toEqual({ version: '1.0.0', edit: 'third', tasks: ['kept across reloads'] });
    expect((await host.status()).problems).toEqual([]);
    expect((await host.status()).modules).toMatchObject([{ name: 'tasks', version: '1.0.0', state: 'active' }]);
  });

  it('a host not in development mode refuses a development version with a clear error, until it is forgotten', async () => {
    const storage = memoryStorage();
    const { folder, host, clock } = devHost(storage);
    folder.write('tasks', edited('first').manifest, edited('first').entry);
    await host.start();
    await save(host, clock, folder.root, edited('second').entry, 'module:reloaded');
    await host.stop();

    // The same storage and folder, not in development mode: refused at load, with what to do.
    const prod = testHost(cleanups, { storage, modulesDir: folder.root, minimumIsolation: undefined });
    const report = await prod.host.start();
    expect(report.modules).toEqual([]);
    const [problem] = (await prod.host.status()).problems;
    expect(problem).toMatchObject({ dir: join(folder.root, 'tasks'), code: 'INTEGRITY_MISMATCH' });
    expect(problem?.message).toContain('tasks@1.0.0 was recorded in development mode');
    expect(problem?.message).toContain('Bump its version');
    expect(problem?.message).toContain('forgetDevVersions(storage)');
    // Installing the folder by hand is refused the same way, with details a program can read.
    const thrown = await prod.host.install(join(folder.root, 'tasks')).catch((e: unknown) => e);
    expect(isModhostError(thrown, 'INTEGRITY_MISMATCH') && thrown.details).toMatchObject({ module: 'tasks', version: '1.0.0', dev: true });
    await prod.host.stop();

    // Forgotten (integrity and registry records): a production host installs the files afresh.
    expect(await forgetDevVersions(storage)).toEqual({ forgotten: ['tasks@1.0.0'], kept: [] });
    const again = testHost(cleanups, { storage, modulesDir: folder.root, minimumIsolation: undefined });
    expect((await again.host.start()).modules).toMatchObject([{ name: 'tasks', version: '1.0.0', state: 'active' }]);
    expect(await recordOf(storage)).not.toHaveProperty('dev');
    const http = await serveHost(cleanups, again.host);
    expect((await http('/tasks/list')).body.edit).toBe('second');
  });

  it('a development host started again on the same storage loads files edited while it was stopped', async () => {
    const storage = memoryStorage();
    const { folder, host } = devHost(storage);
    folder.write('tasks', edited('first').manifest, edited('first').entry);
    await host.start();
    await host.stop();
    writeFileSync(join(folder.root, 'tasks', 'index.mjs'), edited('while stopped').entry);

    const again = devHost(storage, { modulesDir: folder.root });
    expect((await again.host.start()).modules).toMatchObject([{ name: 'tasks', version: '1.0.0', state: 'active' }]);
    expect((await again.host.status()).problems).toEqual([]);
    const http = await serveHost(cleanups, again.host);
    expect((await http('/tasks/list')).body.edit).toBe('while stopped');
    expect(await recordOf(storage)).toMatchObject({ dev: true });
  });

  it('never replaces a record made outside development mode: an edit of such a version asks for a new version', async () => {
    const storage = memoryStorage();
    const prod = testHost(cleanups, { storage, minimumIsolation: undefined });
    prod.folder.write('tasks', edited('published').manifest, edited('published').entry);
    await prod.host.start();
    await prod.host.stop();

    // Unchanged, it loads in development mode too, under its production record.
    const { host, clock } = devHost(storage, { modulesDir: prod.folder.root });
    await host.start();
    expect(await recordOf(storage)).not.toHaveProperty('dev');
    const refused = await save(host, clock, prod.folder.root, edited('edited').entry, 'module:reload-failed');
    expect(refused).toMatchObject({ code: 'INTEGRITY_MISMATCH', message: expect.stringContaining('Bump the version') });
    const http = await serveHost(cleanups, host);
    expect((await http('/tasks/list')).body.edit).toBe('published');
    expect(await recordOf(storage)).not.toHaveProperty('dev');
  });
});
