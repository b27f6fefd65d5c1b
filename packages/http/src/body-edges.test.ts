import { createServer } from 'node:http';
import { defineModule } from '@modhost/core';
import { silentLogger } from '@modhost/testkit';
import { serveOnLoopback } from '@modhost/testkit/http';
import express from 'express';
import { createHost } from 'modhost';
import { expect, it } from 'vitest';
import { modhostExpress } from './express.js';
import { createRequestListener } from './node.js';

const tasks = defineModule({
  name: 'tasks',
  version: '1.0.0',
  permissions: ['routes:mount'],
  routes: [
    { method: 'POST', path: '/body', handler: (req) => ({ body: { got: req.body ?? null } }) },
    { method: 'DELETE', path: '/item', accepts: 'application/json', handler: () => ({ status: 204 }) },
  ],
});
const started = async () => {
  const host = createHost({ version: '1.0.0', modules: [tasks], logger: silentLogger, policy: { grant: { '*': ['routes:mount'] } } });
  await host.start();
  return host;
};

it('a request with no body (no content-length, no transfer-encoding) reaches a route that declares accepts', async () => {
  const host = await started();
  const server = await serveOnLoopback(createServer(createRequestListener(host)));
  const res = await fetch(`${server.url}/tasks/item`, { method: 'DELETE' });
  await server.close();
  await host.stop();
  expect(res.status).toBe(204);
});

it('maxBodyBytes applies to a body the framework parsed (express.json() before the middleware)', async () => {
  const host = await started();
  const app = express();
  app.use(express.json()); // its own default limit: 100kb
  app.use(modhostExpress(host, { maxBodyBytes: 64 }));
  const server = await serveOnLoopback(createServer(app));
  const res = await fetch(`${server.url}/tasks/body`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'x'.repeat(200) }),
  });
  await server.close();
  await host.stop();
  expect(res.status).toBe(413);
});

it('maxBodyBytes holds for a compressed body a parser inflated (its declared length is the compressed one)', async () => {
  const { gzipSync } = await import('node:zlib');
  const host = await started();
  const app = express();
  app.use(express.json({ limit: '10mb' }));
  app.use(modhostExpress(host, { maxBodyBytes: 1000 }));
  const server = await serveOnLoopback(createServer(app));
  const res = await fetch(`${server.url}/tasks/body`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: gzipSync(JSON.stringify({ x: 'x'.repeat(200_000) })),
  });
  await server.close();
  await host.stop();
  expect(res.status).toBe(413);
});
