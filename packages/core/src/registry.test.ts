import semver from 'semver';
import { describe, expect, it, vi } from 'vitest';
import { defineModule } from './define-module.js';
import { isModhostError, ModhostError } from './errors.js';
import type { AnyModuleDefinition } from './module.js';
import { createRegistry, type Registry } from './registry.js';
import { memoryStorage, type StorageAdapter } from './storage.js';

const mod = (name: string, version = '1.0.0', dependencies: Record<string, string> = {}, body = 'ok'): AnyModuleDefinition =>
  defineModule({ name, version, dependencies, description: body, activate: () => body });

const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e) => (e instanceof ModhostError ? e.code : `non-modhost: ${String(e)}`),
  );

function setup(options: Parameters<typeof createRegistry>[0] = {}) {
  let now = 1_000;
  const clock = { now: () => now, tick: (ms = 1) => (now += ms) };
  const registry = createRegistry({ storage: memoryStorage(), clock, satisfies: semver.satisfies, ...options });
  return { registry, clock };
}

describe('registry: registration', () => {
  it('registers several versions, lists them sorted and gets each', async () => {
    const { registry } = setup();
    for (const v of ['1.10.0', '1.2.0', '2.0.0-beta.1', '2.0.0']) await registry.register(mod('tasks', v));
    await registry.register(mod('notes'));
    expect((await registry.list()).map((r) => `${r.name}@${r.version}`)).toEqual([
      'notes@1.0.0',
      'tasks@1.2.0',
      'tasks@1.10.0',
      'tasks@2.0.0-beta.1',
      'tasks@2.0.0',
    ]);
    const rec = await registry.get('tasks', '1.2.0');
    expect(rec).toMatchObject({
      name: 'tasks',
      version: '1.2.0',
      status: 'registered',
      registeredAt: 1000,
      history: [{ from: null, to: 'registered', at: 1000 }],
    });
    expect(registry.getDefinition('tasks', '1.2.0')?.version).toBe('1.2.0');
    expect(await registry.get('tasks', '9.9.9')).toBeUndefined();
  });

  it('treats the same content as a no-op and different content as MODULE_VERSION_CONFLICT', async () => {
    const { registry } = setup();
    const events: string[] = [];
    registry.on('module:registered', (e) => events.push(`${e.name}@${e.version}`));
    await registry.register(mod('tasks', '1.0.0', {}, 'a'));
    await registry.transition('tasks', '1.0.0', 'resolved');
    await registry.register(mod('tasks', '1.0.0', {}, 'a'));
    expect((await registry.get('tasks', '1.0.0'))?.status).toBe('resolved');
    expect(events).toEqual(['tasks@1.0.0']);
    const conflict = registry.register(mod('tasks', '1.0.0', {}, 'b'));
    await expect(conflict).rejects.toMatchObject({ code: 'MODULE_VERSION_CONFLICT', details: { module: 'tasks', version: '1.0.0' } });
    await expect(registry.register(mod('tasks', '1.0.0', {}, 'b'))).rejects.toThrow(/publish the change as a new version/);
    // Code counts as content too.
    const a = defineModule({ name: 'code', version: '1.0.0', activate: () => 'a' });
    const b = defineModule({ name: 'code', version: '1.0.0', activate: () => 'b' });
    await registry.register(a);
    expect(await codeOf(registry.register(b))).toBe('MODULE_VERSION_CONFLICT');
  });

  it('rejects an invalid definition from plain JS with every issue', async () => {
    const { registry } = setup();
    const err = await registry.register({ name: 'x', version: 'one', extra: 1 } as never).catch((e) => e);
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.details.issues.map((i: { path: string[] }) => i.path.join('.'))).toEqual(['extra', 'version']);
    expect(await registry.list()).toEqual([]);
  });

  it('filters by name, status and tenant', async () => {
    const { registry } = setup();
    await registry.register(mod('a'));
    await registry.register(mod('b'));
    await registry.register(mod('b', '2.0.0'));
    await registry.transition('b', '2.0.0', 'resolved');
    await registry.enable('a', { tenant: 'acme' });
    expect((await registry.list({ name: 'b' })).map((r) => r.version)).toEqual(['1.0.0', '2.0.0']);
    expect((await registry.list({ status: 'resolved' })).map((r) => `${r.name}@${r.version}`)).toEqual(['b@2.0.0']);
    expect((await registry.list({ status: ['registered', 'resolved'] })).length).toBe(3);
    expect((await registry.list({ tenant: 'acme' })).map((r) => r.name)).toEqual(['a']);
  });
});

