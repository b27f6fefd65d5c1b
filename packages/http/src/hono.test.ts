import { defineModule } from '@modhost/core';
import { silentLogger } from '@modhost/testkit';
import { Hono } from 'hono';
import { createHost } from 'modhost';
import { afterEach, expect, it } from 'vitest';
import { modhostHono } from './hono.js';

const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

// What the conformance suite cannot ask of every adapter: a body the app's own middleware (a validator) read first.
it('hands the module a body that a middleware before it already read', async () => {
  const module = defineModule({
    name: 'tasks',
    version: '1.0.0',
    permissions: ['routes:mount'],
    routes: [{ method: 'POST', path: '/', handler: (req) => ({ body: { got: req.body ?? null } }) }],
  });
  const host = createHost({ version: '1.0.0', modules: [module], logger: silentLogger, policy: { grant: { '*': ['routes:mount'] } } });
  await host.start();
  stops.push(() => host.stop());
  const app = new Hono();
  const seen: unknown[] = [];
  app.use('/m/*', async (c, next) => {
    seen.push(await c.req.json());
    await next();
  });
  app.use('/m/*', modhostHono(host, { prefix: '/m' }));
  const res = await app.request('/m/tasks', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":"read twice"}' });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ got: { title: 'read twice' } });
  expect(seen).toEqual([{ title: 'read twice' }]);
});
