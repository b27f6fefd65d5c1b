import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryStorage } from '@modhost/core';
import { afterEach, describe, expect, it } from 'vitest';
import { tasksModule, testHost } from '../test/folders.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A module folder outside the host's modulesDir (where an upload or an app's own folder would be). */
function outsideFolder(version: string) {
  const root = mkdtempSync(join(tmpdir(), 'modhost-outside-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'tasks');
  mkdirSync(dir);
  const { manifest, entry } = tasksModule(version);
  writeFileSync(join(dir, 'modhost.json'), JSON.stringify(manifest));
  writeFileSync(join(dir, 'index.mjs'), entry);
  return dir;
}
const stateOf = async (host: { status(): Promise<{ modules: readonly { name: string; state: string; version?: string }[] }> }) =>
  (await host.status()).modules.find((m) => m.name === 'tasks');

describe('folders installed from outside modulesDir', () => {
  it('a rescan of modulesDir leaves them running', async () => {
    const { host } = testHost(cleanups);
    await host.start();
    await host.install(outsideFolder('1.0.0'));
    await host.rescan();
    expect(await stateOf(host)).toMatchObject({ state: 'active', version: '1.0.0' });
    expect(host.isEnabled('tasks', undefined)).toBe(true);
  });

  it('are loaded again when the host restarts on the same storage', async () => {
    const map = new Map<string, string>();
    const dir = outsideFolder('1.0.0');
    const first = testHost(cleanups, { storage: memoryStorage({ map }) }).host;
    await first.start();
    await first.install(dir);
    await first.stop();

    const second = testHost(cleanups, { storage: memoryStorage({ map }) }).host;
    await second.start();
    expect(await stateOf(second)).toMatchObject({ state: 'active', version: '1.0.0' });
    expect((await second.status()).problems).toEqual([]);
  });

  it('remember the version that serves: a refused upgrade from another folder keeps the old folder for the restart', async () => {
    const map = new Map<string, string>();
    const v1 = outsideFolder('1.0.0');
    // One failed probe fails the gate: no clock steps needed while the module starts.
    const first = testHost(cleanups, { storage: memoryStorage({ map }), health: { failureThreshold: 1 } }).host;
    await first.start();
    await first.install(v1);
    const broken = outsideFolder('2.0.0');
    writeFileSync(join(broken, 'index.mjs'), tasksModule('2.0.0', { healthy: false }).entry);
    await first.install(broken);
    expect(await stateOf(first)).toMatchObject({ version: '1.0.0' });
    await first.stop();

    const second = testHost(cleanups, { storage: memoryStorage({ map }) }).host;
    await second.start();
    expect(await stateOf(second)).toMatchObject({ state: 'active', version: '1.0.0' });
  });

  it('are forgotten on uninstall: a restart does not bring the module back', async () => {
    const map = new Map<string, string>();
    const first = testHost(cleanups, { storage: memoryStorage({ map }) }).host;
    await first.start();
    await first.install(outsideFolder('1.0.0'));
    await first.uninstall('tasks');
    await first.stop();
    expect([...map.keys()].filter((k) => k.includes('installed-folder'))).toEqual([]);

    const second = testHost(cleanups, { storage: memoryStorage({ map }) }).host;
    await second.start();
    expect(await stateOf(second)).toBeUndefined();
  });

  it('a remembered folder that is gone is a problem that names it, and the host still starts', async () => {
    const map = new Map<string, string>();
    const dir = outsideFolder('1.0.0');
    const first = testHost(cleanups, { storage: memoryStorage({ map }) }).host;
    await first.start();
    await first.install(dir);
    await first.stop();
    rmSync(dir, { recursive: true, force: true });
    map.set('modhost:installed-folder:broken', '{not json');

    const second = testHost(cleanups, { storage: memoryStorage({ map }) });
    second.folder.write('other', { name: 'other', version: '1.0.0' }, 'export default { activate: () => ({}) };');
    const report = await second.host.start();
    expect(report).toBeDefined();
    const { modules, problems } = await second.host.status();
    expect(modules.find((m) => m.name === 'other')).toMatchObject({ state: 'active' });
    expect(problems).toEqual([expect.objectContaining({ dir })]);
    expect(second.host.isEnabled('tasks', undefined)).toBe(false);
  });
});
