// W3C `traceparent` in and out. Parsed here rather than through a propagator, so the global propagation set-up of the
// app (which may have none, or B3) never decides whether a kernel-given parent is honoured.
import { isTraceparent } from '@modhost/core';
import { isSpanContextValid, type SpanContext } from '@opentelemetry/api';

/** The remote span context a valid `traceparent` names; undefined for anything else (it is ignored, never guessed at). */
export function parseTraceparent(value: string): SpanContext | undefined {
  if (!isTraceparent(value)) return undefined;
  const [, traceId, spanId, flags] = value.split('-') as [string, string, string, string];
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true };
}

/** `00-<trace id>-<span id>-<flags>` of `span`; undefined when it is invalid (a no-op tracer with no parent). */
export function formatTraceparent(span: SpanContext): string | undefined {
  if (!isSpanContextValid(span)) return undefined;
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}