describe('registry: lifecycle records', () => {
  it('keeps a failed module with its error, phase and cause', async () => {
    const { registry, clock } = setup();
    await registry.register(mod('tasks'));
    for (const s of ['resolved', 'queued', 'loading', 'starting'] as const) await registry.transition('tasks', '1.0.0', s);
    clock.tick(50);
    const cause = new Error('connection refused');
    await registry.transition('tasks', '1.0.0', 'failed', { phase: 'start', error: new Error('db down', { cause }) });
    const rec = await registry.get('tasks', '1.0.0');
    expect(rec?.status).toBe('failed');
    expect(rec?.lastError).toEqual({ code: 'Error', message: 'db down', phase: 'start', timedOut: false, cause: 'Error: connection refused', at: 1050 });
    const timeout = new ModhostError('ACTIVATION_TIMEOUT', 'start took too long');
    await registry.transition('tasks', '1.0.0', 'resolved');
    await registry.transition('tasks', '1.0.0', 'queued');
    await registry.transition('tasks', '1.0.0', 'failed', { phase: 'load', error: timeout });
    expect((await registry.get('tasks', '1.0.0'))?.lastError).toMatchObject({ code: 'ACTIVATION_TIMEOUT', timedOut: true, phase: 'load' });
    expect((await registry.list({ status: 'failed' })).length).toBe(1);
  });

  it('bounds the history and counts what it dropped', async () => {
    const { registry } = setup({ historyLimit: 5 });
    await registry.register(mod('m'));
    for (let i = 0; i < 10; i++) {
      await registry.transition('m', '1.0.0', 'resolved');
      await registry.transition('m', '1.0.0', 'registered');
    }
    const rec = await registry.get('m', '1.0.0');
    expect(rec?.history).toHaveLength(5);
    expect(rec?.historyDropped).toBe(16);
    expect(rec?.history.at(-1)).toMatchObject({ from: 'resolved', to: 'registered' });
  });

  it('refuses illegal transitions, unknown states and unknown modules', async () => {
    const { registry } = setup();
    await registry.register(mod('m'));
    expect(await codeOf(registry.transition('m', '1.0.0', 'active'))).toBe('ILLEGAL_TRANSITION');
    expect(await codeOf(registry.transition('m', '1.0.0', 'dancing' as never))).toBe('ILLEGAL_TRANSITION');
    expect(await codeOf(registry.transition('nope', '1.0.0', 'resolved'))).toBe('MODULE_NOT_FOUND');
    expect((await registry.get('m', '1.0.0'))?.history).toHaveLength(1);
  });

  it('isolates a throwing listener from the registry and from other listeners', async () => {
    const errors: unknown[] = [];
    const { registry } = setup({ onListenerError: (e) => errors.push(e) });
    const seen: string[] = [];
    registry.on('module:transition', () => {
      throw new Error('listener bug');
    });
    registry.on('module:transition', async () => {
      throw new Error('async listener bug');
    });
    registry.on('module:transition', (e) => seen.push(e.to));
    await registry.register(mod('m'));
    await registry.transition('m', '1.0.0', 'resolved');
    await vi.waitFor(() => expect(errors).toHaveLength(4));
    expect(seen).toEqual(['registered', 'resolved']);
    expect((await registry.get('m', '1.0.0'))?.status).toBe('resolved');
  });
});

describe('registry: desired and rejected versions', () => {
  it('tracks the desired version and falls back when it is rejected', async () => {
    const { registry } = setup();
    await registry.register(mod('billing', '1.0.0'));
    await registry.register(mod('billing', '2.0.0'));
    const events: unknown[] = [];
    registry.onAny((name, payload) => events.push([name, payload]));
    await registry.setDesiredVersion('billing', '1.0.0');
    await registry.setDesiredVersion('billing', '2.0.0');
    const after = await registry.rejectVersion('billing', '2.0.0', 'health check failed 3 times');
    expect(after.desiredVersion).toBe('1.0.0');
    expect(after.rejected).toEqual([{ version: '2.0.0', reason: 'health check failed 3 times', at: 1000 }]);
    expect(events.map((e) => (e as [string])[0])).toEqual(['module:desired', 'module:desired', 'module:rejected', 'module:desired']);
    expect((await registry.clearRejection('billing', '2.0.0')).rejected).toEqual([]);
    expect(await codeOf(registry.setDesiredVersion('billing', '3.0.0'))).toBe('MODULE_NOT_FOUND');
  });
});

