import { defineModule } from '@modhost/core';
import { silentLogger } from '@modhost/testkit';
import Fastify from 'fastify';
import { createHost } from 'modhost';
import { afterEach, describe, expect, it } from 'vitest';
import { modhostFastify } from './fastify.js';

// What the conformance suite cannot ask of every adapter: errors raised by the app's own Fastify hooks. Over a real
// server, not app.inject(): inject loads light-my-request, whose cookie@2 is ESM-only and needs Node >= 20.19.
const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function appWithHooks() {
  const module = defineModule({
    name: 'tasks',
    version: '1.0.0',
    permissions: ['routes:mount'],
    routes: [{ method: 'GET', path: '/', handler: () => ({ body: 'ok' }) }],
  });
  const host = createHost({ version: '1.0.0', modules: [module], logger: silentLogger, policy: { grant: { '*': ['routes:mount'] } } });
  await host.start();
  const errors: { message: string; requestId: string }[] = [];
  const app = Fastify();
  app.addHook('onRequest', async (request) => {
    if (request.headers['x-deny']) throw Object.assign(new Error('no session'), { statusCode: 401 });
    if (request.headers['x-crash']) throw new Error('the session store said: password hunter2');
  });
  await app.register(modhostFastify(host, { onError: (e, requestId) => errors.push({ message: (e as Error).message, requestId }) }), { prefix: '/m' });
  stops.push(
    () => app.close(),
    () => host.stop(),
  );
  const origin = await app.listen({ port: 0, host: '127.0.0.1' });
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${origin}${path}`, { headers });
    return { status: res.status, headers: res.headers, body: await res.text() };
  };
  return { get, errors };
}

describe('modhostFastify and the app’s own hooks', () => {
  it('keeps the status of a refusal from an app hook (a 401 stays a 401), as a problem document', async () => {
    const { get, errors } = await appWithHooks();
    const res = await get('/m/tasks', { 'x-deny': '1' });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.body)).toMatchObject({ status: 401, title: 'Unauthorized' });
    expect(errors).toEqual([]);
    expect((await get('/m/tasks')).body).toBe('ok');
  });

  it('answers a hook that throws with a 500 that keeps the error text from the client, and tells onError the id the client got', async () => {
    const { get, errors } = await appWithHooks();
    const res = await get('/m/tasks', { 'x-crash': '1', 'x-request-id': 'crash-1' });
    expect(res.status).toBe(500);
    expect(res.headers.get('x-request-id')).toBe('crash-1');
    expect(JSON.parse(res.body)).toMatchObject({ status: 500, requestId: 'crash-1' });
    expect(res.body).not.toContain('hunter2');
    expect(errors).toEqual([{ message: 'the session store said: password hunter2', requestId: 'crash-1' }]);
  });
});

describe('modhostFastify: bodies are read only for admitted requests', () => {
  it('a request no module serves, or one refused, gets its answer before Fastify parses its body', async () => {
    const module = defineModule({
      name: 'tasks',
      version: '1.0.0',
      permissions: ['routes:mount'],
      routes: [
        { method: 'POST', path: '/admin', permission: 'tasks:admin', handler: () => ({ body: 'ok' }) },
        { method: 'POST', path: '/open', handler: (req) => ({ body: { got: req.body ?? null } }) },
      ],
    });
    const host = createHost({ version: '1.0.0', modules: [module], logger: silentLogger, policy: { grant: { '*': ['routes:mount'] } } });
    await host.start();
    let authenticated = 0;
    const app = Fastify();
    const options = {
      maxBodyBytes: 1000,
      authenticate: () => {
        authenticated++;
        return { id: 'ann' };
      },
      onWarning: () => {},
    };
    await app.register(modhostFastify(host, options), { prefix: '/m' });
    stops.push(
      () => app.close(),
      () => host.stop(),
    );
    const origin = await app.listen({ port: 0, host: '127.0.0.1' });
    const post = (path: string, body: string) => fetch(`${origin}/m${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect((await post('/nothing/here', '{')).status).toBe(404);
    expect((await post('/tasks/admin', '{')).status).toBe(403);
    expect((await post('/tasks/admin', JSON.stringify({ x: 'x'.repeat(5000) }))).status).toBe(403);
    const ok = await post('/tasks/open', '{"a":1}');
    expect(await ok.json()).toEqual({ got: { a: 1 } });
    // Once per request a module serves (three), never for the unserved path, and not again when the handler runs.
    expect(authenticated).toBe(3);
  });
});
