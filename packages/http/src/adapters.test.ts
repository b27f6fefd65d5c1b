import { createServer, type Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { describeHttpAdapter, serveOnLoopback } from '@modhost/testkit/http';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { modhostExpress } from './express.js';
import { modhostFastify } from './fastify.js';
import { createFetchHandler } from './fetch.js';
import { modhostHono } from './hono.js';
import { createRequestListener } from './node.js';

// Every adapter, on a real server, through the one conformance suite. Those mounted among other routes give the
// suite an app route of their own, to prove a request no module serves goes on to the app.

describeHttpAdapter('node:http listener', (host, options) => serveOnLoopback(createServer(createRequestListener(host, options))));

// The app's parser reads JSON bodies before modhost sees them: its limit is the one that applies to them (so it is
// given maxBodyBytes here), and it has no deadline of its own.
describeHttpAdapter(
  'Express 5, express.json() before the middleware',
  (host, options) => {
    const app = express();
    app.use(express.json({ limit: options.maxBodyBytes ?? '100kb' }));
    app.use('/m', modhostExpress(host, options));
    app.get('/m/app-route', (_req, res) => void res.send('app'));
    return serveOnLoopback(createServer(app), { path: '/m', appPath: '/m/app-route' });
  },
  {
    skip: { 'answers 408 for a body slower than bodyTimeoutMs, without calling the handler': 'express.json() reads the body before modhost, with no deadline' },
  },
);

describeHttpAdapter('Express 5, no body parser', (host, options) => {
  const app = express();
  app.use('/m', modhostExpress(host, options));
  app.get('/m/app-route', (_req, res) => void res.send('app'));
  return serveOnLoopback(createServer(app), { path: '/m', appPath: '/m/app-route' });
});

describeHttpAdapter('Fastify 5, registered with a prefix', async (host, options) => {
  const app = Fastify();
  await app.register(modhostFastify(host, options), { prefix: '/m' });
  app.get('/app-route', async () => 'app');
  const origin = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `${origin}/m`, appUrl: `${origin}/app-route`, close: () => app.close() };
});

describeHttpAdapter('Hono 4 on @hono/node-server', (host, options) => {
  const app = new Hono();
  app.use('/m/*', modhostHono(host, { prefix: '/m', ...options }));
  app.get('/m/app-route', (c) => c.text('app'));
  return serveOnLoopback(createAdaptorServer({ fetch: app.fetch }) as Server, { path: '/m', appPath: '/m/app-route' });
});

describeHttpAdapter('fetch handler on @hono/node-server', (host, options) =>
  serveOnLoopback(createAdaptorServer({ fetch: createFetchHandler(host, { prefix: '/m', ...options }) }) as Server, { path: '/m' }),
);
