// The span tree of HTTP requests through @modhost/http on a real server, into an in-process and a worker module.
import { defineModule } from '@modhost/core';
import { silentLogger } from '@modhost/testkit';
import { SpanKind } from '@opentelemetry/api';
import { createHost, type HostOptions } from 'modhost';
import { afterEach, describe, expect, it } from 'vitest';
import { modulesFolder, serve } from '../test/host-server.js';
import { isChildOf, parentIdOf, recordSpans } from '../test/tracing.js';
import { openTelemetry } from './index.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const HEADER = `00-${TRACE_ID}-${SPAN_ID}-01`;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function servedHost(options: Partial<HostOptions>) {
  const rec = recordSpans();
  const host = createHost({
    version: '1.0.0',
    logger: silentLogger,
    policy: { grant: { '*': ['routes:mount', 'storage:module'] } },
    telemetry: openTelemetry({ tracerProvider: rec.tracerProvider }),
    ...options,
  });
  cleanups.push(
    () => rec.shutdown(),
    () => host.stop(),
  );
  await host.start();
  const http = await serve(cleanups, host);
  rec.clear();
  return { host, rec, http };
}

// Answers with the traceparent the handler was given, so the test can tell which span it belongs to.
const items = defineModule({
  name: 'items',
  version: '1.2.0',
  permissions: ['routes:mount'],
  routes: [{ method: 'GET', path: '/items/:id', handler: (req) => ({ body: { traceparent: req.traceparent ?? null } }) }],
});

describe('request traces', () => {
  it('a request with a traceparent header: modhost.request continues that trace, and the handler gets its traceparent', async () => {
    const { rec, http } = await servedHost({ modules: [items] });
    const res = await http('/items/items/42', { traceparent: HEADER });
    expect(res.status).toBe(200);

    const request = rec.one('modhost.request');
    expect(request.spanContext().traceId).toBe(TRACE_ID);
    expect(request.parentSpanContext).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, isRemote: true });
    expect(request.kind).toBe(SpanKind.SERVER);
    expect(request.attributes).toMatchObject({ 'modhost.module': 'items', 'modhost.version': '1.2.0', 'modhost.method': 'GET', 'modhost.status': 200 });
    // The route's pattern, never the raw path.
    expect(request.attributes['modhost.route']).toMatch(/\/items\/:id$/);
    expect(JSON.stringify(request.attributes)).not.toContain('42');
    expect(request.attributes).not.toHaveProperty('modhost.tenant');
    const sc = request.spanContext();
    expect(res.body.traceparent).toBe(`00-${TRACE_ID}-${sc.spanId}-01`);
  });

  it('a request without a valid traceparent starts a trace of its own', async () => {
    const { rec, http } = await servedHost({ modules: [items] });
    await http('/items/items/1');
    await http('/items/items/2', { traceparent: `00-${TRACE_ID}-${'0'.repeat(16)}-01` });
    const [a, b, ...more] = rec.named('modhost.request');
    expect(more).toEqual([]);
    for (const span of [a, b]) {
      expect(span && parentIdOf(span)).toBeUndefined();
      expect(span?.spanContext().traceId).not.toBe(TRACE_ID);
    }
    expect(a?.spanContext().traceId).not.toBe(b?.spanContext().traceId);
  });

  it('a worker module: the call into the guest and its ctx.storage call hang under the request span', async () => {
    // Made before the host, so removed after it stopped its guest.
    const folder = modulesFolder(cleanups);
    folder.write(
      'notes',
      { name: 'notes', version: '1.0.0', isolation: 'worker', permissions: ['routes:mount', 'storage:module'], routes: [{ method: 'GET', path: '/latest' }] },
      `export default {
  routes: [
    { method: 'GET', path: '/latest', handler: async (req, ctx) => ({ body: { traceparent: req.traceparent ?? null, latest: (await ctx.storage.get('latest')) ?? null } }) },
  ],
};
`,
    );
    const { host, rec, http } = await servedHost({ modulesDir: folder.root, defaultIsolation: 'worker', minimumIsolation: 'worker' });
    expect((await host.status()).modules).toMatchObject([{ name: 'notes', isolation: 'worker', active: true }]);

    const res = await http('/notes/latest', { traceparent: HEADER });
    expect(res).toMatchObject({ status: 200, body: { latest: null } });
    const request = rec.one('modhost.request', { 'modhost.module': 'notes' });
    expect(request.parentSpanContext?.spanId).toBe(SPAN_ID);
    expect(res.body.traceparent).toBe(`00-${TRACE_ID}-${request.spanContext().spanId}-01`);

    const guest = rec.one('modhost.guest.call', { 'modhost.module': 'notes' });
    expect(isChildOf(guest, request)).toBe(true);
    expect(guest.attributes).toMatchObject({ 'modhost.version': '1.0.0', 'modhost.tier': 'worker' });
    expect(guest.attributes['modhost.method']).toEqual(expect.any(String));

    const ctxCall = rec.one('modhost.ctx.call', { 'modhost.capability': 'storage.get' });
    expect(isChildOf(ctxCall, request)).toBe(true);
    expect(ctxCall.attributes).toMatchObject({ 'modhost.module': 'notes', 'modhost.tier': 'worker' });
  });
});
