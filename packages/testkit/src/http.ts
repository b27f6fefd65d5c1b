// `@modhost/testkit/http`: the conformance suite for HTTP adapters. A subpath entry of its own: it needs the
// optional peers `modhost` (the host the cases serve) and `@modhost/http` (its types).
import { describe, it } from 'vitest';
import { type HttpAdapterFactory, type HttpSuiteOptions, httpAdapterCases } from './http-cases.js';
import { runHttpCase } from './http-runner.js';

export {
  type HttpAdapterFactory,
  type HttpAdapterServer,
  type HttpCase,
  type HttpCaseContext,
  type HttpClient,
  HttpConformanceError,
  type HttpSuiteOptions,
  httpAdapterCases,
} from './http-cases.js';
export type { HttpAnswer, HttpCall } from './http-fixtures.js';
export { serveOnLoopback } from './http-fixtures.js';
export { type HttpCaseResult, runHttpCase, runHttpConformance } from './http-runner.js';

/**
 * Registers the HTTP adapter conformance suite with vitest: one test per case, each with a fresh host (`tasks`
 * host-wide, `billing` enabled for tenant `acme`) served by `factory` on a real loopback server, and real `fetch`
 * requests. The tenant comes from a bearer token (`acme-token`, `globex-token`), never from a header unless a case
 * passes `tenantFromHeader`. A factory passes the options it is given to its adapter as they are.
 *
 * @example
 * ```ts
 * // my-adapter.test.ts: the whole test file
 * import { createServer } from 'node:http'
 * import { createRequestListener } from '@modhost/http/node'
 * import { describeHttpAdapter, serveOnLoopback } from '@modhost/testkit/http'
 * describeHttpAdapter('node:http', (host, options) => serveOnLoopback(createServer(createRequestListener(host, options))))
 * ```
 */
export function describeHttpAdapter(name: string, factory: HttpAdapterFactory, options: HttpSuiteOptions & { timeout?: number } = {}): void {
  describe(`HTTP adapter conformance: ${name}`, () => {
    for (const c of httpAdapterCases) {
      if (options.only && !options.only.includes(c.name)) continue;
      it(
        c.name,
        async (ctx) => {
          const result = await runHttpCase(c, factory, options);
          if (result.status === 'failed') throw result.error;
          if (result.status === 'skipped') ctx.skip(result.reason);
        },
        options.timeout ?? 15_000,
      );
    }
  });
}
