import { createFakeClock } from '@modhost/testkit';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseExposition, sample, seriesCount } from '../test/metrics-exposition.js';
import { createMetrics, type MetricsHost, type MetricsHostEvents } from './metrics.js';

// The metrics fed directly, span by span and record by record, as the kernel and the sandbox produce them.

const scrape = async (registry: Registry) => parseExposition(await registry.metrics());

describe('spans become histograms and counters', () => {
  it('activation, module starts and phases, by outcome', async () => {
    const m = createMetrics();
    const activation = m.telemetry.startSpan('modhost.activation', { modules: 2 });
    const start = m.telemetry.startSpan('modhost.module.start', { module: 'tasks', version: '1.0.0', reason: 'activate' }, activation);
    for (const phase of ['load', 'start', 'verify']) m.telemetry.startSpan('modhost.module.phase', { module: 'tasks', version: '1.0.0', phase }, start).end();
    start.end();
    const broken = m.telemetry.startSpan('modhost.module.start', { module: 'broken', version: '1.0.0', reason: 'activate' }, activation);
    m.telemetry.startSpan('modhost.module.phase', { module: 'broken', version: '1.0.0', phase: 'start' }, broken).end({ error: { code: 'Error' } });
    broken.end({ error: { code: 'Error' } });
    activation.setAttributes({ activated: 1, failed: 1 });
    activation.end();
    activation.end(); // ending twice records once

    const s = await scrape(m.registry);
    expect(sample(s, 'modhost_activation_duration_seconds_count', { outcome: 'failed' })).toBe(1);
    expect(sample(s, 'modhost_activation_modules_total', { result: 'activated' })).toBe(1);
    expect(sample(s, 'modhost_activation_modules_total', { result: 'failed' })).toBe(1);
    expect(sample(s, 'modhost_module_start_duration_seconds_count', { module: 'tasks', reason: 'activate', outcome: 'ok' })).toBe(1);
    expect(sample(s, 'modhost_module_start_duration_seconds_count', { module: 'broken', reason: 'activate', outcome: 'error' })).toBe(1);
    for (const phase of ['load', 'start', 'verify'])
      expect(sample(s, 'modhost_module_phase_duration_seconds_count', { module: 'tasks', phase, outcome: 'ok' })).toBe(1);
    expect(sample(s, 'modhost_module_phase_duration_seconds_count', { module: 'broken', phase: 'start', outcome: 'error' })).toBe(1);
  });

  it('upgrades by outcome; the switch time from switch_ms, else from the switch step, never both', async () => {
    const m = createMetrics();
    const t = m.telemetry;
    const withMs = t.startSpan('modhost.upgrade', { module: 'tasks', from: '1.0.0', to: '1.1.0', canary: false });
    for (const step of ['start-beside', 'gate', 'switch']) t.startSpan('modhost.upgrade.step', { module: 'tasks', step }, withMs).end();
    withMs.setAttributes({ outcome: 'switched', switch_ms: 0.02 });
    withMs.end();
    const withoutMs = t.startSpan('modhost.upgrade', { module: 'tasks', from: '1.1.0', to: '1.2.0', canary: false });
    t.startSpan('modhost.upgrade.step', { module: 'tasks', step: 'switch' }, withoutMs).end();
    withoutMs.setAttributes({ outcome: 'switched' });
    withoutMs.end();
    const refused = t.startSpan('modhost.upgrade', { module: 'tasks', from: '1.2.0', to: '2.0.0', canary: false });
    refused.setAttributes({ outcome: 'refused' });
    refused.end();
    t.startSpan('modhost.upgrade', { module: 'tasks', from: '1.2.0', to: '3.0.0', canary: false }).end({ error: { code: 'HEALTH_CHECK_FAILED' } });
    const rollback = t.startSpan('modhost.rollback', { module: 'tasks', from: '1.2.0', to: '1.1.0', reason: 'health' });
    rollback.setAttributes({ outcome: 'rolled-back' });
    rollback.end();

    const s = await scrape(m.registry);
    expect(sample(s, 'modhost_upgrades_total', { module: 'tasks', outcome: 'switched' })).toBe(2);
    expect(sample(s, 'modhost_upgrades_total', { module: 'tasks', outcome: 'refused' })).toBe(1);
    expect(sample(s, 'modhost_upgrades_total', { module: 'tasks', outcome: 'failed' })).toBe(1);
    expect(sample(s, 'modhost_upgrade_duration_seconds_count', { module: 'tasks', outcome: 'switched' })).toBe(2);
    expect(sample(s, 'modhost_upgrade_step_duration_seconds_count', { module: 'tasks', step: 'switch' })).toBe(2);
    expect(sample(s, 'modhost_upgrade_step_duration_seconds_count', { module: 'tasks', step: 'gate' })).toBe(1);
    // One observation per switched upgrade: the first one's is exactly its switch_ms.
    expect(sample(s, 'modhost_hot_swap_switch_seconds_count', { module: 'tasks' })).toBe(2);
    expect(sample(s, 'modhost_hot_swap_switch_seconds_bucket', { module: 'tasks', le: '0.00001' })).toBeGreaterThanOrEqual(0);
    expect(sample(s, 'modhost_rollbacks_total', { module: 'tasks', reason: 'health', outcome: 'rolled-back' })).toBe(1);
  });

  it('requests by module, route pattern, method and status, never the tenant; unknown values read "other"', async () => {
    const m = createMetrics();
    const request = (status: number, method = 'GET', route = '/items/:id') => {
      const span = m.telemetry.startSpan('modhost.request', { module: 'tasks', version: '1.0.0', method, route, tenant: 'acme' });
      span.setAttributes({ status });
      span.end();
    };
    request(200);
    request(200);
    request(404);
    request(500, 'POST', '/items');
    request(200, 'BREW');
    request(200, 'GET', 'items with spaces?x=1');

    const s = await scrape(m.registry);
    expect(sample(s, 'modhost_http_requests_total', { module: 'tasks', route: '/items/:id', method: 'GET', status: '200' })).toBe(2);
    expect(sample(s, 'modhost_http_requests_total', { module: 'tasks', route: '/items/:id', method: 'GET', status: '404' })).toBe(1);
    expect(sample(s, 'modhost_http_requests_total', { module: 'tasks', route: '/items', method: 'POST', status: '500' })).toBe(1);
    expect(sample(s, 'modhost_http_requests_total', { module: 'tasks', route: '/items/:id', method: 'other', status: '200' })).toBe(1);
    expect(sample(s, 'modhost_http_requests_total', { module: 'tasks', route: 'other', method: 'GET', status: '200' })).toBe(1);
    expect(sample(s, 'modhost_http_request_duration_seconds_count', { module: 'tasks', route: '/items/:id', method: 'GET', status_class: '2xx' })).toBe(2);
    expect(sample(s, 'modhost_http_request_duration_seconds_count', { module: 'tasks', route: '/items/:id', method: 'GET', status_class: '4xx' })).toBe(1);
    expect(JSON.stringify(s)).not.toContain('acme');
  });

  it('guest and ctx calls, storage operations and their errors', async () => {
    const m = createMetrics();
    const t = m.telemetry;
    t.startSpan('modhost.guest.call', { module: 'worker-mod', version: '1.0.0', tier: 'worker', method: 'route' }).end();
    t.startSpan('modhost.guest.call', { module: 'worker-mod', version: '1.0.0', tier: 'worker', method: 'route' }).end({ error: { code: 'MODULE_CRASHED' } });
    t.startSpan('modhost.ctx.call', { module: 'worker-mod', tier: 'process', capability: 'storage.get' }).end();
    t.startSpan('modhost.storage', { operation: 'get', adapter: 'memory' }).end();
    t.startSpan('modhost.storage', { operation: 'set', adapter: 'memory' }).end({ error: { code: 'STORAGE_ADAPTER_FAILED', message: 'disk full' } });
    t.startSpan('modhost.something-new', { x: 1 }).end();

    const s = await scrape(m.registry);
    expect(sample(s, 'modhost_guest_call_duration_seconds_count', { module: 'worker-mod', tier: 'worker', method: 'route', outcome: 'ok' })).toBe(1);
    expect(sample(s, 'modhost_guest_call_duration_seconds_count', { module: 'worker-mod', tier: 'worker', method: 'route', outcome: 'error' })).toBe(1);
    expect(sample(s, 'modhost_ctx_call_duration_seconds_count', { module: 'worker-mod', tier: 'process', capability: 'storage.get', outcome: 'ok' })).toBe(1);
    expect(sample(s, 'modhost_storage_operation_duration_seconds_count', { operation: 'get', adapter: 'memory', outcome: 'ok' })).toBe(1);
    expect(sample(s, 'modhost_storage_operation_duration_seconds_count', { operation: 'set', adapter: 'memory', outcome: 'error' })).toBe(1);
    expect(sample(s, 'modhost_storage_errors_total', { operation: 'set', adapter: 'memory' })).toBe(1);
    expect(JSON.stringify(s)).not.toContain('disk full');
  });

  it('caps each label: past maxLabelValues distinct values, new ones read "other" and are counted', async () => {
    const m = createMetrics({ maxLabelValues: 3 });
    for (let i = 0; i < 50; i++) m.telemetry.startSpan('modhost.storage', { operation: 'get', adapter: `adapter-${i}` }).end();
    const s = await scrape(m.registry);
    expect(sample(s, 'modhost_storage_operation_duration_seconds_count', { operation: 'get', adapter: 'other', outcome: 'ok' })).toBe(47);
    expect(sample(s, 'modhost_metrics_label_overflow_total', { label: 'adapter' })).toBe(47);
  });
});

