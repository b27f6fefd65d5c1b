// A real OpenTelemetry SDK recording into memory, and ways to read the span tree it recorded.
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** A tracer provider whose finished spans land in `spans()`, with helpers to walk their tree. */
export function recordSpans() {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const spans = () => exporter.getFinishedSpans();
  return {
    tracerProvider,
    spans,
    /** Every finished span called `name`, in the order they ended. */
    named: (name: string) => spans().filter((s) => s.name === name),
    /** The one finished span called `name` whose attributes include `attributes`; throws when there is not exactly one. */
    one(name: string, attributes: Record<string, unknown> = {}): ReadableSpan {
      const found = spans().filter((s) => s.name === name && Object.entries(attributes).every(([k, v]) => s.attributes[k] === v));
      if (found.length !== 1) throw new Error(`${found.length} spans ${name} ${JSON.stringify(attributes)}; recorded: ${spans().map((s) => s.name)}`);
      return found[0] as ReadableSpan;
    },
    /** The finished spans whose parent is `parent`. */
    childrenOf: (parent: ReadableSpan) => spans().filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId),
    clear: () => exporter.reset(),
    shutdown: () => tracerProvider.shutdown(),
  };
}

/** The span id of `span`'s parent, undefined for a root. */
export const parentIdOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

/** Whether `child` hangs directly under `parent` in the same trace. */
export const isChildOf = (child: ReadableSpan, parent: ReadableSpan) =>
  child.spanContext().traceId === parent.spanContext().traceId && parentIdOf(child) === parent.spanContext().spanId;
