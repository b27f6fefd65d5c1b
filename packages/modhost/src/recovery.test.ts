import { generateKeyPairSync } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineModule, type ModuleContext } from '@modhost/core';
import { computeIntegrity, signModule } from '@modhost/sandbox';
import { afterEach, describe, expect, it } from 'vitest';
import { serveHost, tasksModule, testHost } from '../test/folders.js';
import type { Host, HostOptions } from './host.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const setup = (extra: Parameters<typeof testHost>[1] = {}) => testHost(cleanups, extra);
const serve = (host: Host) => serveHost(cleanups, host);
const tick = () => new Promise((r) => setImmediate(r));

/** Yields to real I/O (workers, fs events) and steps the fake clock until `done()` says so. */
async function until(done: () => boolean | Promise<boolean>, step: () => void = () => {}): Promise<void> {
  // Bounded by real time because workers start in real time; no test asserts how long this took.
  const giveUpAt = Date.now() + 15_000;
  while (Date.now() < giveUpAt) {
    if (await done()) return;
    step();
    await tick();
  }
  throw new Error('the condition never held');
}

/** A worker module whose GET /die kills its guest, and GET / answers with its version. */
const fragile = (version: string, dies = true) => ({
  manifest: {
    name: 'fragile',
    version,
    permissions: ['routes:mount'],
    routes: [
      { method: 'GET', path: '/' },
      { method: 'GET', path: '/die' },
    ],
  },
  entry: `export default { routes: [
  { method: 'GET', path: '/', handler: () => ({ body: { version: '${version}' } }) },
  { method: 'GET', path: '/die', handler: () => ${dies ? 'process.exit(7)' : '({ body: { alive: true } })'} },
] }`,
});

const statusOf = async (host: Host, name: string) => (await host.status()).modules.find((m) => m.name === name);

describe('a guest that failed for good', () => {
  async function failedForGood(extra: Partial<HostOptions> = {}) {
    const t = setup({ restart: { maxRestarts: 1, backoffMs: 10 }, ...extra });
    const f = fragile('1.0.0');
    t.folder.write('fragile', { ...f.manifest, isolation: 'worker' }, f.entry);
    await t.host.start();
    const http = await serve(t.host);
    expect((await http('/fragile/die')).status).toBe(503);
    // The restart waits for its backoff on the injected clock; then it dies once more and the policy gives up.
    await until(
      async () => (await statusOf(t.host, 'fragile'))?.health.status === 'ok',
      () => t.clock.advance(10),
    );
    expect((await http('/fragile/die')).status).toBe(503);
    await until(async () => (await statusOf(t.host, 'fragile'))?.state === 'failed');
    return { ...t, http };
  }

  it('watch: a fixed version copied in replaces it, and the host stays up and serves the fix', async () => {
    const { folder, host, clock, http } = await failedForGood({ watch: true, debounceMs: 50 });
    expect(await statusOf(host, 'fragile')).toMatchObject({
      version: '1.0.0',
      state: 'failed',
      health: { status: 'fail' },
      lastError: { code: 'MODULE_CRASHED' },
    });
    const fixed = fragile('1.0.1', false);
    folder.write('fragile', fixed.manifest, fixed.entry);
    let upgraded = false;
    host.events.once('module:upgraded', () => {
      upgraded = true;
    });
    // Step the clock through the watcher's debounce until the host admits the new files, then let it work: its
    // call timeouts run on the same clock.
    let admitted = false;
    host.audit.on('record', (r) => {
      if (r.kind === 'integrity' && r.decision === 'allow' && r.detail.startsWith('fragile@1.0.1')) admitted = true;
    });
    await until(
      () => admitted,
      () => clock.advance(50),
    );
    await until(() => upgraded);
    expect(await http('/fragile')).toEqual({ status: 200, body: { version: '1.0.1' } });
    expect(await http('/fragile/die')).toEqual({ status: 200, body: { alive: true } });
    expect(await statusOf(host, 'fragile')).toMatchObject({ version: '1.0.1', state: 'active', health: { status: 'ok' } });
    expect(await host.registry.get('fragile', '1.0.0')).toMatchObject({ status: 'stopped' });
    expect(await host.stop()).toEqual({ ok: true, problems: [] });
  });

  it('removing its folder stops it without an error, and stop() stops the others', async () => {
    const { folder, host, seen } = await failedForGood();
    const t = tasksModule('1.0.0');
    folder.write('tasks', t.manifest, t.entry);
    await host.rescan();
    folder.remove('fragile');
    await host.rescan();
    expect(seen.some((s) => s.startsWith('module:removed {"name":"fragile"'))).toBe(true);
    expect(await statusOf(host, 'fragile')).toMatchObject({ active: false, version: '1.0.0' });
    expect(await host.stop()).toEqual({ ok: true, problems: [] });
    expect(host.api('tasks')).toBeUndefined();
  });

  it('host.stop() after it failed for good stops every other module and reports success', async () => {
    const { folder, host } = await failedForGood();
    const t = tasksModule('1.0.0');
    folder.write('tasks', t.manifest, t.entry);
    await host.rescan();
    expect(await host.stop()).toEqual({ ok: true, problems: [] });
    expect((await host.status()).modules.filter((m) => m.active)).toEqual([]);
  });
});

