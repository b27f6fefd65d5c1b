import { isDeepStrictEqual } from 'node:util';
import type { AuthorizeRequest, HttpHandlerOptions } from '@modhost/http';
import type { Host } from 'modhost';
import { type HttpAnswer, type HttpCall, LEAKED_SECRET, tasksModule } from './http-fixtures.js';

/** What a factory of the suite returns: a real server, listening, that serves the host's modules at `url`. */
export interface HttpAdapterServer {
  /** Where the modules are served, without a trailing slash: the suite requests `${url}/tasks/...`. */
  readonly url: string;
  /**
   * Optional: a route of the app's own on the same server, outside modhost, that answers 200. Enables the case that
   * the app's routes still answer beside the modules (for adapters mounted among other routes).
   */
  readonly appUrl?: string;
  close(): Promise<void>;
}

/** Serves `host` with the adapter under test, passing `options` to it as they are. */
export type HttpAdapterFactory = (host: Host, options: HttpHandlerOptions) => Promise<HttpAdapterServer>;

/** How to run the suite. */
export interface HttpSuiteOptions {
  /** Case names to skip, with the reason shown in the report. */
  skip?: Readonly<Record<string, string>>;
  /** Runs only these cases (by name). */
  only?: readonly string[];
  /** How long one request may take before its case fails, ms. Default 5000. */
  requestTimeoutMs?: number;
}

/** What a case receives: a started host (`tasks` host-wide, `billing` enabled for `acme`) and a way to serve it. */
export interface HttpCaseContext {
  readonly host: Host;
  /** Which `tasks` handlers ran (`echo@1.0.0`, …). */
  readonly calls: string[];
  /** What the pipeline's `onError` was told. */
  readonly errors: { error: unknown; requestId: string }[];
  /** What the pipeline's `onWarning` was told. */
  readonly warnings: string[];
  /**
   * Serves the host with the adapter under test (the suite's identity hooks, plus `extra`) and returns a client
   * for its `url`. The runner closes every server after the case.
   */
  serve(extra?: HttpHandlerOptions): Promise<HttpClient>;
  /** Marks the case skipped (a capability the adapter lacks) and stops it. */
  skip(reason: string): never;
}

/** Requests `path` below the server's `url`; `server` is what the factory returned. */
export interface HttpClient {
  (path: string, call?: HttpCall): Promise<HttpAnswer>;
  readonly server: HttpAdapterServer;
}

/** One conformance case. */
export interface HttpCase {
  readonly name: string;
  run(ctx: HttpCaseContext): Promise<void>;
}

/** Thrown when an adapter does not conform; the message says what was expected. */
export class HttpConformanceError extends Error {
  override readonly name = 'HttpConformanceError';
}

const fail = (message: string): never => {
  throw new HttpConformanceError(message);
};
const show = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
};
function equal(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}
function status(answer: HttpAnswer, expected: number, what: string): void {
  if (answer.status !== expected) fail(`${what}: expected status ${expected}, got ${answer.status} ${show(answer.text)}`);
}
/** A problem document (RFC 9457) from the pipeline, with the request id in its body and header. */
function problemDoc(answer: HttpAnswer, expected: number, what: string): void {
  status(answer, expected, what);
  equal(answer.headers.get('content-type')?.split(';')[0], 'application/problem+json', `${what}: content-type`);
  equal(answer.json?.status, expected, `${what}: the problem document's status`);
  equal(answer.json?.requestId, answer.headers.get('x-request-id'), `${what}: the problem document's requestId and the x-request-id header`);
}
function notRun(calls: readonly string[], handler: string, what: string): void {
  if (calls.some((c) => c.startsWith(`${handler}@`))) fail(`${what}: the request was refused, but the module's ${handler} handler ran`);
}

const json = (value: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });

