import { describe, it } from 'vitest';
import { runStorageCase, type StorageSuiteOptions, storageAdapterCases } from './storage-cases.js';

/**
 * Registers the storage-adapter conformance suite with vitest: one test per case, a fresh
 * adapter for each, random keys, and capability skips reported as skipped tests.
 *
 * @example
 * ```ts
 * // my-adapter.test.ts: the whole test file
 * import { describeStorageAdapter } from '@modhost/testkit'
 * import { myStorage } from './my-storage.js'
 * describeStorageAdapter('my-storage', { create: () => myStorage() })
 * ```
 */
export function describeStorageAdapter(name: string, options: StorageSuiteOptions & { timeout?: number }): void {
  describe(`storage adapter conformance: ${name}`, () => {
    for (const c of storageAdapterCases) {
      it(
        c.name,
        async (ctx) => {
          const result = await runStorageCase(c, options);
          if (result.status === 'failed') throw result.error;
          if (result.status === 'skipped') ctx.skip(result.reason);
        },
        options.timeout ?? 30_000,
      );
    }
  });
}
