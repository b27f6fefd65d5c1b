// bench/http: each @modhost/http adapter against the same framework serving the same handler as a plain route
// (GET /m/tasks/items/42 and a small JSON POST), then hot swaps under load through Express and Fastify.
// Load comes from autocannon in one separate process (bench/http-load.cjs), loopback, a few connections; plain and
// modhost are measured in interleaved rounds and the medians compared.
// Run: npm run bench -- http   (HTTP_SECONDS: seconds per GET measurement, default 2; HTTP_POST_SECONDS, default 1;
// HTTP_SWAP_CYCLES: upgrade + rollback cycles per framework, default 300, i.e. 600 swaps)
import { fork } from 'node:child_process';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createAdaptorServer } from '@hono/node-server';
import { defineModule } from '@modhost/core';
import type { HttpHandlerOptions } from '@modhost/http';
import { modhostExpress } from '@modhost/http/express';
import { modhostFastify } from '@modhost/http/fastify';
import { createFetchHandler } from '@modhost/http/fetch';
import { modhostHono } from '@modhost/http/hono';
import { createRequestListener } from '@modhost/http/node';
import { silentLogger } from '@modhost/testkit';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createHost, type Host } from 'modhost';
import { type Comparison, report } from './lib.js';

const CONNECTIONS = 8;
const ROUNDS = 3;
const GET_SECONDS = Number(process.env.HTTP_SECONDS ?? 2);
const POST_SECONDS = Number(process.env.HTTP_POST_SECONDS ?? 1);
const SWAP_CYCLES = Number(process.env.HTTP_SWAP_CYCLES ?? 300);
const TARGET = 1.15;
const GET_PATH = '/m/tasks/items/42';
const POST_PATH = '/m/tasks/items';
const POST_BODY = JSON.stringify({ title: 'write the bench' });
const JSON_TYPE = 'application/json; charset=utf-8';

// The handler both sides serve: a plain route calls these directly, the module's routes call them too.
const item = (id: string) => ({ id, title: `item ${id}`, done: false, tags: ['bench'] });
const created = (body: unknown) => ({ id: '1', title: String((body as { title?: unknown } | null)?.title ?? ''), done: false });

/** Requests each module version served (to show both versions took traffic while swapping). */
const servedBy = new Map<string, { n: number }>();
const tasks = (version: string) => {
  const served = { n: 0 };
  servedBy.set(version, served);
  return defineModule({
    name: 'tasks',
    version,
    permissions: ['routes:mount'],
    routes: [
      {
        method: 'GET',
        path: '/items/:id',
        handler: (req) => {
          served.n++;
          return { body: item(req.params.id ?? '') };
        },
      },
      { method: 'POST', path: '/items', handler: (req) => ({ status: 201, body: created(req.body) }) },
    ],
    health: () => true,
  });
};

let pipelineErrors = 0;
let lastPipelineError: unknown;
const options: HttpHandlerOptions = {
  onError: (error) => {
    pipelineErrors++;
    lastPipelineError = error;
  },
  onWarning: () => {},
};

// ---- the load process ------------------------------------------------------------------------------------------

interface LoadResult {
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  total: number;
  seconds: number;
  p50: number;
  p99: number;
}
interface LoadOptions {
  url: string;
  duration: number;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
}
interface Loader {
  start(options: LoadOptions): { result: Promise<LoadResult>; stop(): void };
  run(options: LoadOptions): Promise<LoadResult>;
  close(): void;
}

async function startLoader(): Promise<Loader> {
  const child = fork(fileURLToPath(new URL('./http-load.cjs', import.meta.url)), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('error', reject);
  });
  child.on('message', (m: { id: number; result?: LoadResult; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.result) w?.resolve(m.result);
    else w?.reject(new Error(`autocannon: ${m.error}`));
  });
  let next = 0;
  const start = (o: LoadOptions) => {
    const id = next++;
    const result = new Promise<LoadResult>((resolve, reject) => waiting.set(id, { resolve, reject }));
    // autocannon stops on its once-a-second tick: a duration just under a whole second ends on the tick it means.
    child.send({ id, options: { connections: CONNECTIONS, ...o, duration: o.duration - 0.05 } });
    return { result, stop: () => void child.send({ stop: id }) };
  };
  return { start, run: (o) => start(o).result, close: () => child.disconnect() };
}

// ---- servers -----------------------------------------------------------------------------------------------------