/** A host as far as the metrics read it, driven by hand. */
function fakeHost() {
  const listeners = new Map<string, ((payload: never) => void)[]>();
  const audit: ((r: { kind: string; module: string; permission: string | undefined; decision: string }) => void)[] = [];
  const state = {
    modules: [] as { name: string; version: string; state: string; health: { status: string }; isolation: string }[],
    fleet: [] as { id: string; alive: boolean; stopped: boolean; renewedAt: number; modules: { name: string; version: string; state: string }[] }[],
    desired: new Map<string, string | null>(),
    failStatus: false,
  };
  const host: MetricsHost = {
    events: {
      on: (event, listener) => {
        const list = listeners.get(event) ?? [];
        list.push(listener as (payload: never) => void);
        listeners.set(event, list);
        return () => list.splice(list.indexOf(listener as (payload: never) => void), 1);
      },
    },
    audit: {
      on: (_event, listener) => {
        audit.push(listener);
        return () => audit.splice(audit.indexOf(listener), 1);
      },
    },
    registry: { getModule: async (name) => (state.desired.has(name) ? { desiredVersion: state.desired.get(name) ?? null } : undefined) },
    status: async () => {
      if (state.failStatus) throw new Error('storage is down');
      return { modules: state.modules };
    },
    fleet: async () => state.fleet,
  };
  const emit = <K extends keyof MetricsHostEvents>(event: K, payload: MetricsHostEvents[K]) => {
    for (const l of listeners.get(event) ?? []) (l as (p: MetricsHostEvents[K]) => void)(payload);
  };
  const record = (r: { kind: string; module: string; permission?: string; decision: string }) => {
    for (const l of audit) l({ permission: undefined, ...r });
  };
  return { host, state, emit, record, listening: () => [...listeners.values()].flat().length + audit.length };
}