describe('folders that fail', () => {
  it('a version that failed to load is not loaded again on each rescan, only once its files change', async () => {
    const { folder, host, seen } = setup();
    const errors = () => seen.filter((s) => s.startsWith('folder:error')).length;
    const manifest = { name: 'oops', version: '1.0.0', isolation: 'worker' };
    folder.write('oops', manifest, 'export default { syntax error');
    await host.start();
    expect(errors()).toBe(1);
    await host.rescan();
    await host.rescan();
    expect(errors()).toBe(1);
    expect((await host.status()).problems).toMatchObject([{ code: 'MANIFEST_INVALID' }]);
    folder.write('oops', manifest, 'export default { still broken');
    await host.rescan();
    expect(errors()).toBe(2);
    folder.write('oops', manifest, 'export default {}');
    await host.rescan();
    expect(await statusOf(host, 'oops')).toMatchObject({ version: '1.0.0', active: true });
    expect((await host.status()).problems).toEqual([]);
  });

  it('status shows what serves, and a refused newer version apart; after removal, what served last', async () => {
    const { folder, host } = setup({ health: { failureThreshold: 1 } });
    folder.write('tasks', tasksModule('1.0.0').manifest, tasksModule('1.0.0').entry);
    await host.start();
    const bad = tasksModule('1.2.0', { healthy: false });
    folder.write('tasks', bad.manifest, bad.entry);
    await host.rescan();
    expect(await statusOf(host, 'tasks')).toMatchObject({
      version: '1.0.0',
      state: 'active',
      health: { status: 'ok' },
      refused: { version: '1.2.0', code: 'HEALTH_CHECK_FAILED' },
    });
    expect((await statusOf(host, 'tasks'))?.lastError).toBeUndefined();
    folder.remove('tasks');
    await host.rescan();
    const after = await statusOf(host, 'tasks');
    expect(after).toMatchObject({ version: '1.0.0', state: 'stopped', active: false, health: { status: 'unknown' }, refused: { version: '1.2.0' } });
    expect(JSON.stringify(after)).not.toContain('keeps serving');
  });
});

describe('the modules folder itself', () => {
  it('vanishing for a moment stops nothing (watch:error), and two folders of one module are flagged', async () => {
    const { folder, host, seen } = setup();
    const t = tasksModule('1.0.0');
    folder.write('tasks', t.manifest, t.entry);
    await host.start();
    const moved = `${folder.root}-moved`;
    renameSync(folder.root, moved);
    await host.rescan();
    renameSync(moved, folder.root);
    expect(seen.some((s) => s.startsWith('watch:error') && s.includes('nothing was changed'))).toBe(true);
    expect(await statusOf(host, 'tasks')).toMatchObject({ active: true });

    folder.write('tasks-copy', tasksModule('1.1.0').manifest, tasksModule('1.1.0').entry);
    await host.rescan();
    expect((await host.status()).problems).toMatchObject([{ code: 'MANIFEST_INVALID', message: expect.stringContaining('already loaded from') }]);
    expect(await statusOf(host, 'tasks')).toMatchObject({ version: '1.0.0', active: true });
  });

  it('a tier name that is not one is refused when the host is created', () => {
    expect(() => setup({ minimumIsolation: 'proces' as never })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => setup({ minimumIsolation: { modules: { x: 'sandbox' as never } } })).toThrow(/minimumIsolation.modules\["x"\]/);
  });
});