interface Listening {
  readonly url: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<Listening> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function listenFastify(app: ReturnType<typeof Fastify>): Promise<Listening> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
}

const ITEM = /^\/m\/tasks\/items\/([^/]+)$/;

/** The plain node:http listener: match the route by hand, answer the same JSON. */
const plainNode: RequestListener = (req, res) => {
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  const id = ITEM.exec(path)?.[1];
  const send = (status: number, body: unknown) => {
    res.statusCode = status;
    res.setHeader('content-type', JSON_TYPE);
    res.end(JSON.stringify(body));
  };
  if (req.method === 'GET' && id !== undefined) return send(200, item(decodeURIComponent(id)));
  if (req.method === 'POST' && path === POST_PATH) {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => send(201, created(JSON.parse(Buffer.concat(chunks).toString('utf8')))));
    return;
  }
  res.statusCode = 404;
  res.end();
};

/** The plain fetch handler: the same, with WHATWG Request and Response. */
const plainFetch = async (req: Request): Promise<Response> => {
  const path = new URL(req.url).pathname;
  const id = ITEM.exec(path)?.[1];
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': JSON_TYPE } });
  if (req.method === 'GET' && id !== undefined) return json(200, item(decodeURIComponent(id)));
  if (req.method === 'POST' && path === POST_PATH) return json(201, created(await req.json()));
  return new Response(null, { status: 404 });
};

/** `createRequestListener` serves from `/`; an app that mounts it below `/m` strips the prefix itself. */
function mountedAt(prefix: string, listener: (req: IncomingMessage, res: ServerResponse) => Promise<void>): RequestListener {
  return (req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith(`${prefix}/`)) {
      req.url = url.slice(prefix.length);
      void listener(req, res);
      return;
    }
    res.statusCode = 404;
    res.end();
  };
}

interface Adapter {
  readonly name: string;
  readonly subject: string;
  /** The plain route, for a method. */
  readonly baseline: (method: string) => string;
  start(host: Host): Promise<{ plain: Listening; modhost: Listening }>;
}

const ADAPTERS: readonly Adapter[] = [
  {
    name: 'node:http',
    subject: 'createRequestListener',
    baseline: () => 'plain listener',
    start: async (host) => ({
      plain: await listen(createServer(plainNode)),
      modhost: await listen(createServer(mountedAt('/m', createRequestListener(host, options)))),
    }),
  },
  {
    name: 'Express 5',
    subject: "app.use('/m', modhostExpress)",
    baseline: (m) => `app.${m.toLowerCase()} route`,
    start: async (host) => {
      const plain = express();
      plain.get('/m/tasks/items/:id', (req, res) => {
        res.json(item(req.params.id));
      });
      plain.post(POST_PATH, express.json(), (req, res) => {
        res.status(201).json(created(req.body));
      });
      const modhost = express();
      modhost.use('/m', modhostExpress(host, options));
      return { plain: await listen(createServer(plain)), modhost: await listen(createServer(modhost)) };
    },
  },
  {
    name: 'Fastify 5',
    subject: "register(modhostFastify, { prefix: '/m' })",
    baseline: (m) => `app.${m.toLowerCase()} route`,
    start: async (host) => {
      const plain = Fastify();
      plain.get('/m/tasks/items/:id', async (req) => item((req.params as { id: string }).id));
      plain.post(POST_PATH, async (req, reply) => reply.code(201).send(created(req.body)));
      const modhost = Fastify();
      await modhost.register(modhostFastify(host, options), { prefix: '/m' });
      return { plain: await listenFastify(plain), modhost: await listenFastify(modhost) };
    },
  },
  {
    name: 'Hono 4 (@hono/node-server)',
    subject: "app.use('/m/*', modhostHono)",
    baseline: (m) => `app.${m.toLowerCase()} route`,
    start: async (host) => {
      const plain = new Hono();
      plain.get('/m/tasks/items/:id', (c) => c.json(item(c.req.param('id'))));
      plain.post(POST_PATH, async (c) => c.json(created(await c.req.json()), 201));
      const modhost = new Hono();
      modhost.use('/m/*', modhostHono(host, { prefix: '/m', ...options }));
      return {
        plain: await listen(createAdaptorServer({ fetch: plain.fetch }) as Server),
        modhost: await listen(createAdaptorServer({ fetch: modhost.fetch }) as Server),
      };
    },
  },
  {
    name: 'fetch (@hono/node-server)',
    subject: 'createFetchHandler',
    baseline: () => 'plain fetch handler',
    start: async (host) => ({
      plain: await listen(createAdaptorServer({ fetch: plainFetch }) as Server),
      modhost: await listen(createAdaptorServer({ fetch: createFetchHandler(host, { prefix: '/m', ...options }) }) as Server),
    }),
  },
];