describe('observe(host): events, audit records, status and fleet', () => {
  it('counts lifecycle events and rejected versions by code (a code outside the catalogue reads "other")', async () => {
    const m = createMetrics();
    const f = fakeHost();
    const stop = m.observe(f.host);
    f.emit('module:upgraded', { name: 'tasks' });
    f.emit('module:upgrade-failed', { name: 'tasks', code: 'HEALTH_CHECK_FAILED' });
    f.emit('module:upgrade-failed', { name: 'tasks', code: 'MY_OWN_CODE_42' });
    f.emit('module:rollback-refused', { name: 'tasks' });
    const s = await scrape(m.registry);
    expect(sample(s, 'modhost_module_events_total', { module: 'tasks', event: 'upgraded' })).toBe(1);
    expect(sample(s, 'modhost_module_events_total', { module: 'tasks', event: 'upgrade-failed' })).toBe(2);
    expect(sample(s, 'modhost_module_events_total', { module: 'tasks', event: 'rollback-refused' })).toBe(1);
    expect(sample(s, 'modhost_versions_rejected_total', { module: 'tasks', code: 'HEALTH_CHECK_FAILED' })).toBe(1);
    expect(sample(s, 'modhost_versions_rejected_total', { module: 'tasks', code: 'other' })).toBe(1);
    stop();
    expect(f.listening()).toBe(0);
  });

  it("counts denials, quotas, crashes and restarts from the supervisor's audit records, never by permission text", async () => {
    const m = createMetrics();
    const f = fakeHost();
    m.observe(f.host);
    // The records as packages/sandbox writes them (capability-context.ts and supervisor.ts).
    f.record({ kind: 'denial', module: 'notes', permission: 'net:fetch:evil.example.com/made-up', decision: 'deny' });
    f.record({ kind: 'quota', module: 'loop', permission: 'quota:call-timeout', decision: 'deny' });
    f.record({ kind: 'crash', module: 'loop', decision: 'info' });
    f.record({ kind: 'restart', module: 'loop', decision: 'info' });
    f.record({ kind: 'quota', module: 'busy', permission: 'quota:queue', decision: 'deny' });
    f.record({ kind: 'crash', module: 'hog', permission: 'quota:heap', decision: 'info' });
    f.record({ kind: 'grant', module: 'notes', permission: 'storage:module', decision: 'allow' });
    const s = await scrape(m.registry);
    expect(sample(s, 'modhost_permission_denials_total', { module: 'notes' })).toBe(1);
    expect(sample(s, 'modhost_quota_exceeded_total', { module: 'loop', quota: 'call-timeout' })).toBe(1);
    expect(sample(s, 'modhost_quota_exceeded_total', { module: 'busy', quota: 'queue' })).toBe(1);
    expect(sample(s, 'modhost_quota_exceeded_total', { module: 'hog', quota: 'heap' })).toBe(1);
    expect(sample(s, 'modhost_guest_crashes_total', { module: 'loop' })).toBe(1);
    expect(sample(s, 'modhost_guest_crashes_total', { module: 'hog' })).toBe(1);
    expect(sample(s, 'modhost_guest_restarts_total', { module: 'loop' })).toBe(1);
    expect(JSON.stringify(s)).not.toContain('evil');
  });

  it('modules by state and health at scrape time', async () => {
    const m = createMetrics();
    const f = fakeHost();
    m.observe(f.host);
    f.state.modules = [
      { name: 'a', version: '1.0.0', state: 'active', health: { status: 'ok' }, isolation: 'in-process' },
      { name: 'b', version: '2.0.0', state: 'active', health: { status: 'degraded' }, isolation: 'worker' },
      { name: 'c', version: '1.0.0', state: 'failed', health: { status: 'fail' }, isolation: 'in-process' },
    ];
    let s = await scrape(m.registry);
    expect(sample(s, 'modhost_modules', { state: 'active' })).toBe(2);
    expect(sample(s, 'modhost_modules', { state: 'failed' })).toBe(1);
    expect(sample(s, 'modhost_modules', { state: 'loading' })).toBe(0);
    expect(sample(s, 'modhost_modules_by_health', { health: 'degraded' })).toBe(1);
    expect(sample(s, 'modhost_module_info', { module: 'b', version: '2.0.0', state: 'active', health: 'degraded', isolation: 'worker' })).toBe(1);
    f.state.modules = [f.state.modules[0] as (typeof f.state.modules)[number]];
    s = await scrape(m.registry);
    expect(sample(s, 'modhost_modules', { state: 'active' })).toBe(1);
    expect(sample(s, 'modhost_module_info', { module: 'b', version: '2.0.0', state: 'active', health: 'degraded', isolation: 'worker' })).toBeUndefined();
  });

  it('a scrape whose host.status() fails still answers, with the gauges empty and the failure counted', async () => {
    const m = createMetrics();
    const f = fakeHost();
    m.observe(f.host);
    f.state.failStatus = true;
    const s = await scrape(m.registry);
    expect(sample(s, 'modhost_metrics_collect_errors_total', {})).toBe(1);
    expect(sample(s, 'modhost_modules', { state: 'active' })).toBeUndefined();
  });

  it('fleet: liveness, lease age, modules out of step and how long, per instance', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const m = createMetrics({ clock });
    const f = fakeHost();
    m.observe(f.host);
    f.state.desired.set('tasks', '1.1.0');
    const a = { id: 'a', alive: true, stopped: false, renewedAt: 1_000_000, modules: [{ name: 'tasks', version: '1.1.0', state: 'active' }] };
    const b = {
      id: 'b',
      alive: true,
      stopped: false,
      renewedAt: 990_000,
      modules: [
        { name: 'tasks', version: '1.0.0', state: 'active' },
        { name: 'tasks', version: '1.1.0', state: 'registered' },
      ],
    };
    const gone = { id: 'c', alive: false, stopped: true, renewedAt: 900_000, modules: [{ name: 'tasks', version: '1.0.0', state: 'stopped' }] };
    f.state.fleet = [a, b, gone];
    let s = await scrape(m.registry);
    expect(sample(s, 'modhost_fleet_instance_alive', { host_instance: 'a' })).toBe(1);
    expect(sample(s, 'modhost_fleet_instance_alive', { host_instance: 'c' })).toBe(0);
    expect(sample(s, 'modhost_fleet_instance_lease_age_seconds', { host_instance: 'b' })).toBe(10);
    expect(sample(s, 'modhost_fleet_instance_diverged_modules', { host_instance: 'a' })).toBe(0);
    expect(sample(s, 'modhost_fleet_instance_diverged_modules', { host_instance: 'b' })).toBe(1);
    expect(sample(s, 'modhost_fleet_instance_diverged_modules', { host_instance: 'c' })).toBeUndefined();
    expect(sample(s, 'modhost_fleet_convergence_lag_seconds', { host_instance: 'b' })).toBe(0);

    clock.advance(5_000);
    s = await scrape(m.registry);
    expect(sample(s, 'modhost_fleet_convergence_lag_seconds', { host_instance: 'b' })).toBe(5);
    expect(sample(s, 'modhost_fleet_convergence_lag_seconds', { host_instance: 'a' })).toBe(0);

    b.modules = [
      { name: 'tasks', version: '1.0.0', state: 'stopped' },
      { name: 'tasks', version: '1.1.0', state: 'active' },
    ];
    f.state.fleet = [a, b];
    s = await scrape(m.registry);
    expect(sample(s, 'modhost_fleet_instance_diverged_modules', { host_instance: 'b' })).toBe(0);
    expect(sample(s, 'modhost_fleet_convergence_lag_seconds', { host_instance: 'b' })).toBe(0);
    expect(sample(s, 'modhost_fleet_instance_alive', { host_instance: 'c' })).toBeUndefined();
  });
});

