import { type AnyModuleDefinition, defineModule, memoryStorage, type StorageAdapter } from '@modhost/core';
import { createFakeClock, silentLogger } from '@modhost/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { tasksVersion } from '../test/modules.js';
import { createHost, type Host, type HostOptions } from './host.js';

const hosts: Host[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.stop();
});

const clock = createFakeClock({ now: 1_000 });
const tasks = tasksVersion;

function instance(storage: StorageAdapter, instanceId: string, modules: AnyModuleDefinition[] = [tasks('1.0.0')], extra: Partial<HostOptions> = {}) {
  const host = createHost({
    version: '1.0.0',
    storage,
    modules,
    instanceId,
    clock,
    leaseMs: 3_000,
    logger: silentLogger,
    policy: { grant: { '*': ['routes:mount'] } },
    rollbackWindowMs: 60_000,
    ...extra,
  });
  hosts.push(host);
  return host;
}
const tick = () => new Promise((r) => setImmediate(r));
async function until(done: () => boolean | Promise<boolean>) {
  for (let i = 0; i < 2_000; i++) {
    if (await done()) return;
    clock.advance(1_000);
    await tick();
  }
  throw new Error('the fleet never converged');
}

describe('state that survives crashes', () => {
  it('after a crash (kill -9: no stop), the same instance starts again from the desired state', async () => {
    const map = new Map<string, string>();
    const first = instance(memoryStorage({ map }), 'web-1');
    await first.start();
    hosts.splice(hosts.indexOf(first), 1); // it dies without stopping: its records still say active
    const again = instance(memoryStorage({ map }), 'web-1');
    expect((await again.start()).ok).toBe(true);
    expect((await again.status()).modules).toMatchObject([{ name: 'tasks', version: '1.0.0', state: 'active' }]);
  });

  it('a rolled-back version does not serve again after a restart', async () => {
    const map = new Map<string, string>();
    const both = () => [tasks('1.0.0'), tasks('1.1.0')];
    const first = instance(memoryStorage({ map }), 'web-1', both());
    await first.start();
    expect(first.api('tasks')).toEqual({ version: '1.1.0' });
    await first.upgrade('tasks', '1.0.0');
    await first.upgrade('tasks', '1.1.0');
    expect((await first.rollback('tasks')).outcome).toBe('rolled-back');
    expect(first.api('tasks')).toEqual({ version: '1.0.0' });
    await first.stop();
    hosts.splice(hosts.indexOf(first), 1);
    const again = instance(memoryStorage({ map }), 'web-1', both());
    await again.start();
    expect(again.api('tasks')).toEqual({ version: '1.0.0' });
  });
});

