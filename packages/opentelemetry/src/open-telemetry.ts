// The Telemetry port on @opentelemetry/api: each kernel span becomes an OpenTelemetry span. No SDK here: the app
// sets up its own (NodeSDK, an exporter) and this package only talks to the API.
import type { Telemetry, TelemetrySpan } from '@modhost/core';
import { SpanStatusCode, type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import { version } from '../package.json';
import { boundMessage, toOtelAttributes } from './attributes.js';
import { otelSpans, parentContext } from './parent-context.js';
import { formatTraceparent } from './traceparent.js';

/** Options for {@link openTelemetry}. */
export interface OpenTelemetryOptions {
  /** The tracer to start spans with. Default: `@modhost/opentelemetry` from `tracerProvider`. */
  readonly tracer?: Tracer;
  /** Where the default tracer comes from. Default: the global provider (`trace.getTracerProvider()`), as registered by the SDK. */
  readonly tracerProvider?: TracerProvider;
  /**
   * Trace each storage operation as a `modhost.storage` span. Default false: a host makes many of them (every lease
   * renewal, every state write) and metrics show their latency and errors better than spans.
   */
  readonly storageSpans?: boolean;
}

const NAME = '@modhost/opentelemetry';

// What a storage operation gets when storage spans are off: nothing to allocate, nothing to record.
const NOOP_SPAN: TelemetrySpan = Object.freeze({ setAttributes() {}, end() {} });

/**
 * Telemetry that turns the host's spans into OpenTelemetry traces through `@opentelemetry/api`: pass it as
 * `createHost({ telemetry: openTelemetry() })` after the app has registered its OpenTelemetry SDK. Attributes get a
 * `modhost.` prefix; a failed span has status ERROR with its code as `modhost.error.code`. Without a registered SDK
 * every span is the API's no-op (a span with no `traceparent`, or the parent's when the kernel gave one).
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): Telemetry {
  // The global provider is a proxy: a tracer taken before the SDK registers delegates to it once it does.
  const tracer = options.tracer ?? (options.tracerProvider ?? trace.getTracerProvider()).getTracer(NAME, version);
  const storageSpans = options.storageSpans ?? false;
  return {
    startSpan(name, attributes, parent) {
      if (name === 'modhost.storage' && !storageSpans) return NOOP_SPAN;
      const { ctx, kind } = parentContext(name, parent);
      const otel = tracer.startSpan(name, { kind, attributes: toOtelAttributes(attributes) }, ctx);
      // The kernel ends a span once; a second end, or attributes after it, are dropped rather than warned about.
      let ended = false;
      const span: TelemetrySpan = {
        // Made when asked for (the kernel hands it to guests and handlers): most spans never are.
        get traceparent() {
          return formatTraceparent(otel.spanContext());
        },
        setAttributes(more) {
          if (!ended) otel.setAttributes(toOtelAttributes(more));
        },
        end(outcome) {
          if (ended) return;
          ended = true;
          const error = outcome?.error;
          if (error) {
            otel.setAttribute('modhost.error.code', error.code);
            if (error.message !== undefined) otel.setAttribute('modhost.error.message', boundMessage(error.message));
            otel.setStatus({ code: SpanStatusCode.ERROR, message: error.code });
          }
          otel.end();
        },
      };
      otelSpans.set(span, otel);
      return span;
    },
  };
}
