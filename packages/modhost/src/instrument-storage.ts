// Storage operations as `modhost.storage` spans (for their latency and errors), when the host has telemetry.
import { noopTelemetry, type StorageAdapter, type Telemetry } from '@modhost/core';

type Op = 'get' | 'set' | 'delete' | 'keys' | 'compareAndSet';
const OPS: readonly Op[] = ['get', 'set', 'delete', 'keys', 'compareAndSet'];

/** `storage` with each operation reported to `telemetry`; `storage` itself when there is nothing to report to. */
export function instrumentStorage(storage: StorageAdapter, telemetry: Telemetry): StorageAdapter {
  if (telemetry === noopTelemetry) return storage;
  const adapter = storage.name ?? 'custom';
  const wrapped: Record<string, unknown> = {};
  for (const op of OPS) {
    const call = (storage[op] as (...args: unknown[]) => unknown).bind(storage);
    wrapped[op] = (...args: unknown[]) => {
      const span = telemetry.startSpan('modhost.storage', { operation: op, adapter });
      let out: unknown;
      try {
        out = call(...args);
      } catch (e) {
        span.end({ error: { code: 'STORAGE_ADAPTER_FAILED', message: e instanceof Error ? e.message : String(e) } });
        throw e;
      }
      if (out instanceof Promise || (typeof out === 'object' && out !== null && typeof (out as Promise<unknown>).then === 'function')) {
        return (out as Promise<unknown>).then(
          (v) => {
            span.end();
            return v;
          },
          (e: unknown) => {
            span.end({ error: { code: 'STORAGE_ADAPTER_FAILED', message: e instanceof Error ? e.message : String(e) } });
            throw e;
          },
        );
      }
      span.end();
      return out;
    };
  }
  // Optional methods keep their presence (a storage without `watch` stays one without it).
  return Object.assign(Object.create(storage) as StorageAdapter, { name: storage.name }, wrapped, {
    ...(storage.watch ? { watch: storage.watch.bind(storage) } : {}),
    ...(storage.dispose ? { dispose: storage.dispose.bind(storage) } : {}),
  });
}
