import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createJsonLogger, defineModule, fromPino, type Logger } from '@modhost/core';
import { createRequestListener } from '@modhost/http/node';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { testHost } from '../test/folders.js';
import { createHost } from './host.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(host: Parameters<typeof createRequestListener>[0]) {
  const server = createServer(createRequestListener(host, { tenantFromHeader: 'x-tenant' }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });
}

const greeter = defineModule({
  name: 'greeter',
  version: '1.2.0',
  permissions: ['routes:mount'],
  activate: (ctx) => ctx.logger.info('activated'),
  routes: [
    {
      method: 'GET',
      path: '/:who',
      handler: async (req, ctx) => {
        await Promise.resolve();
        ctx.logger.info('greeting', { who: req.params.who });
        if (req.params.who === 'boom') throw new Error('the database password is hunter2');
        return { body: `hello ${req.params.who}` };
      },
    },
  ],
});

function jsonHost(logger: Logger) {
  const host = createHost({ version: '1.0.0', modules: [greeter], logger, policy: { grant: { '*': ['routes:mount'] } } });
  cleanups.push(() => host.stop());
  return host;
}

describe('log records carry the module, version, tenant and request id', () => {
  it('by default as JSON lines: activation, and a request for a tenant with its request id', async () => {
    const lines: string[] = [];
    const host = jsonHost(createJsonLogger({ write: (l) => lines.push(l) }));
    await host.start();
    const get = await serve(host);
    await get('/greeter/ann', { 'x-tenant': 'acme', 'x-request-id': 'req-123' });
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toContainEqual(expect.objectContaining({ level: 'info', msg: 'activated', module: 'greeter', version: '1.2.0' }));
    expect(records).toContainEqual(
      expect.objectContaining({ level: 'info', msg: 'greeting', who: 'ann', module: 'greeter', version: '1.2.0', tenant: 'acme', requestId: 'req-123' }),
    );
  });

  it('a failed request is logged by the host with its request id; the client gets the id, not the text', async () => {
    const lines: string[] = [];
    const host = jsonHost(createJsonLogger({ write: (l) => lines.push(l) }));
    await host.start();
    const get = await serve(host);
    const res = await get('/greeter/boom', { 'x-request-id': 'req-boom' });
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('hunter2');
    const failure = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.msg === 'request failed');
    expect(failure).toMatchObject({ level: 'error', requestId: 'req-boom', error: expect.stringContaining('hunter2') });
  });

  it('an app can pass pino: records keep pino’s format with the same fields', async () => {
    const chunks: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        chunks.push(String(chunk));
        done();
      },
    });
    const host = jsonHost(fromPino(pino({ base: null }, destination)));
    await host.start();
    const get = await serve(host);
    await get('/greeter/bob', { 'x-tenant': 'globex', 'x-request-id': 'req-9' });
    const records = chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toContainEqual(
      expect.objectContaining({ level: 30, msg: 'greeting', module: 'greeter', version: '1.2.0', tenant: 'globex', requestId: 'req-9' }),
    );
  });

  it('a worker module’s records, sent from its guest, carry the same fields', async () => {
    const lines: string[] = [];
    const { host, folder } = testHost(cleanups, {
      logger: createJsonLogger({ write: (l) => lines.push(l) }),
      defaultIsolation: 'worker',
      minimumIsolation: 'worker',
    });
    folder.write(
      'echo',
      { name: 'echo', version: '0.3.0', permissions: ['routes:mount'], routes: [{ method: 'GET', path: '/' }] },
      `export default { routes: [{ method: 'GET', path: '/', handler: async (req, ctx) => { ctx.logger.warn('echoing', { module: 'forged' }); return { body: 'ok' }; } }] };`,
    );
    await host.start();
    const get = await serve(host);
    expect((await get('/echo', { 'x-tenant': 'acme', 'x-request-id': 'req-w' })).status).toBe(200);
    await expect
      .poll(() => lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.msg === 'echoing'))
      .toMatchObject({ level: 'warn', module: 'echo', version: '0.3.0', tenant: 'acme', requestId: 'req-w' });
  });
});
