// Label values for the Prometheus metrics. Every series is one more time series in the app's Prometheus, so a label
// only ever takes values from a bounded set: fixed lists here, and a cap per label for names the host knows (modules,
// routes, adapters, instances) so a bug upstream cannot grow the series without end.
import { ErrorCode } from '@modhost/core';

/** The value a label takes when its input is unknown, or its cap of distinct values is reached. */
export const OTHER = 'other';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));
// Names the kernel makes up (capabilities, guest operations, phases): short, no spaces, no paths.
const TOKEN = /^[A-Za-z0-9_.:@/*+-]{1,200}$/;

/** Caps each label at `max` distinct values; past that, new values read `other` and `onOverflow` is told. */
export type LabelGuard = (label: string, value: unknown) => string;

export function createLabelGuard(max: number, onOverflow: (label: string) => void): LabelGuard {
  const seen = new Map<string, Set<string>>();
  return (label, value) => {
    if (typeof value !== 'string' || !TOKEN.test(value)) return OTHER;
    let values = seen.get(label);
    if (values === undefined) {
      values = new Set();
      seen.set(label, values);
    }
    if (values.has(value)) return value;
    if (values.size >= max) {
      onOverflow(label);
      return OTHER;
    }
    values.add(value);
    return value;
  };
}

/** `value` when it is one of `allowed`, else `other`. */
export function oneOf(value: unknown, allowed: readonly string[]): string {
  return typeof value === 'string' && allowed.includes(value) ? value : OTHER;
}

/** An HTTP method the pipeline serves, else `other`. */
export function methodLabel(value: unknown): string {
  return typeof value === 'string' && METHODS.has(value) ? value : OTHER;
}

/** An HTTP status code as a label (100–599), else `other`. */
export function statusLabel(value: unknown): string {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599 ? String(value) : OTHER;
}

/** `2xx`, `4xx`, …: the latency histogram keeps fewer series than the counter. */
export function statusClass(value: unknown): string {
  return typeof value === 'number' && value >= 100 && value <= 599 ? `${Math.floor(value / 100)}xx` : OTHER;
}

/** A `ModhostError` code from the catalogue, else `other` (a module's own error code is its to make up). */
export function codeLabel(value: unknown): string {
  return typeof value === 'string' && CODES.has(value) ? value : OTHER;
}
