// The telemetry port: the kernel says where work starts and ends (activations, phases, upgrades, requests, calls into
// guests, storage operations) and the app's telemetry turns that into traces, metrics or both. Core holds only the
// shape, a no-op and a way to feed two at once: OpenTelemetry and prom-client live in their own packages.

/** Attribute values of a span: bounded, never request paths or user input. */
export type TelemetryAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** A span the kernel started and will end exactly once. */
export interface TelemetrySpan {
  /** The W3C `traceparent` of this span, when the telemetry traces: handed to guests so their work joins the trace. */
  readonly traceparent?: string | undefined;
  /** Adds attributes known only later (a request's status, the version an upgrade ended on). */
  setAttributes(attributes: TelemetryAttributes): void;
  /** Ends the span; with `error`, as failed (its code, and a message that is never sent to an HTTP client). */
  end(outcome?: { readonly error?: { readonly code: string; readonly message?: string } }): void;
}

/** Where a span hangs: a span the kernel holds, a W3C `traceparent` from outside (a request, a guest), or the root. */
export type SpanParent = TelemetrySpan | string | undefined;

/**
 * What the host reports work to. Span names are fixed (`modhost.activation`, `modhost.module.start`,
 * `modhost.module.phase`, `modhost.upgrade`, `modhost.upgrade.step`, `modhost.rollback`, `modhost.request`,
 * `modhost.guest.call`, `modhost.ctx.call`, `modhost.storage`); docs/operations.md lists each with its attributes.
 */
export interface Telemetry {
  startSpan(name: string, attributes: TelemetryAttributes, parent?: SpanParent): TelemetrySpan;
}

const NOOP_SPAN: TelemetrySpan = Object.freeze({ setAttributes() {}, end() {} });

/** Telemetry that records nothing (the default): a span costs one call. */
export const noopTelemetry: Telemetry = Object.freeze({ startSpan: () => NOOP_SPAN });

/**
 * Feeds every span to each of `telemetries` (for example OpenTelemetry traces and Prometheus metrics). The combined
 * span's `traceparent` is the first one that has one. A telemetry that throws never breaks the work it observes: the
 * host always goes through this, also for one telemetry.
 */
export function combineTelemetry(...telemetries: readonly (Telemetry | undefined)[]): Telemetry {
  const all = telemetries.filter((t): t is Telemetry => t !== undefined && t !== noopTelemetry);
  if (all.length === 0) return noopTelemetry;
  if (all.length === 1) {
    // One telemetry (the common case): one guard object per span, no arrays.
    const only = all[0] as Telemetry;
    return {
      startSpan(name, attributes, parent) {
        const own = parent instanceof GuardedSpan ? parent.inner : parent;
        try {
          return new GuardedSpan(only.startSpan(name, attributes, own));
        } catch {
          return NOOP_SPAN;
        }
      },
    };
  }
  return {
    startSpan(name, attributes, parent) {
      // A parent span made here is split back into each telemetry's own span.
      const parts = parent instanceof CombinedSpan ? parent.parts : undefined;
      const spans = all.map((t, i) => {
        try {
          return t.startSpan(name, attributes, parts ? parts[i] : parent);
        } catch {
          return NOOP_SPAN;
        }
      });
      return new CombinedSpan(spans);
    },
  };
}

/** One telemetry's span, behind a guard: what it throws stays here. */
class GuardedSpan implements TelemetrySpan {
  constructor(readonly inner: TelemetrySpan) {}
  get traceparent(): string | undefined {
    try {
      return this.inner.traceparent;
    } catch {
      return undefined;
    }
  }
  setAttributes(attributes: TelemetryAttributes): void {
    try {
      this.inner.setAttributes(attributes);
    } catch {
      // Telemetry observes the work; its failure is never the work's failure.
    }
  }
  end(outcome?: { readonly error?: { readonly code: string; readonly message?: string } }): void {
    try {
      this.inner.end(outcome);
    } catch {
      // As above.
    }
  }
}

/** The spans of several telemetries as one. */
class CombinedSpan implements TelemetrySpan {
  readonly traceparent: string | undefined;
  constructor(readonly parts: readonly TelemetrySpan[]) {
    this.traceparent = parts.find((s) => s.traceparent !== undefined)?.traceparent;
  }
  setAttributes(attributes: TelemetryAttributes): void {
    for (const s of this.parts) safely(() => s.setAttributes(attributes));
  }
  end(outcome?: { readonly error?: { readonly code: string; readonly message?: string } }): void {
    for (const s of this.parts) safely(() => s.end(outcome));
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // Telemetry observes the work; its failure is never the work's failure.
  }
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Whether `value` is a well-formed W3C `traceparent` (version 00, non-zero ids): anything else is dropped. */
export function isTraceparent(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = TRACEPARENT.exec(value);
  return m !== null && !/^0+$/.test(m[1] as string) && !/^0+$/.test(m[2] as string);
}
