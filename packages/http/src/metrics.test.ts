import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineModule } from '@modhost/core';
import { silentLogger } from '@modhost/testkit';
import express from 'express';
import { createHost, type Host } from 'modhost';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseExposition, type Sample, sample } from '../test/metrics-exposition.js';
import { modhostExpress } from './express.js';
import { createMetrics, type Metrics } from './metrics.js';

// A real host, reporting to the metrics, behind a real Express server that serves both the modules (under /m) and
// the scrape (GET /metrics). Every figure is read back from the exposition, as Prometheus would.

const tasks = (version: string, healthy = true) =>
  defineModule({
    name: 'tasks',
    version,
    permissions: ['routes:mount'],
    routes: [
      { method: 'GET', path: '/items/:id', handler: (req) => ({ body: { id: req.params.id, version } }) },
      { method: 'POST', path: '/items', handler: () => ({ status: 201, body: { ok: true } }) },
      {
        method: 'GET',
        path: '/broken',
        handler: () => {
          throw new Error('secret connection string');
        },
      },
    ],
    health: () => healthy,
  });

const notes = defineModule({
  name: 'notes',
  version: '1.0.0',
  permissions: ['routes:mount', 'storage:module'],
  routes: [{ method: 'GET', path: '/', handler: async (_req, ctx) => ({ body: { keys: await ctx.storage.keys() } }) }],
  health: () => true,
});

interface Setup {
  readonly host: Host;
  readonly metrics: Metrics;
  readonly registry: Registry;
  readonly url: string;
  scrape(): Promise<Sample[]>;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setUp(): Promise<Setup> {
  const registry = new Registry();
  new Counter({ name: 'app_orders_total', help: "the app's own", registers: [registry] }).inc(3);
  const metrics = createMetrics({ registry });
  const host = createHost({
    version: '1.0.0',
    modules: [tasks('1.0.0'), notes],
    logger: silentLogger,
    telemetry: metrics.telemetry,
    policy: { grant: { '*': ['routes:mount', 'storage:module'] } },
    health: { periodMs: 1, failureThreshold: 1 },
  });
  await host.start();
  cleanups.push(() => host.stop());
  cleanups.push(metrics.observe(host));
  const app = express();
  app.use(modhostExpress(metrics.handler));
  app.use('/m', modhostExpress(host, { tenantFromHeader: 'x-tenant', onError: () => {}, onWarning: () => {} }));
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const scrape = async () => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    return parseExposition(await res.text());
  };
  return { host, metrics, registry, url, scrape };
}

const get = async (url: string, init?: RequestInit) => {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  return res.status;
};