describe('misuse says what to do', () => {
  it('a prefix that is not a metric name, a registry used twice, a second host', () => {
    expect(() => createMetrics({ prefix: 'mod-host ' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => createMetrics({ maxLabelValues: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => createMetrics({ path: 'metrics' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const registry = new Registry();
    createMetrics({ registry });
    expect(() => createMetrics({ registry })).toThrow(/already has a metric named modhost_/);
    expect(() => createMetrics({ registry, prefix: 'other_' })).not.toThrow();
    const m = createMetrics();
    const stop = m.observe(fakeHost().host);
    expect(() => m.observe(fakeHost().host)).toThrow(/already observe a host/);
    stop();
    expect(() => m.observe(fakeHost().host)).not.toThrow();
  });

  it("the app's own registry gets the metrics beside its own", async () => {
    const registry = new Registry();
    const mine = new Counter({ name: 'app_orders_total', help: 'orders', registers: [registry] });
    mine.inc();
    const m = createMetrics({ registry, prefix: 'shop_modhost_' });
    expect(m.registry).toBe(registry);
    m.telemetry.startSpan('modhost.storage', { operation: 'get', adapter: 'memory' }).end();
    const s = await scrape(registry);
    expect(sample(s, 'app_orders_total', {})).toBe(1);
    expect(sample(s, 'shop_modhost_storage_operation_duration_seconds_count', { operation: 'get', adapter: 'memory', outcome: 'ok' })).toBe(1);
    expect(seriesCount(s)).toBeGreaterThan(1);
  });
});