/** Every case of the HTTP adapter conformance suite, in order. */
export const httpAdapterCases: readonly HttpCase[] = [
  {
    name: 'routes to a module by path and decodes :params (a percent-encoded / stays in its segment)',
    async run({ serve }) {
      const http = await serve();
      const plain = await http('/tasks/echo/42');
      status(plain, 200, 'GET /tasks/echo/42');
      equal(plain.json.params, { id: '42' }, 'params of /tasks/echo/42');
      equal((await http('/tasks/echo/a%20b%2Fc')).json?.params, { id: 'a b/c' }, 'params of /tasks/echo/a%20b%2Fc');
      equal((await http('/tasks/echo/caf%C3%A9')).json?.params, { id: 'café' }, 'params of /tasks/echo/caf%C3%A9');
      status(await http('/tasks/nope'), 404, 'GET /tasks/nope (no such route)');
      status(await http('/tasks/echo/42', { method: 'DELETE' }), 404, 'DELETE /tasks/echo/42 (no such method)');
    },
  },
  {
    name: 'passes the query string (decoded; the first of a repeated name)',
    async run({ serve }) {
      const http = await serve();
      const answer = await http('/tasks/echo/1?q=hello%20world&tag=a&tag=b&empty=');
      status(answer, 200, 'GET with a query');
      equal(answer.json.query, { q: 'hello world', tag: 'a', empty: '' }, 'query');
      equal((await http('/tasks/echo/1')).json?.query, {}, 'query of a request without one');
    },
  },
  {
    name: 'hands a JSON body to the handler as parsed data',
    async run({ serve }) {
      const http = await serve();
      const data = { title: 'write docs', n: 1, nested: { list: [1, 'two', null] } };
      const answer = await http('/tasks/body', { method: 'POST', ...json(data) });
      status(answer, 200, 'POST a JSON body');
      equal(answer.json, { body: data, type: 'object' }, 'what the handler got');
      const vendor = await http('/tasks/body', { method: 'POST', headers: { 'content-type': 'application/vnd.api+json' }, body: '{"a":1}' });
      equal(vendor.json, { body: { a: 1 }, type: 'object' }, 'what the handler got for application/vnd.api+json');
      const chunked = await http('/tasks/body', { method: 'POST', headers: { 'content-type': 'application/json' }, body: ['{"parts":', '[1,', '2]}'] });
      equal(chunked.json, { body: { parts: [1, 2] }, type: 'object' }, 'what the handler got for a chunked JSON body');
    },
  },
  {
    name: 'hands a text body to the handler as a string',
    async run({ serve }) {
      const http = await serve();
      const text = 'héllo wörld ✓\nline two';
      const answer = await http('/tasks/text', { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: text });
      status(answer, 200, 'POST a text body');
      equal(answer.json, { body: text, type: 'string' }, 'what the handler got');
      // A character split across two chunks is decoded whole.
      const bytes = new TextEncoder().encode('café');
      const split = await http('/tasks/text', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: [bytes.slice(0, 4), bytes.slice(4)] });
      equal(split.json, { body: 'café', type: 'string' }, 'what the handler got for a chunked body split inside a character');
    },
  },
  {
    name: 'hands a binary body to the handler as bytes and sends the bytes it returns',
    async run({ serve }) {
      const http = await serve();
      const answer = await http('/tasks/bytes', {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array([0, 1, 2, 255]),
      });
      status(answer, 200, 'POST application/octet-stream');
      equal(answer.headers.get('x-body-was'), 'bytes', 'what the handler got');
      equal(answer.headers.get('content-type'), 'application/octet-stream', 'the content-type of the answer');
      equal(answer.bytes, [255, 2, 1, 0], 'the bytes of the answer');
    },
  },
  {
    name: 'answers 404 for a path no module serves',
    async run({ serve }) {
      const http = await serve();
      status(await http('/nothing/here'), 404, 'GET /nothing/here');
      status(await http('/nothing', { method: 'POST', ...json({}) }), 404, 'POST /nothing');
    },
  },
  {
    name: "lets the app's own routes answer beside the modules",
    async run({ serve, skip }) {
      const http = await serve();
      const appUrl = http.server.appUrl;
      if (appUrl === undefined) return skip('the factory gives no appUrl (the adapter is not mounted among other routes)');
      const res = await fetch(appUrl, { signal: AbortSignal.timeout(5_000) });
      await res.text();
      if (res.status !== 200) fail(`GET ${appUrl} (the app's own route): expected status 200, got ${res.status}`);
      status(await http('/tasks/echo/1'), 200, 'GET /tasks/echo/1 on the same server');
    },
  },
  {
    name: 'serves a tenant-gated module only to the tenants it is enabled for (404 for no tenant, another tenant)',
    async run({ serve, host }) {
      const http = await serve();
      const acme = await http('/billing/whoami', { token: 'acme-token' });
      status(acme, 200, 'GET /billing/whoami as acme (enabled)');
      equal(acme.json, { tenant: 'acme', ctxTenant: 'acme' }, 'what billing saw for acme');
      status(await http('/billing/whoami'), 404, 'GET /billing/whoami with no tenant');
      status(await http('/billing/whoami', { token: 'globex-token' }), 404, 'GET /billing/whoami as globex (not enabled)');
      // Enablement is read per request: no adapter may cache it.
      await host.enable('billing', { tenant: 'globex' });
      await host.disable('billing', { tenant: 'acme' });
      status(await http('/billing/whoami', { token: 'globex-token' }), 200, 'GET /billing/whoami as globex, once enabled');
      status(await http('/billing/whoami', { token: 'acme-token' }), 404, 'GET /billing/whoami as acme, once disabled');
    },
  },
  {
    name: 'never trusts an x-tenant header unless tenantFromHeader says so',
    async run({ serve }) {
      const http = await serve();
      status(await http('/billing/whoami', { headers: { 'x-tenant': 'acme' } }), 404, 'GET /billing/whoami with x-tenant: acme and no token');
      equal((await http('/tasks/echo/1', { headers: { 'x-tenant': 'acme' } })).json?.tenant, null, 'the tenant of a request with only x-tenant: acme');
      equal(
        (await http('/tasks/echo/1', { token: 'globex-token', headers: { 'x-tenant': 'acme' } })).json?.tenant,
        'globex',
        'the tenant of globex sending x-tenant: acme',
      );
      const trusting = await serve({ tenantFromHeader: 'x-tenant' });
      const opted = await trusting('/billing/whoami', { headers: { 'x-tenant': 'acme' } });
      status(opted, 200, 'GET /billing/whoami with x-tenant: acme, tenantFromHeader: x-tenant');
      equal(opted.json?.tenant, 'acme', 'the tenant from the trusted header');
    },
  },
  {
    name: 'gives the handler the tenant, principal and request id, and a ctx bound to the tenant',
    async run({ serve }) {
      const http = await serve();
      const acme = await http('/tasks/echo/1', { token: 'acme-token', headers: { 'x-request-id': 'who-1' } });
      status(acme, 200, 'GET /tasks/echo/1 as acme');
      const { tenant, principal, requestId, ctxTenant } = acme.json;
      equal(
        { tenant, principal, requestId, ctxTenant },
        { tenant: 'acme', principal: { user: 'ann@acme' }, requestId: 'who-1', ctxTenant: 'acme' },
        'what the handler saw',
      );
      const anonymous = (await http('/tasks/echo/1')).json;
      equal(
        { tenant: anonymous?.tenant, principal: anonymous?.principal, ctxTenant: anonymous?.ctxTenant },
        { tenant: null, principal: null, ctxTenant: null },
        'an anonymous request',
      );
    },
  },
  {
    name: 'does not forward credentials (authorization, cookie) to the module',
    async run({ serve }) {
      const http = await serve();
      const answer = await http('/tasks/echo/1', { token: 'acme-token', headers: { cookie: 'sid=s3cr3t', 'x-custom': 'passed' } });
      status(answer, 200, 'GET /tasks/echo/1 with credentials');
      const headers = answer.json.headers as Record<string, string>;
      equal(headers.authorization, undefined, 'the authorization header the module saw');
      equal(headers.cookie, undefined, 'the cookie header the module saw');
      equal(headers['x-custom'], 'passed', 'an ordinary header the module saw');
    },
  },
  {
    name: 'denies a route permission without authorize (403), asks authorize with module, version, route, permission, tenant and principal',
    async run({ serve, calls, warnings }) {
      const closed = await serve();
      const denied = await closed('/tasks/secret', { token: 'acme-token' });
      problemDoc(denied, 403, 'GET /tasks/secret with no authorize()');
      equal(denied.json.code, 'PERMISSION_DENIED', 'the problem code');
      notRun(calls, 'secret', 'GET /tasks/secret with no authorize()');
      if (!warnings.some((w) => w.includes('tasks@1.0.0')))
        fail(`onWarning was not told that tasks@1.0.0 declares a permission with no authorize(): ${show(warnings)}`);

      const asked: AuthorizeRequest[] = [];
      const open = await serve({
        authorize: (request) => {
          asked.push(request);
          return (request.principal as { user?: string } | undefined)?.user === 'ann@acme';
        },
      });
      status(await open('/tasks/secret', { token: 'acme-token' }), 200, 'GET /tasks/secret as ann (authorized)');
      const { module, version, route, permission, tenant, principal } = asked[0] ?? fail('authorize() was not asked');
      equal(
        { module, version, route, permission, tenant, principal },
        {
          module: 'tasks',
          version: '1.0.0',
          route: { method: 'GET', path: '/secret' },
          permission: 'tasks:read',
          tenant: 'acme',
          principal: { user: 'ann@acme' },
        },
        'what authorize() was asked',
      );
      problemDoc(await open('/tasks/secret', { token: 'globex-token' }), 403, 'GET /tasks/secret as gil (refused by authorize)');
      equal(calls.filter((c) => c.startsWith('secret@')).length, 1, 'how often the secret handler ran');
      equal(asked.length, 2, 'how often authorize() was asked');
    },
  },
  {
    name: "answers a module's error with a 500 problem document carrying the request id, never the error text",
    async run({ serve, errors }) {
      const http = await serve();
      const answer = await http('/tasks/boom', { headers: { 'x-request-id': 'boom-1' } });
      problemDoc(answer, 500, 'GET /tasks/boom');
      equal(answer.json.requestId, 'boom-1', "the problem document's requestId");
      if (answer.text.includes('hunter2')) fail(`the client saw the module's error text: ${show(answer.text)}`);
      const told = errors.find((e) => e.requestId === 'boom-1');
      if (!String((told?.error as Error | undefined)?.message).includes('hunter2'))
        fail(`onError was not told the module's error with request id boom-1: ${show(errors)}`);
      const generated = await http('/tasks/boom');
      problemDoc(generated, 500, 'GET /tasks/boom with no request id');
      if (typeof generated.json.requestId !== 'string' || generated.json.requestId === '') fail(`no request id was generated: ${show(generated.json)}`);
      if (generated.text.includes(LEAKED_SECRET)) fail('the client saw the error text');
    },
  },
  {
    name: 'answers 415 for a body type the route does not accept, without calling the handler',
    async run({ serve, calls }) {
      const http = await serve();
      const refused = await http('/tasks/json', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
      problemDoc(refused, 415, 'POST text/plain to a route that accepts application/json');
      notRun(calls, 'json', 'POST text/plain to /tasks/json');
      const accepted = await http('/tasks/json', { method: 'POST', ...json({ ok: true }) });
      status(accepted, 200, 'POST application/json to /tasks/json');
      equal(accepted.json, { body: { ok: true } }, 'what the handler got');
    },
  },
  {
    name: 'answers 413 for a body over maxBodyBytes (declared or chunked), without calling the handler',
    async run({ serve, calls }) {
      const http = await serve({ maxBodyBytes: 64 });
      const big = { title: 'x'.repeat(200) };
      status(await http('/tasks/body', { method: 'POST', ...json(big) }), 413, 'POST 200+ bytes of JSON with maxBodyBytes 64');
      const chunks = [JSON.stringify(big).slice(0, 100), JSON.stringify(big).slice(100)];
      status(
        await http('/tasks/body', { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunks }),
        413,
        'POST 200+ chunked bytes of JSON',
      );
      status(await http('/tasks/text', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'y'.repeat(200) }), 413, 'POST 200 bytes of text');
      notRun(calls, 'body', 'POST over maxBodyBytes');
      notRun(calls, 'text', 'POST over maxBodyBytes');
      status(await http('/tasks/body', { method: 'POST', ...json({ small: true }) }), 200, 'POST a body under maxBodyBytes');
    },
  },
  {
    name: 'answers 408 for a body slower than bodyTimeoutMs, without calling the handler',
    async run({ serve, calls }) {
      const http = await serve({ bodyTimeoutMs: 200 });
      const slow = await http('/tasks/body', { method: 'POST', headers: { 'content-type': 'application/json' }, body: ['{"title":'], stall: true });
      status(slow, 408, 'POST a JSON body that stalls after its first chunk, with bodyTimeoutMs 200');
      notRun(calls, 'body', 'POST a body that stalls');
      status(await http('/tasks/body', { method: 'POST', ...json({ prompt: true }) }), 200, 'POST a body that arrives in time');
    },
  },
  {
    name: 'answers 400 for malformed JSON, without calling the handler',
    async run({ serve, calls }) {
      const http = await serve();
      status(await http('/tasks/body', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":' }), 400, 'POST malformed JSON');
      notRun(calls, 'body', 'POST malformed JSON');
    },
  },
  {
    name: 'never sends framing headers a module sets (a forged content-length)',
    async run({ serve }) {
      const http = await serve();
      const answer = await http('/tasks/framing');
      status(answer, 200, 'GET /tasks/framing');
      equal(answer.text, 'short', 'the body');
      equal(answer.headers.get('x-module'), 'kept', 'an ordinary header the module set');
      const length = answer.headers.get('content-length');
      if (length !== null && length !== '5') fail(`content-length: expected 5 or none, got ${length}`);
      if (answer.headers.get('connection') === 'close') fail('the module closed the connection with its own connection header');
      // The connection is still in step: the next answer on it is whole.
      status(await http('/tasks/echo/after'), 200, 'the request after it');
    },
  },
  {
    name: "uses the client's x-request-id, else the traceparent's trace id, else a new id",
    async run({ serve }) {
      const http = await serve();
      const idOf = async (headers: Record<string, string>, what: string) => {
        const answer = await http('/tasks/echo/1', { headers });
        status(answer, 200, what);
        equal(answer.json.requestId, answer.headers.get('x-request-id'), `${what}: the handler's requestId and the x-request-id header`);
        return answer.json.requestId as string;
      };
      equal(await idOf({ 'x-request-id': 'client-id-42' }, 'x-request-id: client-id-42'), 'client-id-42', 'the request id');
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      equal(await idOf({ traceparent }, 'a traceparent'), '4bf92f3577b34da6a3ce929d0e0e4736', 'the request id from the traceparent');
      const malformed = await idOf({ 'x-request-id': 'not ok!' }, 'a malformed x-request-id');
      if (malformed === 'not ok!' || !malformed) fail(`a malformed x-request-id must be replaced, got ${show(malformed)}`);
      const a = await idOf({}, 'no request id');
      const b = await idOf({}, 'no request id');
      if (!a || a === b) fail(`generated request ids must be distinct and non-empty, got ${show([a, b])}`);
    },
  },
  {
    name: 'hot-swaps a module under concurrent requests with no failed request',
    async run({ serve, host, calls }) {
      const http = await serve();
      const failures: string[] = [];
      const answers: string[] = [];
      const hit = async () => {
        try {
          const answer = await http('/tasks/version');
          if (answer.status !== 200) failures.push(`${answer.status} ${answer.text}`);
          else answers.push(answer.json?.version);
          return answer.json?.version as string | undefined;
        } catch (error) {
          failures.push(String(error));
          return undefined;
        }
      };
      // Registers 1.1.0 and switches to it; then back and forth, 20 requests in flight during each swap.
      await host.install(tasksModule('1.1.0', calls));
      for (let wave = 0; wave < 10; wave++) {
        const to = wave % 2 === 0 ? '1.0.0' : '1.1.0';
        const [report] = await Promise.all([host.upgrade('tasks', to), ...Array.from({ length: 20 }, hit)]);
        if (report.outcome !== 'switched') fail(`upgrade to ${to}: ${report.outcome} ${show(report.error)}`);
        equal(await hit(), to, `the version serving after the switch to ${to}`);
      }
      equal(failures, [], 'failed requests during the swaps');
      const strays = answers.filter((v) => v !== '1.0.0' && v !== '1.1.0');
      equal(strays, [], 'answers from neither version');
      equal(answers.length, 210, 'answers');
    },
  },
];