describe('GET /metrics through a real host and server', () => {
  it("answers the exposition with the app's own metrics beside modhost's; modules by state and health", async () => {
    const s = await setUp();
    const res = await fetch(`${s.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseExposition(await res.text());
    expect(sample(samples, 'app_orders_total', {})).toBe(3);
    expect(sample(samples, 'modhost_modules', { state: 'active' })).toBe(2);
    expect(sample(samples, 'modhost_modules_by_health', { health: 'ok' })).toBe(2);
    expect(sample(samples, 'modhost_module_info', { module: 'tasks', version: '1.0.0', state: 'active', health: 'ok', isolation: 'in-process' })).toBe(1);
    expect(sample(samples, 'modhost_module_events_total', { module: 'tasks', event: 'activated' })).toBeUndefined();
    // Other paths and methods pass on to the app (Express's 404 here); only GET and HEAD read the metrics.
    expect(await get(`${s.url}/metricsx`)).toBe(404);
    expect(await get(`${s.url}/metrics`, { method: 'POST' })).toBe(405);
    expect(await get(`${s.url}/metrics`, { method: 'HEAD' })).toBe(200);
  });

  it('activation: its duration, each module start and each phase', async () => {
    const s = await setUp();
    const samples = await s.scrape();
    expect(sample(samples, 'modhost_activation_duration_seconds_count', { outcome: 'ok' })).toBe(1);
    expect(sample(samples, 'modhost_activation_modules_total', { result: 'activated' })).toBe(2);
    expect(sample(samples, 'modhost_module_start_duration_seconds_count', { module: 'tasks', reason: 'activate', outcome: 'ok' })).toBe(1);
    for (const phase of ['load', 'start', 'verify'])
      expect(sample(samples, 'modhost_module_phase_duration_seconds_count', { module: 'notes', phase, outcome: 'ok' })).toBe(1);
  });

  it('requests per module, route pattern, method and status, with latency', async () => {
    const s = await setUp();
    for (const id of ['1', '2', 'three']) expect(await get(`${s.url}/m/tasks/items/${id}?q=${id}`, { headers: { 'x-tenant': `t-${id}` } })).toBe(200);
    expect(await get(`${s.url}/m/tasks/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).toBe(201);
    expect(await get(`${s.url}/m/tasks/broken`)).toBe(500);
    const samples = await s.scrape();
    const labels = { module: 'tasks', route: '/items/:id', method: 'GET' };
    expect(sample(samples, 'modhost_http_requests_total', { ...labels, status: '200' })).toBe(3);
    expect(sample(samples, 'modhost_http_request_duration_seconds_count', { ...labels, status_class: '2xx' })).toBe(3);
    expect(sample(samples, 'modhost_http_requests_total', { module: 'tasks', route: '/items', method: 'POST', status: '201' })).toBe(1);
    expect(sample(samples, 'modhost_http_requests_total', { module: 'tasks', route: '/broken', method: 'GET', status: '500' })).toBe(1);
    const text = JSON.stringify(samples);
    for (const leak of ['three', 't-1', 'secret']) expect(text).not.toContain(leak);
  });

  it('upgrades, the switch time, rollbacks and rejected versions', async () => {
    const s = await setUp();
    await s.host.registry.register(tasks('1.1.0'));
    expect((await s.host.upgrade('tasks', '1.1.0')).outcome).toBe('switched');
    let samples = await s.scrape();
    expect(sample(samples, 'modhost_upgrades_total', { module: 'tasks', outcome: 'switched' })).toBe(1);
    expect(sample(samples, 'modhost_hot_swap_switch_seconds_count', { module: 'tasks' })).toBe(1);
    for (const step of ['start-beside', 'switch']) expect(sample(samples, 'modhost_upgrade_step_duration_seconds_count', { module: 'tasks', step })).toBe(1);
    expect(sample(samples, 'modhost_module_events_total', { module: 'tasks', event: 'upgraded' })).toBe(1);
    expect(sample(samples, 'modhost_module_start_duration_seconds_count', { module: 'tasks', reason: 'upgrade', outcome: 'ok' })).toBe(1);

    await s.host.rollback('tasks');
    samples = await s.scrape();
    expect(sample(samples, 'modhost_rollbacks_total', { module: 'tasks', reason: 'manual', outcome: 'rolled-back' })).toBe(1);
    expect(sample(samples, 'modhost_module_events_total', { module: 'tasks', event: 'rolled-back' })).toBe(1);

    await s.host.registry.register(tasks('1.2.0', false));
    expect((await s.host.upgrade('tasks', '1.2.0')).outcome).not.toBe('switched');
    samples = await s.scrape();
    expect(sample(samples, 'modhost_versions_rejected_total', { module: 'tasks', code: 'HEALTH_CHECK_FAILED' })).toBe(1);
    expect(sample(samples, 'modhost_module_events_total', { module: 'tasks', event: 'upgrade-failed' })).toBe(1);
    const failed = samples.filter((x) => x.name === 'modhost_upgrades_total' && x.labels.outcome !== 'switched').reduce((n, x) => n + x.value, 0);
    expect(failed).toBe(1);
  });

  it('permission denials by module, from the audit trail', async () => {
    const s = await setUp();
    expect(await get(`${s.url}/m/notes/`)).toBe(200);
    s.host.sandbox.grants.revoke('notes', 'storage:module');
    expect(await get(`${s.url}/m/notes/`)).toBe(403);
    const samples = await s.scrape();
    expect(sample(samples, 'modhost_permission_denials_total', { module: 'notes' })).toBe(1);
    expect(JSON.stringify(samples)).not.toContain('storage:module');
  });

  it('storage operations of the host, and this instance in the fleet view', async () => {
    const s = await setUp();
    const samples = await s.scrape();
    const storage = samples.filter((x) => x.name === 'modhost_storage_operation_duration_seconds_count');
    expect(storage.reduce((n, x) => n + x.value, 0)).toBeGreaterThan(0);
    expect(new Set(storage.map((x) => x.labels.operation))).toContain('get');
    const me = { host_instance: s.host.instanceId };
    expect(sample(samples, 'modhost_fleet_instance_alive', me)).toBe(1);
    expect(sample(samples, 'modhost_fleet_instance_diverged_modules', me)).toBe(0);
    expect(sample(samples, 'modhost_fleet_convergence_lag_seconds', me)).toBe(0);
    expect(sample(samples, 'modhost_fleet_instance_lease_age_seconds', me)).toBeGreaterThanOrEqual(0);
  });

  it('the number of series stays flat under 10,000 requests with random paths, queries and tenants', async () => {
    const s = await setUp();
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed.toString(36);
    };
    // Every kind of request once (each status it can answer), then 10,000 more of the same kinds with new values.
    const kinds = [
      () => get(`${s.url}/m/tasks/items/${random()}?${random()}=${random()}`, { headers: { 'x-tenant': `t${random()}` } }),
      () => get(`${s.url}/m/tasks/${random()}/${random()}?q=${random()}`),
      () => get(`${s.url}/m/${random()}/items/1`),
      () => get(`${s.url}/m/tasks/items/${random()}`, { method: 'DELETE' }),
      () => get(`${s.url}/m/tasks/items`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant': random() }, body: '{}' }),
      () => get(`${s.url}/m/tasks/broken?${random()}`),
      () => get(`${s.url}/m/tasks/items/1`, { headers: { 'x-tenant': `bad tenant ${random()}` } }),
      () => get(`${s.url}/${random()}`),
    ];
    for (const k of kinds) await k();
    const before = await s.scrape();
    let next = 0;
    const worker = async () => {
      while (next < 10_000) {
        const i = next++;
        await (kinds[i % kinds.length] as () => Promise<number>)();
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const after = await s.scrape();
    const names = (xs: Sample[]) => xs.map((x) => `${x.name}${JSON.stringify(x.labels)}`).sort();
    expect(names(after)).toEqual(names(before));
    const served = after.filter((x) => x.name === 'modhost_http_requests_total').reduce((n, x) => n + x.value, 0);
    // Three kinds of eight reach a module's route (the rest are unknown paths, methods or tenants): they were counted.
    expect(served).toBeGreaterThan(before.filter((x) => x.name === 'modhost_http_requests_total').reduce((n, x) => n + x.value, 0) + 3_000);
  }, 60_000);
});