describe('a fleet on one storage', () => {
  it('a second instance starts beside the first; each keeps its own states; the fleet view shows both', async () => {
    const storage = memoryStorage();
    const a = instance(storage, 'web-a');
    const b = instance(storage, 'web-b');
    await a.start();
    expect((await b.start()).ok).toBe(true);
    const fleet = await b.fleet();
    expect(fleet.map((i) => `${i.id} ${i.alive} ${i.modules.map((m) => `${m.name}@${m.version} ${m.state}`).join(',')}`)).toEqual([
      'web-a true tasks@1.0.0 active',
      'web-b true tasks@1.0.0 active',
    ]);
    expect((await b.status()).instance).toEqual({ id: 'web-b' });
    // Each instance publishes the health of what it serves with its lease renewal.
    await until(async () => (await b.fleet()).every((i) => i.modules.every((m) => m.health === 'ok')));
    // And how long each phase of its last start took there.
    expect((await b.fleet()).map((i) => Object.keys(i.modules[0]?.timings ?? {}).sort())).toEqual([
      ['load', 'start', 'verify'],
      ['load', 'start', 'verify'],
    ]);
    await a.stop();
    hosts.splice(hosts.indexOf(a), 1);
    expect((await b.fleet()).map((i) => `${i.id} alive=${i.alive} stopped=${i.stopped}`)).toEqual([
      'web-a alive=false stopped=true',
      'web-b alive=true stopped=false',
    ]);
  });

  it('converges on what another instance changed: tenant enablement (watch), an upgrade and a rollback (desired version)', async () => {
    const storage = memoryStorage();
    const both = () => [tasks('1.0.0'), tasks('1.1.0')];
    const a = instance(storage, 'web-a', both(), { modules: [tasks('1.0.0')] });
    const b = instance(storage, 'web-b', both());
    await a.start();
    await b.start();
    // b started on the desired version a recorded (1.0.0), though it holds 1.1.0 too.
    expect(b.api('tasks')).toEqual({ version: '1.0.0' });
    // a upgrades: the desired version moves, and b follows through its own health gate.
    await a.install(tasks('1.1.0'));
    expect(a.api('tasks')).toEqual({ version: '1.1.0' });
    await until(() => (b.api('tasks') as { version: string } | undefined)?.version === '1.1.0');
    await a.enable('tasks', { tenant: 'acme' });
    await until(() => b.isEnabled('tasks', 'acme'));
    await a.disable('tasks', { tenant: 'acme' });
    await until(() => !b.isEnabled('tasks', 'acme'));
    // A rollback on a rejects 1.1.0 and moves the desired version back: b follows through its health gate.
    expect((await a.rollback('tasks')).outcome).toBe('rolled-back');
    await until(() => (b.api('tasks') as { version: string } | undefined)?.version === '1.0.0');
  });

  it('a change made while an instance is down is applied when it comes back', async () => {
    const map = new Map<string, string>();
    const a = instance(memoryStorage({ map }), 'web-a');
    await a.start();
    await a.enable('tasks', { tenant: 'globex' });
    const b = instance(memoryStorage({ map }), 'web-b');
    await b.start();
    expect(b.isEnabled('tasks', 'globex')).toBe(true);
  });

  it('the storage lost while running: modules keep serving, management fails clearly, convergence resumes when it is back', async () => {
    const map = new Map<string, string>();
    let down = false;
    const inner = memoryStorage({ map });
    const flaky: StorageAdapter = {
      name: 'flaky',
      get: (k) => (down ? Promise.reject(new Error('connection lost')) : inner.get(k)),
      set: (k, v) => (down ? Promise.reject(new Error('connection lost')) : inner.set(k, v)),
      delete: (k) => (down ? Promise.reject(new Error('connection lost')) : inner.delete(k)),
      keys: (p) => (down ? Promise.reject(new Error('connection lost')) : inner.keys(p)),
      compareAndSet: (k, e, n) => (down ? Promise.reject(new Error('connection lost')) : inner.compareAndSet(k, e, n)),
    };
    const a = instance(flaky, 'web-a');
    const b = instance(memoryStorage({ map }), 'web-b');
    await a.start();
    await b.start();
    const errors: string[] = [];
    a.events.on('watch:error', (e) => void errors.push(e.message));
    down = true;
    expect(a.api('tasks')).toEqual({ version: '1.0.0' });
    const served = await a.router.handle('GET', '/tasks', (d) => d.handler({ method: 'GET', path: '/', params: {}, query: {}, headers: {} }));
    expect(served?.body).toBe('1.0.0');
    await expect(a.enable('tasks', { tenant: 'acme' })).rejects.toMatchObject({ code: 'STORAGE_ADAPTER_FAILED' });
    // Meanwhile another instance changes the desired state; a has no watch here, its periodic re-read fails for now.
    await b.enable('tasks', { tenant: 'initech' });
    await until(() => errors.length > 0);
    // a still serves what it last read: tasks host-wide, so also a request with no tenant.
    expect(a.isEnabled('tasks', undefined)).toBe(true);
    down = false;
    // Back: b's enable made tasks tenant-gated, and a follows.
    await until(() => !a.isEnabled('tasks', undefined));
    expect(a.isEnabled('tasks', 'initech')).toBe(true);
    expect(a.isEnabled('tasks', 'globex')).toBe(false);
  });

  it('config changed on one instance reaches the running module on every instance (ctx.config and its reconfigure hook)', async () => {
    const { z } = await import('zod');
    const told: string[] = [];
    const greeter = () =>
      defineModule({
        name: 'greeter',
        version: '1.0.0',
        config: { schema: z.object({ greeting: z.string() }), defaults: { greeting: 'hello' } },
        activate: (ctx) => ({ greet: () => ctx.config.greeting }),
        reconfigure: (config) => void told.push(config.greeting),
      });
    const storage = memoryStorage();
    const a = instance(storage, 'web-a', [greeter()]);
    const b = instance(storage, 'web-b', [greeter()]);
    await a.start();
    await b.start();
    const greetOn = (h: Host) => (h.api('greeter') as { greet(): string }).greet();
    expect([greetOn(a), greetOn(b)]).toEqual(['hello', 'hello']);
    await a.configure('greeter', { greeting: 'bonjour' });
    expect(greetOn(a)).toBe('bonjour');
    await until(() => greetOn(b) === 'bonjour');
    expect(told.sort()).toEqual(['bonjour', 'bonjour']);
  });

  it('a module uninstalled through one instance stops on the others', async () => {
    const storage = memoryStorage();
    const a = instance(storage, 'web-a');
    const b = instance(storage, 'web-b');
    await a.start();
    await b.start();
    const removed: string[] = [];
    b.events.on('module:removed', (e) => void removed.push(`${e.name}@${e.version}`));
    await a.uninstall('tasks');
    await until(() => removed.length > 0);
    expect(removed).toEqual(['tasks@1.0.0']);
    expect(b.api('tasks')).toBeUndefined();
    // Nobody's fleet entry still claims to run it.
    expect((await a.fleet()).flatMap((i) => i.modules.map((m) => `${i.id} ${m.name}@${m.version} ${m.state}`))).not.toContain('web-b tasks@1.0.0 active');
    // Restarted with the module in its code, b does not bring it back; an explicit install does.
    await b.stop();
    hosts.splice(hosts.indexOf(b), 1);
    const b2 = instance(storage, 'web-b');
    await b2.start();
    expect(b2.api('tasks')).toBeUndefined();
    await b2.install(tasks('1.0.0'));
    expect(b2.api('tasks')).toEqual({ version: '1.0.0' });
  });

  it('an instance that starts without the desired version runs what it has and does not move the fleet', async () => {
    const storage = memoryStorage();
    const a = instance(storage, 'web-a', [tasks('1.0.0'), tasks('1.2.0')]);
    await a.start();
    expect(a.api('tasks')).toEqual({ version: '1.2.0' });
    const failures: string[] = [];
    const b = instance(storage, 'web-b', [tasks('1.0.0')]);
    b.events.on('module:upgrade-failed', (e) => void failures.push(`${e.code} ${e.to}`));
    await b.start();
    expect(b.api('tasks')).toEqual({ version: '1.0.0' });
    await until(() => failures.length > 0);
    expect(failures).toEqual(['VERSION_UNAVAILABLE 1.2.0']);
    expect((await a.registry.getModule('tasks'))?.desiredVersion).toBe('1.2.0');
    expect(a.api('tasks')).toEqual({ version: '1.2.0' });
  });

  it('a follower whose gate refuses the new version keeps its old one, and the version is not rejected for the fleet', async () => {
    const storage = memoryStorage();
    // The same code on both (one fingerprint), healthy on a and not on b: b's database, say, is down.
    const v11 = (ok: boolean) => defineModule({ ...tasks('1.1.0'), health: () => ok });
    const a = instance(storage, 'web-a', [tasks('1.0.0')], { health: { failureThreshold: 1 } });
    const b = instance(storage, 'web-b', [tasks('1.0.0'), v11(false)], { health: { failureThreshold: 1 } });
    await a.start();
    await b.start();
    expect(b.api('tasks')).toEqual({ version: '1.0.0' });
    const failed: string[] = [];
    b.events.on('module:upgrade-failed', (e) => void failed.push(`${e.code} ${e.to}`));
    await a.install(v11(true));
    await until(() => failed.length > 0);
    expect(failed).toEqual(['HEALTH_CHECK_FAILED 1.1.0']);
    expect(b.api('tasks')).toEqual({ version: '1.0.0' });
    expect(a.api('tasks')).toEqual({ version: '1.1.0' });
    expect(await a.registry.getModule('tasks')).toMatchObject({ desiredVersion: '1.1.0', rejected: [] });
  });
});
