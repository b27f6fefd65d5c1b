// Where a new span hangs, and of which kind: the kernel's explicit parent first, else the app's active context.
import type { SpanParent, TelemetrySpan } from '@modhost/core';
import { type Context, context, isSpanContextValid, type Span, SpanKind, trace } from '@opentelemetry/api';
import { parseTraceparent } from './traceparent.js';

/** The OpenTelemetry span behind each span this package made (any instance of it), for parents given back to it. */
export const otelSpans = new WeakMap<TelemetrySpan, Span>();

/**
 * The context to start span `name` in, and its kind. A span of ours → its child. A `traceparent` (an incoming
 * request, a guest's call) → a remote parent; an invalid one is ignored. Else the active context, so an app's own
 * span (its HTTP server span, a job) is the parent.
 *
 * `modhost.request` differs: when the app's HTTP instrumentation has a span of its own active, that span already
 * continued the incoming header's trace and stands for this very request, so it is the parent (the header's span
 * would make the two siblings) and the request span is INTERNAL. With no local span active, modhost's request span
 * is where this process enters the trace: SERVER, under the header's span.
 */
export function parentContext(name: string, parent: SpanParent): { readonly ctx: Context; readonly kind: SpanKind } {
  const active = context.active();
  const own = typeof parent === 'object' ? otelSpans.get(parent) : undefined;
  if (own) return { ctx: trace.setSpan(active, own), kind: SpanKind.INTERNAL };
  // Someone else's span (another telemetry's) may still carry a traceparent to join.
  const traceparent = typeof parent === 'object' ? parent.traceparent : parent;
  if (name !== 'modhost.request') return { ctx: remote(active, traceparent), kind: SpanKind.INTERNAL };
  return hasLocalSpan(active) ? { ctx: active, kind: SpanKind.INTERNAL } : { ctx: remote(active, traceparent), kind: SpanKind.SERVER };
}

function remote(active: Context, traceparent: string | undefined): Context {
  const spanContext = traceparent === undefined ? undefined : parseTraceparent(traceparent);
  return spanContext ? trace.setSpanContext(active, spanContext) : active;
}

// A span started in this process (not one extracted from a header, which is remote).
function hasLocalSpan(ctx: Context): boolean {
  const span = trace.getSpan(ctx)?.spanContext();
  return span !== undefined && isSpanContextValid(span) && span.isRemote !== true;
}