describe('the version that keeps serving', () => {
  it('restarts after a crash though a refused newer version overwrote its folder', async () => {
    const { folder, host, clock } = setup({ health: { failureThreshold: 1 } });
    const v1 = fragile('1.0.0');
    folder.write('fragile', { ...v1.manifest, isolation: 'worker' }, v1.entry);
    await host.start();
    const bad = fragile('1.2.0');
    folder.write('fragile', { ...bad.manifest, isolation: 'worker' }, bad.entry.replace('export default {', 'export default { health: () => false,'));
    await host.rescan();
    const http = await serve(host);
    expect(await http('/fragile')).toEqual({ status: 200, body: { version: '1.0.0' } });
    expect((await http('/fragile/die')).status).toBe(503);
    // Its restart checks the files it was loaded from, not the folder that now holds 1.2.0.
    await until(
      async () => (await statusOf(host, 'fragile'))?.health.status === 'ok',
      () => clock.advance(100),
    );
    expect(await http('/fragile')).toEqual({ status: 200, body: { version: '1.0.0' } });
    expect(await statusOf(host, 'fragile')).toMatchObject({ version: '1.0.0', state: 'active', refused: { version: '1.2.0' } });
  });
});

describe('going back to an earlier version', () => {
  it('after the window, starts it afresh from the copy kept when it was swapped out, without rejecting anything', async () => {
    const { folder, host } = setup({ rollbackWindowMs: 0 });
    const v1 = tasksModule('1.0.0', { isolation: 'worker' });
    folder.write('tasks', v1.manifest, v1.entry);
    await host.start();
    const v2 = tasksModule('1.1.0', { isolation: 'worker' });
    folder.write('tasks', v2.manifest, v2.entry);
    await host.rescan();
    const http = await serve(host);
    expect((await http('/tasks/list')).body.version).toBe('1.1.0');
    expect(await host.upgrade('tasks', '1.0.0')).toMatchObject({ ok: true, outcome: 'switched' });
    expect((await http('/tasks/list')).body.version).toBe('1.0.0');
    expect((await host.registry.getModule('tasks'))?.rejected).toEqual([]);
  });

  it('whose code is gone is refused at once (VERSION_UNAVAILABLE) and not rejected; copying its files back loads it afresh', async () => {
    const { folder, host } = setup({ rollbackWindowMs: 0 });
    const v1 = tasksModule('1.0.0', { isolation: 'worker' });
    folder.write('tasks', v1.manifest, v1.entry);
    await host.start();
    // The folder goes away (1.0.0 stops and its code is dropped) and comes back holding 1.1.0.
    folder.remove('tasks');
    await host.rescan();
    const v2 = tasksModule('1.1.0', { isolation: 'worker' });
    folder.write('tasks', v2.manifest, v2.entry);
    await host.rescan();
    const http = await serve(host);
    expect((await http('/tasks/list')).body.version).toBe('1.1.0');

    const back = await host.upgrade('tasks', '1.0.0');
    expect(back).toMatchObject({
      ok: false,
      outcome: 'refused',
      error: { code: 'VERSION_UNAVAILABLE', message: expect.stringContaining('now holds tasks@1.1.0') },
    });
    expect((await host.registry.getModule('tasks'))?.rejected).toEqual([]);
    expect((await http('/tasks/list')).body.version).toBe('1.1.0');

    folder.write('tasks', v1.manifest, v1.entry);
    await host.rescan();
    expect((await http('/tasks/list')).body.version).toBe('1.0.0');
    expect((await host.status()).problems).toEqual([]);
  });
});

describe('automatic rollbacks', () => {
  it('are host events like rollbacks by hand', async () => {
    let healthy = true;
    const v = (version: string, health?: () => boolean) =>
      defineModule({ name: 'clock', version, activate: () => ({ version }), ...(health ? { health } : {}) });
    const { host, clock, seen } = setup({ health: { periodMs: 100, failureThreshold: 1 } });
    await host.start();
    await host.install(v('1.0.0'));
    await host.install(v('1.1.0', () => healthy));
    expect(host.api('clock')).toEqual({ version: '1.1.0' });
    healthy = false;
    await until(
      () => seen.some((s) => s.startsWith('module:rolled-back')),
      () => clock.advance(100),
    );
    expect(seen.filter((s) => s.startsWith('module:rolled-back'))).toEqual(['module:rolled-back {"name":"clock","from":"1.1.0","to":"1.0.0"}']);
    expect(host.api('clock')).toEqual({ version: '1.0.0' });
    expect(await statusOf(host, 'clock')).toMatchObject({ version: '1.0.0', active: true, refused: { version: '1.1.0' } });
  });
});

