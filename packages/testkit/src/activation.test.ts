import { type BoundHandler, createRouter } from '@modhost/activation';
import { defineModule } from '@modhost/core';
import { describe, expect, it } from 'vitest';
import { createActivationHarness } from './activation.js';
import { drive } from './drive.js';
import { createFakeClock } from './fake-clock.js';
import { fixtureModule } from './fixtures.js';

/** A `tasks` version whose routes answer with the version and echo the request. */
const tasks = (version: string) =>
  defineModule({
    name: 'tasks',
    version,
    routes: [
      { method: 'GET', path: '/', handler: () => ({ body: version }) },
      { method: 'POST', path: '/echo/:id', handler: (req) => ({ status: 201, body: { id: req.params.id, query: req.query, body: req.body } }) },
    ],
    activate: () => ({ version }),
  });

describe('createActivationHarness', () => {
  it('registers every version, activates the first of each name, and serves its routes', async () => {
    const { registry, activator, activate, call } = await createActivationHarness([tasks('1.0.0'), fixtureModule('notes'), tasks('1.1.0')]);
    expect(await registry.get('tasks', '1.1.0')).toMatchObject({ status: 'registered' });
    const report = await activate();
    expect(report.ok).toBe(true);
    expect(report.modules.map((m) => `${m.name}@${m.version}`).sort()).toEqual(['notes@1.0.0', 'tasks@1.0.0']);
    expect((await call('GET', '/tasks'))?.body).toBe('1.0.0');
    expect(await call('POST', '/tasks/echo/7', { query: { q: 'x' }, body: { title: 'a' } })).toEqual({
      status: 201,
      body: { id: '7', query: { q: 'x' }, body: { title: 'a' } },
    });
    expect(await call('GET', '/nowhere')).toBeUndefined();
    expect(await activator.upgrade('tasks', '1.1.0')).toMatchObject({ ok: true, outcome: 'switched' });
    expect((await call('GET', '/tasks'))?.body).toBe('1.1.0');
  });

  it('activates the roots it is given, resolved against every version', async () => {
    const { plan, activate, activator } = await createActivationHarness([tasks('1.0.0'), tasks('1.1.0')]);
    expect(plan({ tasks: '^1.0.0' }).versionOf('tasks')).toBe('1.1.0');
    await activate({ tasks: '^1.0.0' });
    expect(activator.api('tasks')).toEqual({ version: '1.1.0' });
    expect(() => plan({ tasks: '^2.0.0' })).toThrow();
  });

  it('uses the clock, router and activator options it is given', async () => {
    const clock = createFakeClock({ now: 5_000 });
    const router = createRouter<BoundHandler>();
    const hang = fixtureModule('hang', '1.0.0', { activate: () => new Promise(() => {}) });
    const h = await createActivationHarness([hang], { clock, router, timeouts: { start: 1_000 } });
    expect(h.clock).toBe(clock);
    expect(h.router).toBe(router);
    const report = await drive(clock, h.activate());
    expect(report.modules[0]).toMatchObject({ state: 'failed', phase: 'start', error: { code: 'ACTIVATION_TIMEOUT' } });
    expect(clock.now()).toBe(6_000);
  });

  it('with `activate: true`, returns once the first versions are active, or throws when they are not', async () => {
    const { activator } = await createActivationHarness([tasks('1.0.0'), tasks('1.1.0')], { activate: true });
    expect(activator.versionOf('tasks')).toBe('1.0.0');
    const broken = fixtureModule('broken', '1.0.0', {
      activate: () => {
        throw new Error('no database');
      },
    });
    await expect(createActivationHarness([broken], { activate: true })).rejects.toThrow(/the first activation failed: .*no database/);
  });
});
