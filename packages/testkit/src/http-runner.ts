// Runs the conformance cases (http-cases.ts): a fresh host per case, served through the adapter under test.
import { createHost } from 'modhost';
import {
  type HttpAdapterFactory,
  type HttpAdapterServer,
  type HttpCase,
  type HttpCaseContext,
  HttpConformanceError,
  type HttpSuiteOptions,
  httpAdapterCases,
} from './http-cases.js';
import { billingModule, httpClient, suiteIdentity, tasksModule } from './http-fixtures.js';
import { silentLogger } from './silent-logger.js';

/** Thrown by `ctx.skip`: the case does not apply to this adapter. */
class HttpCaseSkipped extends Error {
  override readonly name = 'HttpCaseSkipped';
}

/** The outcome of one case. */
export interface HttpCaseResult {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  readonly error?: unknown;
  readonly reason?: string;
}

/** Runs one case against a fresh host, serving it through `factory`; closes every server and stops the host after. */
export async function runHttpCase(c: HttpCase, factory: HttpAdapterFactory, options: HttpSuiteOptions = {}): Promise<HttpCaseResult> {
  const skipReason = options.skip?.[c.name];
  if (skipReason !== undefined) return { name: c.name, status: 'skipped', reason: skipReason };
  const calls: string[] = [];
  const errors: { error: unknown; requestId: string }[] = [];
  const warnings: string[] = [];
  const servers: HttpAdapterServer[] = [];
  const host = createHost({
    version: '1.0.0',
    modules: [tasksModule('1.0.0', calls), billingModule()],
    logger: silentLogger,
    policy: { grant: { '*': ['routes:mount', 'storage:module'] } },
  });
  const ctx: HttpCaseContext = {
    host,
    calls,
    errors,
    warnings,
    async serve(extra = {}) {
      const server = await factory(host, {
        ...suiteIdentity,
        onError: (error, requestId) => errors.push({ error, requestId }),
        onWarning: (message) => warnings.push(message),
        ...extra,
      });
      servers.push(server);
      return Object.assign(httpClient(server.url, options.requestTimeoutMs ?? 5_000), { server });
    },
    skip: (reason) => {
      throw new HttpCaseSkipped(reason);
    },
  };
  try {
    const report = await host.start();
    if (!report.ok) throw new HttpConformanceError(`the suite's host did not start: ${JSON.stringify(report).slice(0, 300)}`);
    await host.enable('billing', { tenant: 'acme' });
    await c.run(ctx);
    return { name: c.name, status: 'passed' };
  } catch (error) {
    if (error instanceof HttpCaseSkipped) return { name: c.name, status: 'skipped', reason: error.message };
    return { name: c.name, status: 'failed', error };
  } finally {
    for (const s of servers) await s.close();
    await host.stop();
  }
}

/** Runs the suite (or `options.only`) without a test framework and returns every case's outcome. */
export async function runHttpConformance(factory: HttpAdapterFactory, options: HttpSuiteOptions = {}): Promise<HttpCaseResult[]> {
  const results: HttpCaseResult[] = [];
  for (const c of httpAdapterCases) if (!options.only || options.only.includes(c.name)) results.push(await runHttpCase(c, factory, options));
  return results;
}