describe('contexts die with their version', () => {
  it('a start that times out revokes its ctx, though activate never settles; stop() revokes every ctx', async () => {
    const kept: Record<string, ModuleContext> = {};
    const hang = defineModule({
      name: 'hang',
      version: '1.0.0',
      permissions: ['storage:module'],
      activate: (ctx) => {
        kept.hang = ctx;
        return new Promise(() => {});
      },
    });
    const calm = defineModule({
      name: 'calm',
      version: '1.0.0',
      permissions: ['storage:module'],
      activate: (ctx) => {
        kept.calm = ctx;
      },
    });
    const { host, clock } = setup({ modules: [hang, calm], timeouts: { start: 1000 } });
    let done = false;
    const started = host.start().finally(() => {
      done = true;
    });
    await until(
      () => done,
      () => clock.advance(100),
    );
    expect((await started).modules.find((m) => m.name === 'hang')).toMatchObject({ state: 'failed', error: { code: 'ACTIVATION_TIMEOUT' } });
    await expect(kept.hang?.storage.set('after', 1)).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(kept.hang?.signal?.aborted).toBe(true);
    await kept.calm?.storage.set('before', 1);
    await host.stop();
    await expect(kept.calm?.storage.set('after', 1)).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
  });
});

describe('the host sets the weakest tier', () => {
  const greedy = (name = 'greedy') => ({
    manifest: { name, version: '1.0.0', isolation: 'in-process' },
    entry: 'export default { activate: () => ({}) }',
  });

  it('a manifest asking for in-process runs in the host default tier, or where the policy allows', async () => {
    const strict = setup({ defaultIsolation: 'process', minimumIsolation: undefined });
    strict.folder.write('greedy', greedy().manifest, greedy().entry);
    await strict.host.start();
    expect(await statusOf(strict.host, 'greedy')).toMatchObject({ isolation: 'process', active: true });

    const byDefault = setup({ minimumIsolation: undefined });
    byDefault.folder.write('greedy', greedy().manifest, greedy().entry);
    await byDefault.host.start();
    expect(await statusOf(byDefault.host, 'greedy')).toMatchObject({ isolation: 'worker' });

    const allowed = setup({ minimumIsolation: { default: 'process', modules: { greedy: 'in-process' } } });
    allowed.folder.write('greedy', greedy().manifest, greedy().entry);
    allowed.folder.write('other', greedy('other').manifest, greedy('other').entry);
    await allowed.host.start();
    expect((await allowed.host.status()).modules.map((m) => `${m.name} ${m.isolation}`)).toEqual(['greedy in-process', 'other process']);
  });

  it('by trust: a module signed by a trusted key may run in process, an unsigned one may not', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const { folder, host } = setup({ trustedKeys: { team: publicKey }, minimumIsolation: { default: 'worker', signed: 'in-process' } });
    const dir = folder.write('signed', greedy('signed').manifest, greedy('signed').entry);
    const { integrity } = await computeIntegrity(dir);
    writeFileSync(join(dir, 'modhost.sig'), JSON.stringify(signModule({ name: 'signed', version: '1.0.0', integrity }, privateKey, 'team')));
    folder.write('unsigned', greedy('unsigned').manifest, greedy('unsigned').entry);
    await host.start();
    expect((await host.status()).modules.map((m) => `${m.name} ${m.isolation}`)).toEqual(['signed in-process', 'unsigned worker']);
  });

  it('limits for worker guests are set through createHost', async () => {
    const { folder, host, clock } = setup({ limits: { worker: { callTimeoutMs: 200 } } });
    folder.write(
      'spin',
      { name: 'spin', version: '1.0.0', isolation: 'worker', permissions: ['routes:mount'], routes: [{ method: 'GET', path: '/' }] },
      "export default { routes: [{ method: 'GET', path: '/', handler: () => { for (;;) {} } }] }",
    );
    await host.start();
    const http = await serve(host);
    let answer: { status: number; body: Record<string, unknown> } | undefined;
    void http('/spin').then((a) => {
      answer = a;
    });
    await until(
      () => answer !== undefined,
      () => clock.advance(50),
    );
    expect(answer).toMatchObject({ status: 503, body: { code: 'QUOTA_EXCEEDED' } });
  });
});
