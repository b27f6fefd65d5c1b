import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AnyModuleDefinition, defineModule, type HealthResult } from '@modhost/core';
import { createFakeClock, silentLogger } from '@modhost/testkit';
import { createHost, type Host } from 'modhost';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealthEndpoints, type HealthEndpointsOptions } from './health.js';
import { createRequestListener, fromNodeRequest, sendNodeResponse } from './node.js';
import { createHttpHandler } from './pipeline.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const listen = async (server: Server) => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

/** One server: the health endpoints first, then the modules' routes. */
async function serve(host: Host, options: HealthEndpointsOptions = {}) {
  const health = createHealthEndpoints(host, options);
  cleanups.push(() => health.close());
  const modules = createHttpHandler(host, { onError: () => {} });
  const base = await listen(
    createServer(async (req, res) => {
      const request = fromNodeRequest(req);
      sendNodeResponse(res, (await health.handle(request)) ?? (await modules.handle(request)) ?? modules.notFound(request));
    }),
  );
  return async (path: string, method = 'GET') => {
    const res = await fetch(`${base}${path}`, { method });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type'), body: text ? JSON.parse(text) : undefined, text };
  };
}

const switchable = (name: string, extra: Record<string, unknown> = {}) => {
  const state = { result: true as HealthResult };
  const def: AnyModuleDefinition = defineModule({
    name,
    version: '1.0.0',
    permissions: ['routes:mount'],
    health: () => state.result,
    routes: [{ method: 'GET', path: '/ping', handler: () => ({ status: 200, body: { pong: true } }) }],
    ...extra,
  });
  return { def, state };
};

const hostOf = (modules: AnyModuleDefinition[], clock = createFakeClock()) => {
  const host = createHost({
    version: '1.0.0',
    modules,
    clock,
    logger: silentLogger,
    policy: { grant: { '*': ['routes:mount'] } },
    healthMonitor: { periodMs: 1000, failureThreshold: 2, modules: { svc: { policy: 'unroute' } } },
  });
  cleanups.push(() => host.stop());
  return { host, clock };
};

describe('/livez and /readyz over node:http', () => {
  it('readyz: 503 before start, 200 once every module serves, 503 with the reason while one fails; its routes answer 503 (unroute)', async () => {
    const svc = switchable('svc');
    const db = switchable('db');
    const { host, clock } = hostOf([db.def, svc.def]);
    const get = await serve(host);
    expect(await get('/readyz')).toMatchObject({ status: 503, body: { status: 'fail', reasons: [{ reason: 'the host has not started' }] } });

    await host.start();
    expect(await get('/readyz')).toMatchObject({ status: 200, type: 'application/json; charset=utf-8', body: { status: 'ok', checked: 2 } });
    expect(await get('/svc/ping')).toMatchObject({ status: 200, body: { pong: true } });

    svc.state.result = { status: 'fail', detail: 'queue unreachable' };
    await clock.advanceAsync(1000);
    // degraded (one failure) is still ready
    expect((await get('/readyz')).status).toBe(200);
    await clock.advanceAsync(1000);
    const down = await get('/readyz');
    expect(down).toMatchObject({ status: 503, body: { status: 'fail', reasons: [{ module: 'svc', reason: 'failing its health probes' }] } });
    expect(down.body.reasons[0].detail).toContain('queue unreachable');
    const refused = await get('/svc/ping');
    expect(refused).toMatchObject({ status: 503, type: 'application/problem+json', body: { status: 503, code: 'MODULE_UNHEALTHY' } });
    const status = (await host.status()).modules.find((m) => m.name === 'svc');
    expect(status?.health.status).toBe('fail');
    expect(status?.monitor).toMatchObject({ unrouted: true, history: [{ status: 'degraded' }, { status: 'fail', action: 'unrouted' }] });

    svc.state.result = true;
    await clock.advanceAsync(1000);
    expect((await get('/readyz')).status).toBe(200);
    expect(await get('/svc/ping')).toMatchObject({ status: 200, body: { pong: true } });
  });

  it('readyz names a module that failed to start, without its error text; `required` narrows what it waits for', async () => {
    const bad: AnyModuleDefinition = defineModule({
      name: 'bad',
      version: '1.0.0',
      activate: () => {
        throw new Error('connect failed: postgres://admin:s3cret@db');
      },
    });
    const good = switchable('good');
    const { host } = hostOf([good.def, bad]);
    await host.start();
    const all = await serve(host);
    const r = await all('/readyz');
    expect(r).toMatchObject({ status: 503, body: { reasons: [{ module: 'bad', reason: 'not active (failed)', code: 'Error' }] } });
    expect(r.text).not.toContain('s3cret');

    const onlyGood = await serve(host, { required: ['good'] });
    expect(await onlyGood('/readyz')).toMatchObject({ status: 200, body: { status: 'ok', checked: 1 } });
    const ghost = await serve(host, { required: ['good', 'ghost'] });
    expect(await ghost('/readyz')).toMatchObject({ status: 503, body: { reasons: [{ module: 'ghost', reason: 'not installed' }] } });
  });

  it('livez: 200 while the event loop answers in time, 503 when it was blocked beyond the limit; HEAD has no body', async () => {
    const { host } = hostOf([]);
    let delay = 10;
    const get = await serve(host, { eventLoopDelay: () => delay, eventLoopDelayLimitMs: 1000 });
    expect(await get('/livez')).toMatchObject({ status: 200, body: { status: 'ok' } });
    delay = 4000;
    expect(await get('/livez')).toMatchObject({ status: 503, body: { status: 'fail', eventLoopDelayMs: 4000 } });
    delay = 10;
    expect(await get('/livez', 'HEAD')).toMatchObject({ status: 200, text: '' });
    expect((await get('/livez', 'POST')).status).toBe(405);
    // Not ours: passed on to the modules (none here), so 404.
    expect((await get('/healthz')).status).toBe(404);
  });

  it('mounts alone with an adapter, measuring the real event loop', async () => {
    const { host } = hostOf([]);
    const health = createHealthEndpoints(host, { eventLoopDelayLimitMs: 60_000 });
    cleanups.push(() => health.close());
    const base = await listen(createServer(createRequestListener(health)));
    const live = await fetch(`${base}/livez`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
