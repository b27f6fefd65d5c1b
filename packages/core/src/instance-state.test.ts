import { describe, expect, it } from 'vitest';
import { defineModule } from './define-module.js';
import { createRegistry } from './registry.js';
import { memoryStorage } from './storage.js';

const tasks = defineModule({ name: 'tasks', version: '1.0.0' });

describe('observed state per instance', () => {
  it('two instances on one storage move their own lifecycle states; neither blocks the other', async () => {
    const map = new Map<string, string>();
    const a = createRegistry({ storage: memoryStorage({ map }), instanceId: 'a' });
    const b = createRegistry({ storage: memoryStorage({ map }), instanceId: 'b' });
    await a.register(tasks);
    await b.register(tasks);
    for (const s of ['resolved', 'queued', 'loading', 'starting', 'verifying', 'ready', 'active'] as const) await a.transition('tasks', '1.0.0', s);
    expect((await a.get('tasks', '1.0.0'))?.status).toBe('active');
    expect((await b.get('tasks', '1.0.0'))?.status).toBe('registered');
    await b.transition('tasks', '1.0.0', 'resolved');
    expect((await b.list({ status: 'resolved' })).map((r) => r.name)).toEqual(['tasks']);
    expect(Object.fromEntries(Object.entries(await b.observedBy('a')).map(([k, v]) => [k, v.status]))).toEqual({ 'tasks@1.0.0': 'active' });
  });

  it('a restarted instance with the same id drops its stale observations and starts from registered', async () => {
    const map = new Map<string, string>();
    const before = createRegistry({ storage: memoryStorage({ map }), instanceId: 'web-1' });
    await before.register(tasks);
    for (const s of ['resolved', 'queued', 'loading', 'starting', 'verifying', 'ready', 'active'] as const) await before.transition('tasks', '1.0.0', s);
    // kill -9: nothing was recorded on the way down.
    const after = createRegistry({ storage: memoryStorage({ map }), instanceId: 'web-1' });
    expect((await after.get('tasks', '1.0.0'))?.status).toBe('active');
    expect(await after.resetObserved()).toBe(1);
    expect((await after.get('tasks', '1.0.0'))?.status).toBe('registered');
    await after.transition('tasks', '1.0.0', 'resolved');
  });

  it('leases: alive while renewed, stale once expired, stopped when ended', async () => {
    let now = 1_000;
    const clock = {
      now: () => now,
      advance(ms: number) {
        now += ms;
      },
    };
    const map = new Map<string, string>();
    const a = createRegistry({ storage: memoryStorage({ map }), instanceId: 'a', clock });
    const b = createRegistry({ storage: memoryStorage({ map }), instanceId: 'b', clock });
    await a.renewLease(10_000, { pid: 1 });
    await b.renewLease(10_000);
    clock.advance(5_000);
    await a.renewLease(10_000);
    clock.advance(6_000);
    expect((await b.instances()).map((i) => `${i.instanceId} ${i.alive}`).sort()).toEqual(['a true', 'b false']);
    expect((await b.instances()).find((i) => i.instanceId === 'a')).toMatchObject({ startedAt: 1_000, renewedAt: 6_000, meta: { pid: 1 } });
    await a.endLease();
    expect((await b.instances()).find((i) => i.instanceId === 'a')).toMatchObject({ alive: false, ended: true, renewedAt: 12_000 });
    await expect(createRegistry().renewLease(1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // A day later, what stopped is forgotten by the next instance that prunes; live ones stay.
    await b.renewLease(10_000);
    clock.advance(5_000);
    expect(await b.pruneInstances(4_000)).toEqual(['a']);
    expect((await b.instances()).map((i) => i.instanceId)).toEqual(['b']);
    expect(await b.observedBy('a')).toEqual({});
  });
});