// ---- measuring ---------------------------------------------------------------------------------------------------

interface Probe {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
}
const GET: Probe = { method: 'GET', path: GET_PATH };
const POST: Probe = { method: 'POST', path: POST_PATH, body: POST_BODY };
const init = (p: Probe): RequestInit =>
  p.body === undefined ? { method: p.method } : { method: p.method, body: p.body, headers: { 'content-type': 'application/json' } };

/** Both sides must answer the same status and JSON, else the comparison means nothing. */
async function sameAnswer(adapter: string, p: Probe, plain: string, modhost: string): Promise<void> {
  const a = await fetch(plain + p.path, init(p));
  const b = await fetch(modhost + p.path, init(p));
  const [ta, tb] = [await a.text(), await b.text()];
  if (a.status !== b.status || JSON.stringify(JSON.parse(ta)) !== JSON.stringify(JSON.parse(tb)))
    throw new Error(`${adapter} ${p.method} ${p.path}: plain answered ${a.status} ${ta}, modhost ${b.status} ${tb}`);
}

/** Warms the JIT on both sides before anything is timed. */
async function warm(url: string, p: Probe, requests = 500): Promise<void> {
  let left = requests;
  const worker = async () => {
    while (left-- > 0) {
      const r = await fetch(url + p.path, init(p));
      await r.arrayBuffer();
      if (r.status >= 300) throw new Error(`warm-up of ${url}${p.path}: ${r.status}`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const rate = (r: LoadResult) => r.ok / r.seconds;

interface PairResult {
  readonly row: Comparison;
  readonly modhostRps: number;
  /** Every run, for the failure count. */
  readonly runs: readonly LoadResult[];
  /** Each round's req/s, to show the spread behind the medians. */
  readonly rounds: string;
  /** Median server CPU µs per request, plain / modhost. */
  readonly cpu: string;
}
type Measured = LoadResult & { readonly cpuUs: number };

async function measurePair(load: Loader, adapter: Adapter, p: Probe, urls: { plain: string; modhost: string }, seconds: number): Promise<PairResult> {
  await sameAnswer(adapter.name, p, urls.plain, urls.modhost);
  await Promise.all([warm(urls.plain, p), warm(urls.modhost, p)]);
  const o = (url: string): LoadOptions => ({
    url: url + p.path,
    duration: seconds,
    method: p.method,
    ...(p.body !== undefined ? { body: p.body, headers: { 'content-type': 'application/json' } } : {}),
  });
  // Every server lives in this process and only one is under load at a time, so this process's CPU time during a
  // run is that server's: CPU per request is a second figure, steadier than throughput on a busy machine.
  const timed = async (url: string): Promise<Measured> => {
    const before = process.cpuUsage();
    const r = await load.run(o(url));
    const used = process.cpuUsage(before);
    return { ...r, cpuUs: (used.user + used.system) / Math.max(1, r.ok + r.non2xx) };
  };
  const plain: Measured[] = [];
  const modhost: Measured[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which side goes first, so a drift in the machine's speed does not favour one.
    if (round % 2 === 0) {
      plain.push(await timed(urls.plain));
      modhost.push(await timed(urls.modhost));
    } else {
      modhost.push(await timed(urls.modhost));
      plain.push(await timed(urls.plain));
    }
  }
  const cpu = { plain: median(plain.map((r) => r.cpuUs)), modhost: median(modhost.map((r) => r.cpuUs)) };
  const plainRps = median(plain.map(rate));
  const modhostRps = median(modhost.map(rate));
  return {
    row: {
      name: `${p.method} ${p.path} · ${adapter.name}`,
      subject: { label: adapter.subject, opsPerSec: modhostRps },
      baseline: { label: adapter.baseline(p.method), opsPerSec: plainRps },
      ratio: plainRps / modhostRps,
    },
    modhostRps,
    runs: [...plain, ...modhost],
    rounds: `${plain.map((r) => Math.round(rate(r))).join(', ')} / ${modhost.map((r) => Math.round(rate(r))).join(', ')}`,
    cpu: `${cpu.plain.toFixed(0)} / ${cpu.modhost.toFixed(0)} (${(cpu.modhost / cpu.plain).toFixed(2)}×)`,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves true once `version` has served one more request (false after 100 ms). */
async function servedOnce(version: string): Promise<boolean> {
  const counter = servedBy.get(version);
  const from = counter?.n ?? 0;
  const until = performance.now() + 100;
  while ((counter?.n ?? 0) === from) {
    if (performance.now() > until) return false;
    await new Promise((r) => setImmediate(r));
  }
  return true;
}
const percentile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((q / 100) * xs.length))] ?? 0;

/** Load on GET /m/tasks/items/42 while the module goes 1.0.0 → 1.1.0 → (rollback) 1.0.0, `cycles` times. */
async function swapUnderLoad(load: Loader, host: Host, name: string, url: string, cycles: number) {
  const served = { old: servedBy.get('1.0.0')?.n ?? 0, next: servedBy.get('1.1.0')?.n ?? 0 };
  const errorsBefore = pipelineErrors;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  // Stopped once the swaps are done; the duration is only an upper bound.
  const run = load.start({ url: url + GET_PATH, duration: 120 });
  await sleep(500);
  const cycleMs: number[] = [];
  let swaps = 0;
  let refused = '';
  let missed = 0;
  const started = performance.now();
  for (let i = 0; i < cycles && !refused; i++) {
    const t = performance.now();
    try {
      const up = await host.upgrade('tasks', '1.1.0');
      if (up.outcome !== 'switched') refused = `upgrade ${i + 1}: ${up.outcome} ${up.error?.message ?? ''}`;
      else {
        swaps++;
        // A swap and a rollback are all microtasks: without a turn of the event loop between them no request would
        // ever reach 1.1.0. Let each version serve before leaving it.
        if (!(await servedOnce('1.1.0'))) missed++;
        const back = await host.rollback('tasks');
        if (back.outcome !== 'rolled-back') refused = `rollback ${i + 1}: ${back.outcome} ${back.error?.message ?? ''}`;
        else swaps++;
        if (!(await servedOnce('1.0.0'))) missed++;
      }
    } catch (error) {
      refused = `cycle ${i + 1} threw: ${(error as Error).message}`;
    }
    // A rollback rejects the version it leaves (so nothing retries it on its own); clear that to upgrade to it again.
    await host.registry.clearRejection('tasks', '1.1.0');
    cycleMs.push(performance.now() - t);
  }
  const swapSeconds = (performance.now() - started) / 1000;
  await sleep(500);
  run.stop();
  const r = await run.result;
  gc?.();
  const heapMb = gc ? ((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20).toFixed(1) : 'n/a (run with --expose-gc)';
  const failed = r.non2xx + r.errors + r.timeouts;
  return {
    rps: rate(r),
    swaps,
    facts: {
      [`${name} hot swap: swaps done (upgrade 1.0.0 → 1.1.0 and rollback each count one)`]: `${swaps} in ${swapSeconds.toFixed(1)} s, while the load ran ${r.seconds} s`,
      [`${name} hot swap: requests served (2xx)`]: r.ok,
      [`${name} hot swap: failed requests (non-2xx / socket errors / timeouts)`]: `${failed === 0 ? '0' : `FAILED ${failed}`} (${r.non2xx} / ${r.errors} / ${r.timeouts})`,
      [`${name} hot swap: served by 1.0.0 / 1.1.0`]:
        `${(servedBy.get('1.0.0')?.n ?? 0) - served.old} / ${(servedBy.get('1.1.0')?.n ?? 0) - served.next}` +
        (missed ? ` (${missed} swaps saw no request within 100 ms)` : ' (every version served between swaps)'),
      [`${name} hot swap: errors the pipeline reported (onError)`]: pipelineErrors - errorsBefore,
      [`${name} hot swap: upgrade + rollback cycle p50 / p99 ms`]: `${percentile(cycleMs, 50).toFixed(1)} / ${percentile(cycleMs, 99).toFixed(1)}`,
      [`${name} hot swap: request latency p50 / p99 ms`]: `${r.p50} / ${r.p99}`,
      [`${name} hot swap: heap growth after the swaps, MB (gc before and after)`]: heapMb,
      ...(refused ? { [`${name} hot swap: STOPPED EARLY`]: refused } : {}),
    },
  };
}

export async function benchHttp() {
  const host = createHost({
    version: '1.0.0',
    modules: [tasks('1.0.0')],
    logger: silentLogger,
    policy: { grant: { '*': ['routes:mount'] } },
    // The hot swaps roll back each upgrade: keep the replaced version warm for the whole run.
    rollbackWindowMs: 600_000,
    health: { periodMs: 1 },
  });
  const activation = await host.start();
  if (!activation.ok) throw new Error(`the host did not start: ${JSON.stringify(activation.modules)}`);
  await host.registry.register(tasks('1.1.0'));
  const load = await startLoader();
  const rows: Comparison[] = [];
  const facts: Record<string, unknown> = {};
  const runs: LoadResult[] = [];
  const started = performance.now();
  const loadAverage = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  facts['machine load average (1, 5, 15 min) at the start'] = `${loadAverage()} on ${availableParallelism()} cores`;
  try {
    const servers = new Map<string, { plain: Listening; modhost: Listening }>();
    for (const adapter of ADAPTERS) servers.set(adapter.name, await adapter.start(host));
    const gets = new Map<string, PairResult>();
    for (const adapter of ADAPTERS) {
      const urls = servers.get(adapter.name) as { plain: Listening; modhost: Listening };
      const get = await measurePair(load, adapter, GET, { plain: urls.plain.url, modhost: urls.modhost.url }, GET_SECONDS);
      gets.set(adapter.name, get);
      rows.push(get.row);
      runs.push(...get.runs);
      facts[`${adapter.name}: GET req/s per round, plain / modhost`] = get.rounds;
      facts[`${adapter.name}: GET server CPU µs per request (median), plain / modhost`] = get.cpu;
    }
    for (const adapter of ADAPTERS) {
      const urls = servers.get(adapter.name) as { plain: Listening; modhost: Listening };
      const post = await measurePair(load, adapter, POST, { plain: urls.plain.url, modhost: urls.modhost.url }, POST_SECONDS);
      rows.push(post.row);
      runs.push(...post.runs);
      facts[`${adapter.name}: POST req/s per round, plain / modhost`] = post.rounds;
      facts[`${adapter.name}: POST server CPU µs per request (median), plain / modhost`] = post.cpu;
    }
    const over = rows.filter((r) => r.ratio > TARGET).map((r) => `${r.name} ${r.ratio.toFixed(2)}×`);
    facts[`over the ${TARGET}× target`] = over.length ? over.join('; ') : 'none';
    facts['throughput runs: non-2xx / socket errors / timeouts'] =
      `${runs.reduce((s, r) => s + r.non2xx, 0)} / ${runs.reduce((s, r) => s + r.errors, 0)} / ${runs.reduce((s, r) => s + r.timeouts, 0)}`;
    facts.load = `autocannon in a separate process, ${CONNECTIONS} connections, loopback; ${ROUNDS} interleaved rounds of ${GET_SECONDS} s (GET) / ${POST_SECONDS} s (POST) per side, medians`;

    for (const name of ['Express 5', 'Fastify 5']) {
      const urls = servers.get(name) as { plain: Listening; modhost: Listening };
      const swap = await swapUnderLoad(load, host, name, urls.modhost.url, SWAP_CYCLES);
      const idle = gets.get(name)?.modhostRps ?? Number.NaN;
      rows.push({
        name: `GET under ${swap.swaps} hot swaps · ${name}`,
        subject: { label: 'modhost while swapping', opsPerSec: swap.rps },
        baseline: { label: 'modhost, no swaps (above)', opsPerSec: idle },
        ratio: idle / swap.rps,
      });
      Object.assign(facts, swap.facts);
    }
    facts['errors the pipeline reported in all (onError)'] = pipelineErrors === 0 ? 0 : `${pipelineErrors}, last: ${String(lastPipelineError)}`;
    facts['machine load average at the end'] = loadAverage();
    facts['bench wall time, s'] = ((performance.now() - started) / 1000).toFixed(0);
    for (const s of servers.values()) await Promise.all([s.plain.close(), s.modhost.close()]);
  } finally {
    load.close();
    await host.stop();
  }
  return { rows, facts };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { rows, facts } = await benchHttp();
  report('http', '@modhost/http: each adapter against its framework serving the same handler as a plain route', rows, facts);
}