describe('registry: unregister', () => {
  async function graph(registry: Registry) {
    await registry.register(mod('auth', '1.0.0'));
    await registry.register(mod('auth', '1.1.0'));
    await registry.register(mod('auth', '2.0.0'));
    await registry.register(mod('tasks', '1.0.0', { auth: '^1.0.0' }));
    await registry.register(mod('reports', '1.0.0', { tasks: '^1.0.0' }));
  }

  it('removes a version when another still satisfies every dependent', async () => {
    const { registry } = setup();
    await graph(registry);
    expect(await registry.unregister('auth', '1.0.0')).toEqual(['auth@1.0.0']);
    expect(await registry.unregister('auth', '2.0.0')).toEqual(['auth@2.0.0']);
  });

  it('refuses to remove the last matching version, naming the dependents', async () => {
    const { registry } = setup();
    await graph(registry);
    await registry.unregister('auth', '1.0.0');
    const err = await registry.unregister('auth', '1.1.0').catch((e) => e);
    expect(err.code).toBe('MODULE_IN_USE');
    expect(err.message).toContain('tasks@1.0.0 needs auth ^1.0.0');
    expect(err.message).toContain('cascade');
    expect(await registry.get('auth', '1.1.0')).toBeDefined();
  });

  it('cascades through dependents when asked', async () => {
    const { registry } = setup();
    await graph(registry);
    const removed = await registry.unregister('auth', undefined, { cascade: true });
    expect(removed.sort()).toEqual(['auth@1.0.0', 'auth@1.1.0', 'auth@2.0.0', 'reports@1.0.0', 'tasks@1.0.0']);
    expect(await registry.list()).toEqual([]);
    expect(await registry.getModule('auth')).toBeUndefined();
  });

  it('without a range matcher, protects only the last version of a depended-on module', async () => {
    const registry = createRegistry({ storage: memoryStorage() });
    await graph(registry);
    await registry.unregister('auth', '1.0.0');
    await registry.unregister('auth', '2.0.0');
    expect(await codeOf(registry.unregister('auth', '1.1.0'))).toBe('MODULE_IN_USE');
  });

  it('reports an unknown module with the versions it has', async () => {
    const { registry } = setup();
    await graph(registry);
    const err = await registry.unregister('auth', '9.0.0').catch((e) => e);
    expect(isModhostError(err, 'MODULE_NOT_FOUND')).toBe(true);
    expect(err.message).toContain('registered versions: 1.0.0, 1.1.0, 2.0.0');
  });
});

describe('registry: storage failures', () => {
  it('wraps adapter errors in STORAGE_ADAPTER_FAILED with the cause, and loses nothing', async () => {
    const map = new Map<string, string>();
    const inner = memoryStorage({ map });
    let failing = false;
    const flaky: StorageAdapter = {
      ...inner,
      name: 'flaky',
      compareAndSet: (k, e, n) => {
        if (failing) throw new Error('ECONNRESET');
        return inner.compareAndSet(k, e, n);
      },
    };
    const registry = createRegistry({ storage: flaky });
    await registry.register(mod('tasks'));
    failing = true;
    const err = await registry.transition('tasks', '1.0.0', 'resolved').catch((e) => e);
    expect(err).toBeInstanceOf(ModhostError);
    expect(err.code).toBe('STORAGE_ADAPTER_FAILED');
    expect(err.cause.message).toBe('ECONNRESET');
    expect(err.details).toMatchObject({ adapter: 'flaky', operation: 'compareAndSet' });
    failing = false;
    expect((await registry.get('tasks', '1.0.0'))?.status).toBe('registered');
  });

  it('refuses foreign data and envelopes from a newer modhost', async () => {
    const map = new Map<string, string>();
    const registry = createRegistry({ storage: memoryStorage({ map }) });
    await registry.register(mod('tasks'));
    const [key] = [...map.keys()].filter((k) => k.startsWith('modhost:v:'));
    map.set(key as string, 'not json');
    expect(await codeOf(registry.get('tasks', '1.0.0'))).toBe('STORAGE_DATA_INVALID');
    map.set(key as string, JSON.stringify({ modhost: 99, kind: 'module-version', data: {} }));
    await expect(registry.get('tasks', '1.0.0')).rejects.toThrow(/newer modhost/);
  });

  it('gives up with STORAGE_CONFLICT when it keeps losing compare-and-set races', async () => {
    const inner = memoryStorage();
    const registry = createRegistry({ storage: { ...inner, compareAndSet: () => false }, casMaxAttempts: 3 });
    expect(await codeOf(registry.register(mod('tasks')))).toBe('STORAGE_CONFLICT');
  });

  it('keeps two namespaces in one storage apart', async () => {
    const storage = memoryStorage();
    const a = createRegistry({ storage, namespace: 'app-a' });
    const b = createRegistry({ storage, namespace: 'app-b' });
    await a.register(mod('tasks'));
    expect(await b.list()).toEqual([]);
  });
});
