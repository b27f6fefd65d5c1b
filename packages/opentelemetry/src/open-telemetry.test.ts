import { combineTelemetry, type TelemetrySpan } from '@modhost/core';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { asyncContextManager } from '../test/context-manager.js';
import { isChildOf, parentIdOf, recordSpans } from '../test/tracing.js';
import { openTelemetry } from './index.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const HEADER = `00-${TRACE_ID}-${SPAN_ID}-01`;
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/;

let rec = recordSpans();
afterEach(async () => {
  context.disable();
  await rec.shutdown();
  rec = recordSpans();
});

describe('openTelemetry: spans through @opentelemetry/api', () => {
  it('a span given as parent makes a child in its trace; attributes get modhost. and lose undefined values', () => {
    const t = openTelemetry({ tracerProvider: rec.tracerProvider });
    const start = t.startSpan('modhost.module.start', { module: 'tasks', version: '1.0.0', reason: 'activate' });
    const phase = t.startSpan('modhost.module.phase', { module: 'tasks', version: '1.0.0', phase: 'load', tenant: undefined }, start);
    phase.end();
    start.end();
    const parent = rec.one('modhost.module.start');
    const child = rec.one('modhost.module.phase');
    expect(parentIdOf(parent)).toBeUndefined();
    expect(isChildOf(child, parent)).toBe(true);
    expect(child.attributes).toEqual({ 'modhost.module': 'tasks', 'modhost.version': '1.0.0', 'modhost.phase': 'load' });
    expect(child.kind).toBe(SpanKind.INTERNAL);
    expect(child.instrumentationScope.name).toBe('@modhost/opentelemetry');
    // The span's traceparent names the span itself, so a guest given it hangs its work under it.
    const sc = child.spanContext();
    expect(phase.traceparent).toBe(`00-${sc.traceId}-${sc.spanId}-01`);
  });

  it('a traceparent string is a remote parent: same trace id, parent span id from the header', () => {
    const t = openTelemetry({ tracerProvider: rec.tracerProvider });
    const span = t.startSpan('modhost.ctx.call', { module: 'tasks', tier: 'worker', capability: 'storage.get' }, HEADER);
    span.end();
    const call = rec.one('modhost.ctx.call');
    expect(call.spanContext().traceId).toBe(TRACE_ID);
    expect(call.parentSpanContext).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, isRemote: true });
    expect(span.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(span.traceparent).not.toBe(HEADER);
  });

  it('an unsampled traceparent is honoured: the span is not recorded and its traceparent says 00', () => {
    const t = openTelemetry({ tracerProvider: rec.tracerProvider });
    const span = t.startSpan('modhost.guest.call', { module: 'tasks' }, `00-${TRACE_ID}-${SPAN_ID}-00`);
    span.end();
    expect(rec.spans()).toEqual([]);
    expect(span.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-00$`));
  });

  it.each([
    ['garbage', 'not-a-traceparent'],
    ['empty', ''],
    ['upper case', HEADER.toUpperCase()],
    ['another version', `01-${TRACE_ID}-${SPAN_ID}-01`],
    ['a zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['a zero span id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['trailing data', `${HEADER}-00`],
  ])('an invalid traceparent (%s) is ignored: the span starts a trace of its own', (_, header) => {
    const t = openTelemetry({ tracerProvider: rec.tracerProvider });
    t.startSpan('modhost.ctx.call', { module: 'tasks' }, header).end();
    const span = rec.one('modhost.ctx.call');
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.spanContext().traceId).not.toBe(TRACE_ID);
  });

  it('attributes set later are added; an error ends the span with status ERROR, its code, and a bounded message', () => {
    const t = openTelemetry({ tracerProvider: rec.tracerProvider });
    const span = t.startSpan('modhost.upgrade', { module: 'tasks', from: '1.0.0', to: '1.1.0', canary: false });
    span.setAttributes({ outcome: 'failed', switch_ms: undefined });
    span.end({ error: { code: 'HEALTH_CHECK_FAILED', message: 'x'.repeat(10_000) } });
    // Ended once: what comes after is dropped, not a second end.
    span.setAttributes({ outcome: 'switched' });
    span.end();
    const [upgrade, ...more] = rec.spans();
    expect(more).toEqual([]);
    expect(upgrade?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'HEALTH_CHECK_FAILED' });
    expect(upgrade?.attributes).toMatchObject({ 'modhost.canary': false, 'modhost.outcome': 'failed', 'modhost.error.code': 'HEALTH_CHECK_FAILED' });
    expect(upgrade?.attributes).not.toHaveProperty('modhost.switch_ms');
    const message = upgrade?.attributes['modhost.error.message'] as string;
    expect(message).toHaveLength(500);
    expect(message.endsWith('…')).toBe(true);
  });

  it('a span that ends without an error keeps status UNSET and has no error attributes', () => {
    const t = openTelemetry({ tracerProvider: rec.tracerProvider });
    t.startSpan('modhost.activation', { modules: 2 }).end({});
    const span = rec.one('modhost.activation');
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes).toEqual({ 'modhost.modules': 2 });
  });

  it('storage spans are off by default (a shared no-op), and recorded with storageSpans: true', () => {
    const off = openTelemetry({ tracerProvider: rec.tracerProvider });
    const a = off.startSpan('modhost.storage', { operation: 'get', adapter: 'memory' });
    const b = off.startSpan('modhost.storage', { operation: 'set', adapter: 'memory' });
    a.end();
    b.end({ error: { code: 'STORAGE_ADAPTER_FAILED' } });
    expect(a).toBe(b);
    expect(a.traceparent).toBeUndefined();
    expect(rec.spans()).toEqual([]);

    const on = openTelemetry({ tracerProvider: rec.tracerProvider, storageSpans: true });
    on.startSpan('modhost.storage', { operation: 'get', adapter: 'memory' }).end();
    expect(rec.one('modhost.storage').attributes).toEqual({ 'modhost.operation': 'get', 'modhost.adapter': 'memory' });
  });

  it('with no SDK registered the API is a no-op: spans have no traceparent, or pass the given one through, and nothing throws', () => {
    const t = openTelemetry();
    const root = t.startSpan('modhost.activation', { modules: 1 });
    expect(root.traceparent).toBeUndefined();
    const child = t.startSpan('modhost.module.start', { module: 'tasks' }, root);
    expect(child.traceparent).toBeUndefined();
    child.setAttributes({ activated: 1 });
    child.end({ error: { code: 'ACTIVATION_TIMEOUT', message: 'load took too long' } });
    root.end();
    // The no-op tracer propagates a remote parent unchanged, so a guest still joins the caller's trace.
    expect(t.startSpan('modhost.request', { module: 'tasks' }, HEADER).traceparent).toBe(HEADER);
    expect(t.startSpan('modhost.request', { module: 'tasks' }, 'nonsense').traceparent).toBeUndefined();
  });

  it('a tracer passed in is used as is', () => {
    const t = openTelemetry({ tracer: rec.tracerProvider.getTracer('my-app', '2.0.0') });
    t.startSpan('modhost.activation', { modules: 0 }).end();
    expect(rec.one('modhost.activation').instrumentationScope).toMatchObject({ name: 'my-app', version: '2.0.0' });
  });

  it('parents survive combineTelemetry, and a foreign span with a traceparent is joined through it', () => {
    const t = openTelemetry({ tracerProvider: rec.tracerProvider });
    const combined = combineTelemetry(t, { startSpan: () => ({ setAttributes() {}, end() {} }) });
    const upgrade = combined.startSpan('modhost.upgrade', { module: 'tasks' });
    combined.startSpan('modhost.upgrade.step', { module: 'tasks', step: 'gate' }, upgrade).end();
    upgrade.end();
    expect(upgrade.traceparent).toMatch(TRACEPARENT);
    expect(isChildOf(rec.one('modhost.upgrade.step'), rec.one('modhost.upgrade'))).toBe(true);

    const foreign: TelemetrySpan = { traceparent: HEADER, setAttributes() {}, end() {} };
    t.startSpan('modhost.guest.call', { module: 'tasks' }, foreign).end();
    expect(rec.one('modhost.guest.call').parentSpanContext).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID });
  });
});

describe('openTelemetry and the app active context', () => {
  it('with no parent given, the span hangs under the app span that is active', async () => {
    context.setGlobalContextManager(asyncContextManager());
    const t = openTelemetry({ tracerProvider: rec.tracerProvider });
    const appTracer = rec.tracerProvider.getTracer('app');
    await appTracer.startActiveSpan('nightly job', async (job) => {
      await Promise.resolve();
      t.startSpan('modhost.activation', { modules: 1 }).end();
      job.end();
    });
    expect(isChildOf(rec.one('modhost.activation'), rec.one('nightly job'))).toBe(true);
  });

  it('modhost.request is SERVER under the incoming header when no app span is active', () => {
    const t = openTelemetry({ tracerProvider: rec.tracerProvider });
    t.startSpan('modhost.request', { module: 'tasks', method: 'GET', route: '/list' }, HEADER).end();
    const request = rec.one('modhost.request');
    expect(request.kind).toBe(SpanKind.SERVER);
    expect(request.parentSpanContext).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, isRemote: true });
  });

  it("modhost.request is INTERNAL under the app's HTTP server span when one is active (it already continued the header)", () => {
    context.setGlobalContextManager(asyncContextManager());
    const t = openTelemetry({ tracerProvider: rec.tracerProvider });
    const remote = trace.setSpanContext(context.active(), { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true });
    const server = rec.tracerProvider.getTracer('http').startSpan('GET /tasks/list', { kind: SpanKind.SERVER }, remote);
    context.with(trace.setSpan(context.active(), server), () => {
      t.startSpan('modhost.request', { module: 'tasks', method: 'GET', route: '/list' }, HEADER).end();
    });
    server.end();
    const request = rec.one('modhost.request');
    expect(request.kind).toBe(SpanKind.INTERNAL);
    expect(isChildOf(request, rec.one('GET /tasks/list'))).toBe(true);
    expect(request.spanContext().traceId).toBe(TRACE_ID);
  });

  it('a traceparent an app extracted itself (a remote span context, not a span) does not count as an app span', () => {
    context.setGlobalContextManager(asyncContextManager());
    const t = openTelemetry({ tracerProvider: rec.tracerProvider });
    const extracted = trace.setSpanContext(context.active(), { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true });
    context.with(extracted, () => t.startSpan('modhost.request', { module: 'tasks' }, undefined).end());
    const request = rec.one('modhost.request');
    expect(request.kind).toBe(SpanKind.SERVER);
    expect(request.parentSpanContext).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID });
  });
});
