import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHttpHandler, type HttpHandlerOptions } from '@modhost/http';
import { createRequestListener, fromNodeRequest, sendNodeResponse } from '@modhost/http/node';
import type { Host } from 'modhost';
import { describe, expect, it } from 'vitest';
import type { HttpAdapterFactory } from './http-cases.js';
import { serveOnLoopback } from './http-fixtures.js';
import { runHttpConformance } from './http-runner.js';

/**
 * A node:http app serving the modules under `/m`, with a route of its own at `/m/app-route`. `passOn: false` is the
 * broken variant: it answers 404 itself where it should hand the request on to the app.
 */
function mounted(options: { passOn: boolean; body?: 'drop' }): HttpAdapterFactory {
  return (host: Host, handlerOptions: HttpHandlerOptions) => {
    const handler = createHttpHandler(host, handlerOptions);
    const app = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/m/app-route') return void res.end('app');
      res.statusCode = 404;
      res.end();
    };
    const server = createServer(async (req, res) => {
      if (!req.url?.startsWith('/m/')) return app(req, res);
      const request = fromNodeRequest(req, { url: req.url.slice(2), ...(options.body === 'drop' ? { body: { kind: 'none' } } : {}) });
      const response = await handler.handle(request);
      if (response) sendNodeResponse(res, response);
      else if (options.passOn) app(req, res);
      else sendNodeResponse(res, handler.notFound(request));
    });
    return serveOnLoopback(server, { path: '/m', appPath: '/m/app-route' });
  };
}

/** Lets any client pick its tenant: the adapter turns on `tenantFromHeader` behind the app's back. */
const trustsTenantHeader: HttpAdapterFactory = (host, options) =>
  serveOnLoopback(createServer(createRequestListener(host, { ...options, tenantFromHeader: 'x-tenant' })));

const failedCases = async (factory: HttpAdapterFactory) => (await runHttpConformance(factory)).filter((r) => r.status === 'failed').map((r) => r.name);

describe('the HTTP conformance suite catches broken adapters', () => {
  it('passes a correct adapter mounted among the app routes, app-route case included', async () => {
    const results = await runHttpConformance(mounted({ passOn: true }));
    expect(results.filter((r) => r.status !== 'passed')).toEqual([]);
  });

  it('fails an adapter that drops request bodies, in the body cases', async () => {
    expect(await failedCases(mounted({ passOn: true, body: 'drop' }))).toEqual([
      'hands a JSON body to the handler as parsed data',
      'hands a text body to the handler as a string',
      'hands a binary body to the handler as bytes and sends the bytes it returns',
      'answers 415 for a body type the route does not accept, without calling the handler',
      'answers 413 for a body over maxBodyBytes (declared or chunked), without calling the handler',
      'answers 408 for a body slower than bodyTimeoutMs, without calling the handler',
      'answers 400 for malformed JSON, without calling the handler',
    ]);
  });

  it('fails an adapter that trusts the x-tenant header, in exactly that case', async () => {
    expect(await failedCases(trustsTenantHeader)).toEqual(['never trusts an x-tenant header unless tenantFromHeader says so']);
  });

  it('fails an adapter that answers 404 itself instead of passing the request on, in the app-route case', async () => {
    expect(await failedCases(mounted({ passOn: false }))).toEqual(["lets the app's own routes answer beside the modules"]);
  });

  it('says what was expected when a case fails', async () => {
    const [result] = await runHttpConformance(trustsTenantHeader, { only: ['never trusts an x-tenant header unless tenantFromHeader says so'] });
    expect(String(result?.error)).toBe(
      'HttpConformanceError: GET /billing/whoami with x-tenant: acme and no token: expected status 404, got 200 "{\\"tenant\\":\\"acme\\",\\"ctxTenant\\":\\"acme\\"}"',
    );
  });
});
