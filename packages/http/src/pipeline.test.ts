import { type AnyModuleDefinition, defineModule, memoryStorage } from '@modhost/core';
import { createFakeClock, silentLogger } from '@modhost/testkit';
import { createHost, type Host } from 'modhost';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createHttpHandler } from './pipeline.js';
import type { HttpBody, HttpHandlerOptions, HttpRequest, HttpResponse } from './types.js';

const hosts: Host[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

/** Echoes who asked, as the module sees it. */
const echo = defineModule({
  name: 'echo',
  version: '1.0.0',
  permissions: ['routes:mount', 'storage:module'],
  config: { schema: z.object({ greeting: z.string() }), defaults: { greeting: 'hello' } },
  routes: [
    {
      method: 'GET',
      path: '/who/:id',
      handler: (req, ctx) => ({
        body: {
          id: req.params.id,
          q: req.query.q ?? null,
          tenant: req.tenant ?? null,
          ctxTenant: ctx.tenant ?? null,
          principal: req.principal ?? null,
          requestId: req.requestId,
          greeting: ctx.config.greeting,
          sawCredentials: 'authorization' in req.headers || 'cookie' in req.headers,
        },
      }),
    },
    { method: 'POST', path: '/json', accepts: 'application/json', handler: (req) => ({ status: 201, body: { got: req.body ?? null } }) },
    { method: 'POST', path: '/any', handler: (req) => ({ body: { type: req.body instanceof Uint8Array ? 'bytes' : typeof req.body, body: req.body } }) },
    { method: 'DELETE', path: '/items/:id', permission: 'echo:delete', handler: (req) => ({ status: 204, body: { deleted: req.params.id } }) },
    {
      method: 'GET',
      path: '/boom',
      handler: () => {
        throw new Error('cannot connect: db password=hunter2');
      },
    },
    { method: 'GET', path: '/count', handler: async (_req, ctx) => ({ body: { n: (await ctx.storage.keys()).length } }) },
    { method: 'GET', path: '/forge', handler: () => ({ headers: { 'content-length': '1', 'transfer-encoding': 'chunked', 'x-ok': 'yes' }, body: 'hi' }) },
    { method: 'GET', path: '/split', handler: () => ({ headers: { 'x-evil': 'a\r\nset-cookie: pwned=1' }, body: 'x' }) },
  ],
});

/** Keeps each tenant's keys apart (storageScope 'tenant'); host-wide work keeps the module's own keys. */
const notes = defineModule({
  name: 'notes',
  version: '1.0.0',
  storageScope: 'tenant',
  permissions: ['routes:mount', 'storage:module'],
  async activate(ctx) {
    // Data written before the module scoped its storage by tenant: host-wide requests still read it.
    await ctx.storage.set('legacy', 'written host-wide');
  },
  routes: [
    {
      method: 'GET',
      path: '/',
      handler: async (_req, ctx) => ({ body: { keys: await ctx.storage.keys(), legacy: (await ctx.storage.get('legacy')) ?? null } }),
    },
    {
      method: 'POST',
      path: '/',
      handler: async (req, ctx) => {
        await ctx.storage.set(String((req.body as { key: string }).key), true);
        return { status: 201, body: {} };
      },
    },
  ],
});

async function start(modules: AnyModuleDefinition[] = [echo, notes], grant: string[] = ['routes:mount', 'storage:module']) {
  const clock = createFakeClock({ now: 1_000 });
  const storage = memoryStorage();
  const host = createHost({ version: '1.0.0', modules, clock, storage, logger: silentLogger, policy: { grant: { '*': grant } } });
  hosts.push(host);
  await host.start();
  return { host, clock, storage };
}

const bodyOf = (value: string, type = 'application/json'): { body: HttpBody; headers: Record<string, string> } => ({
  body: { kind: 'bytes', bytes: new TextEncoder().encode(value) },
  headers: { 'content-type': type },
});

const request = (method: string, target: string, extra: Partial<HttpRequest> = {}): HttpRequest => {
  const [path = '/', search = ''] = target.split('?');
  return { method, path, search, headers: {}, body: { kind: 'none' }, native: undefined, ...extra };
};

const json = (r: HttpResponse | undefined) =>
  r?.body === undefined ? undefined : JSON.parse(typeof r.body === 'string' ? r.body : new TextDecoder().decode(r.body));

/** The app's auth in these tests: `Bearer <tenant>:<user>`. */
const auth: HttpHandlerOptions<{ user: string }> = {
  resolveTenant: (r) => {
    const m = /^Bearer ([^:]*):/.exec(String(r.headers.authorization ?? ''));
    return m ? m[1] : undefined;
  },
  authenticate: (r) => {
    const m = /^Bearer [^:]*:(.+)$/.exec(String(r.headers.authorization ?? ''));
    return m ? { user: m[1] as string } : undefined;
  },
};
const as = (tenant: string, user = 'u') => ({ authorization: `Bearer ${tenant}:${user}` });

describe('createHttpHandler: tenant', () => {
  it('comes from resolveTenant; a client header is trusted only when the app opts in', async () => {
    const { host } = await start();
    const plain = createHttpHandler(host, { ...auth, onWarning: () => {} });
    const r = await plain.handle(request('GET', '/echo/who/7?q=x', { headers: { ...as('acme', 'ann'), cookie: 's=1', 'x-tenant': 'globex' } }));
    expect(r?.status).toBe(200);
    expect(json(r)).toMatchObject({ id: '7', q: 'x', tenant: 'acme', ctxTenant: 'acme', principal: { user: 'ann' }, sawCredentials: false });
    expect(json(await plain.handle(request('GET', '/echo/who/1', { headers: { 'x-tenant': 'globex' } })))).toMatchObject({ tenant: null, ctxTenant: null });
    const dev = createHttpHandler(host, { tenantFromHeader: 'x-tenant', onWarning: () => {} });
    expect(json(await dev.handle(request('GET', '/echo/who/1', { headers: { 'x-tenant': 'globex' } })))).toMatchObject({
      tenant: 'globex',
      ctxTenant: 'globex',
    });
    expect((await dev.handle(request('GET', '/echo/who/1', { headers: { 'x-tenant': '../etc' } })))?.status).toBe(400);
  });

  it('a hook that throws is a 401 (the detail goes to onError), and an app can require a tenant', async () => {
    const { host } = await start();
    const errors: unknown[] = [];
    const throwing = createHttpHandler(host, {
      resolveTenant: () => {
        throw new Error('token expired');
      },
      onError: (e) => void errors.push(e),
      onWarning: () => {},
    });
    const r = await throwing.handle(request('GET', '/echo/who/1'));
    expect(r?.status).toBe(401);
    expect(String(r?.body)).not.toContain('token expired');
    expect(errors).toHaveLength(1);
    const strict = createHttpHandler(host, { ...auth, requireTenant: true, onWarning: () => {} });
    expect((await strict.handle(request('GET', '/echo/who/1')))?.status).toBe(401);
    expect((await strict.handle(request('GET', '/echo/who/1', { headers: as('acme') })))?.status).toBe(200);
  });

  it('a tenant-gated module answers only its tenants; a request with no tenant never reaches it', async () => {
    const { host } = await start();
    const h = createHttpHandler(host, { ...auth, onWarning: () => {} });
    const get = (headers: Record<string, string> = {}) => h.handle(request('GET', '/echo/who/1', { headers }));
    // Never enabled for a tenant: host-wide, every request reaches it.
    expect((await get())?.status).toBe(200);
    expect((await get(as('globex')))?.status).toBe(200);
    await host.enable('echo', { tenant: 'acme' });
    expect(await get()).toBeUndefined();
    expect(await get(as('globex'))).toBeUndefined();
    expect((await get(as('acme')))?.status).toBe(200);
    // Disabling its last tenant does not open it to everyone.
    await host.disable('echo', { tenant: 'acme' });
    expect(await get()).toBeUndefined();
    expect(await get(as('acme'))).toBeUndefined();
    await host.enable('echo');
    expect((await get())?.status).toBe(200);
    expect(h.notFound(request('GET', '/echo/who/1'))).toMatchObject({ status: 404, headers: { 'content-type': 'application/problem+json' } });
  });

  it("ctx is bound to the request's tenant: its config, and a permission revoked for that tenant only", async () => {
    const { host } = await start();
    await host.configure('echo', { greeting: 'hi acme' }, { tenant: 'acme' });
    const h = createHttpHandler(host, { ...auth, onWarning: () => {}, onError: () => {} });
    expect(json(await h.handle(request('GET', '/echo/who/1', { headers: as('acme') })))).toMatchObject({ greeting: 'hi acme' });
    expect(json(await h.handle(request('GET', '/echo/who/1', { headers: as('globex') })))).toMatchObject({ greeting: 'hello' });
    // A later change reaches the tenant's ctx that already exists.
    await host.configure('echo', { greeting: 'hey acme' }, { tenant: 'acme' });
    expect(json(await h.handle(request('GET', '/echo/who/1', { headers: as('acme') })))).toMatchObject({ greeting: 'hey acme' });

    host.sandbox.grants.revoke('echo', 'storage:module', { tenant: 'acme' });
    const denied = await h.handle(request('GET', '/echo/count', { headers: as('acme') }));
    expect(denied?.status).toBe(403);
    expect(json(denied)).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect((await h.handle(request('GET', '/echo/count', { headers: as('globex') })))?.status).toBe(200);
    expect((await h.handle(request('GET', '/echo/count')))?.status).toBe(200);
    // Serving itself: routes:mount revoked for globex stops globex's requests at once, nobody else's.
    host.sandbox.grants.revoke('echo', 'routes:mount', { tenant: 'globex' });
    expect((await h.handle(request('GET', '/echo/who/1', { headers: as('globex') })))?.status).toBe(403);
    expect((await h.handle(request('GET', '/echo/who/1', { headers: as('acme') })))?.status).toBe(200);
    host.sandbox.grants.grant('echo', 'routes:mount', { tenant: 'globex' });
    expect((await h.handle(request('GET', '/echo/who/1', { headers: as('globex') })))?.status).toBe(200);
  });

  it("storageScope 'tenant' keeps each tenant's keys apart; host-wide requests keep reading the module's keys", async () => {
    const { host, storage } = await start();
    const h = createHttpHandler(host, { ...auth, onWarning: () => {} });
    const post = (tenant: string, key: string) =>
      h.handle(request('POST', '/notes', { ...bodyOf(JSON.stringify({ key })), headers: { ...bodyOf('').headers, ...as(tenant) } }));
    expect((await post('acme', 'a1'))?.status).toBe(201);
    expect((await post('globex', 'g1'))?.status).toBe(201);
    expect(json(await h.handle(request('GET', '/notes', { headers: as('acme') })))).toEqual({ keys: ['a1'], legacy: null });
    expect(json(await h.handle(request('GET', '/notes', { headers: as('globex') })))).toEqual({ keys: ['g1'], legacy: null });
    expect(json(await h.handle(request('GET', '/notes')))).toEqual({ keys: ['legacy'], legacy: 'written host-wide' });
    // The layout, as docs/http.md documents it.
    expect((await storage.keys('modhost:')).filter((k) => k.includes('data:')).sort()).toEqual([
      'modhost:data:notes:legacy',
      'modhost:tdata:notes:acme:a1',
      'modhost:tdata:notes:globex:g1',
    ]);
  });
});

describe('createHttpHandler: caller and permissions', () => {
  it('a route that declares a permission is denied without authorize, and the handler says so when it is made', async () => {
    const { host } = await start();
    const warnings: string[] = [];
    const h = createHttpHandler(host, { ...auth, onWarning: (m) => void warnings.push(m) });
    expect(warnings).toEqual([expect.stringContaining('echo@1.0.0 declares a permission on /items/:id')]);
    const r = await h.handle(request('DELETE', '/echo/items/9', { headers: as('acme') }));
    expect(r?.status).toBe(403);
    expect(json(r)).toMatchObject({ status: 403, code: 'PERMISSION_DENIED' });
    // Once per module version.
    expect(warnings).toHaveLength(1);
  });

  it('authorize is asked with the principal, tenant, module, route and permission, and decides', async () => {
    const { host } = await start();
    const asked: unknown[] = [];
    const h = createHttpHandler(host, {
      ...auth,
      authorize: ({ principal, tenant, module, version, route, permission }) => {
        asked.push({ principal, tenant, module, version, route, permission });
        return principal?.user === 'admin';
      },
    });
    expect((await h.handle(request('DELETE', '/echo/items/9', { headers: as('acme', 'guest') })))?.status).toBe(403);
    expect((await h.handle(request('DELETE', '/echo/items/9')))?.status).toBe(403);
    const ok = await h.handle(request('DELETE', '/echo/items/9', { headers: as('acme', 'admin') }));
    expect(ok?.status).toBe(204);
    expect(ok?.body).toBeUndefined();
    expect(asked[2]).toEqual({
      principal: { user: 'admin' },
      tenant: 'acme',
      module: 'echo',
      version: '1.0.0',
      route: { method: 'DELETE', path: '/items/:id' },
      permission: 'echo:delete',
    });
    // Routes with no permission do not ask.
    await h.handle(request('GET', '/echo/who/1'));
    expect(asked).toHaveLength(3);
  });

  it('an authorize or authenticate that throws never leaks and never allows', async () => {
    const { host } = await start();
    const h = createHttpHandler(host, {
      authorize: () => {
        throw new Error('policy db password=hunter2');
      },
      onError: () => {},
    });
    const r = await h.handle(request('DELETE', '/echo/items/9'));
    expect(r?.status).toBe(500);
    expect(String(r?.body)).not.toContain('hunter2');
  });
});

describe('createHttpHandler: bodies', () => {
  it('JSON parses; bad JSON is 400; a route that declares a type refuses others with 415', async () => {
    const { host } = await start();
    const h = createHttpHandler(host, { onWarning: () => {} });
    expect(json(await h.handle(request('POST', '/echo/json', bodyOf('{"a":1}'))))).toEqual({ got: { a: 1 } });
    const bad = await h.handle(request('POST', '/echo/json', bodyOf('{"a":')));
    expect(bad?.status).toBe(400);
    expect(bad?.headers['content-type']).toBe('application/problem+json');
    const text = await h.handle(request('POST', '/echo/json', bodyOf('a=1', 'text/plain')));
    expect(text?.status).toBe(415);
    expect(text?.headers.accept).toBe('application/json');
    // No body at all is not a wrong type.
    expect((await h.handle(request('POST', '/echo/json')))?.status).toBe(201);
    expect(json(await h.handle(request('POST', '/echo/any', bodyOf('plain words', 'text/plain'))))).toEqual({ type: 'string', body: 'plain words' });
    expect(json(await h.handle(request('POST', '/echo/any', bodyOf('\u0001\u0002', 'application/octet-stream'))))).toMatchObject({ type: 'bytes' });
  });

  it('caps bodies: a declared length over the cap is refused unread, a streamed one stops at the cap', async () => {
    const { host } = await start();
    const h = createHttpHandler(host, { maxBodyBytes: 16, onWarning: () => {} });
    let pulled = 0;
    async function* endless() {
      for (;;) {
        pulled++;
        yield new Uint8Array(8);
      }
    }
    const declared = await h.handle(request('POST', '/echo/any', { headers: { 'content-length': '1000000' }, body: { kind: 'stream', stream: endless() } }));
    expect(declared?.status).toBe(413);
    expect(pulled).toBe(0);
    const streamed = await h.handle(request('POST', '/echo/any', { body: { kind: 'stream', stream: endless() } }));
    expect(streamed?.status).toBe(413);
    expect(streamed?.headers.connection).toBe('close');
    expect(pulled).toBe(3);
    expect((await h.handle(request('POST', '/echo/any', bodyOf('x'.repeat(17), 'text/plain'))))?.status).toBe(413);
  });

  it('a body that does not arrive in time answers 408 (on the injected clock, no sleeping)', async () => {
    const { host, clock } = await start();
    const h = createHttpHandler(host, { bodyTimeoutMs: 5_000, clock, onWarning: () => {} });
    let cancelled = false;
    const stalled: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<Uint8Array>>(() => {}) }),
    };
    const pending = h.handle(
      request('POST', '/echo/any', {
        body: {
          kind: 'stream',
          stream: stalled,
          cancel: () => {
            cancelled = true;
          },
        },
      }),
    );
    await clock.advanceAsync(5_000);
    const r = await pending;
    expect(r?.status).toBe(408);
    expect(cancelled).toBe(true);
  });

  it('reads no body for a request no module serves, or one that is denied', async () => {
    const { host } = await start();
    const h = createHttpHandler(host, { onWarning: () => {} });
    let pulled = false;
    const stream = (async function* () {
      pulled = true;
      yield new Uint8Array(1);
    })();
    expect(await h.handle(request('POST', '/nobody/here', { body: { kind: 'stream', stream } }))).toBeUndefined();
    expect((await h.handle(request('DELETE', '/echo/items/1', { body: { kind: 'stream', stream } })))?.status).toBe(403);
    expect(pulled).toBe(false);
  });
});

describe('createHttpHandler: errors, responses and request ids', () => {
  it("a module's exception is a 500 problem document with the request id; the text goes to onError only", async () => {
    const { host } = await start();
    const logged: string[] = [];
    const h = createHttpHandler(host, { onError: (e, id) => void logged.push(`${id} ${String(e)}`), onWarning: () => {} });
    const r = await h.handle(request('GET', '/echo/boom', { headers: { 'x-request-id': 'trace-42' } }));
    expect(r?.status).toBe(500);
    expect(r?.headers).toMatchObject({ 'content-type': 'application/problem+json', 'x-request-id': 'trace-42' });
    expect(String(r?.body)).not.toContain('hunter2');
    expect(json(r)).toMatchObject({ type: 'about:blank', title: 'Internal Server Error', status: 500, requestId: 'trace-42' });
    expect(logged).toEqual(['trace-42 Error: cannot connect: db password=hunter2']);
    const dev = createHttpHandler(host, { exposeErrors: true, onError: () => {}, onWarning: () => {} });
    expect(json(await dev.handle(request('GET', '/echo/boom')))).toMatchObject({ detail: expect.stringContaining('hunter2') });
  });

  it('request ids: a well-formed x-request-id, else a W3C traceparent trace id, else a new one', async () => {
    const { host } = await start();
    const h = createHttpHandler(host, { onWarning: () => {} });
    const idOf = async (headers: Record<string, string>) => (await h.handle(request('GET', '/echo/who/1', { headers })))?.headers['x-request-id'];
    expect(await idOf({ 'x-request-id': 'abc-1' })).toBe('abc-1');
    expect(await idOf({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' })).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(await idOf({ 'x-request-id': 'bad id\r\nx: y' })).toMatch(/^req-/);
    expect(await idOf({ traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' })).toMatch(/^req-/);
    const a = await idOf({});
    const b = await idOf({});
    expect(a).not.toBe(b);
    expect(json(await h.handle(request('GET', '/echo/who/1', { headers: { 'x-request-id': 'abc-2' } })))).toMatchObject({ requestId: 'abc-2' });
  });

  it('a module cannot set framing headers or split a response', async () => {
    const { host } = await start();
    const h = createHttpHandler(host, { onError: () => {}, onWarning: () => {} });
    const forged = await h.handle(request('GET', '/echo/forge'));
    expect(forged?.headers).not.toHaveProperty('content-length');
    expect(forged?.headers).not.toHaveProperty('transfer-encoding');
    expect(forged?.headers['x-ok']).toBe('yes');
    const split = await h.handle(request('GET', '/echo/split'));
    expect(split?.status).toBe(500);
    expect(split?.headers).not.toHaveProperty('set-cookie');
  });

  it('a crashed or overloaded module answers 503 with retry-after', async () => {
    const crashing = defineModule({
      name: 'flaky',
      version: '1.0.0',
      permissions: ['routes:mount'],
      routes: [
        {
          method: 'GET',
          path: '/',
          handler: () => {
            throw Object.assign(new Error('worker died'), { code: 'MODULE_CRASHED' });
          },
        },
      ],
    });
    const { host } = await start([crashing]);
    const r = await createHttpHandler(host, { onError: () => {} }).handle(request('GET', '/flaky'));
    expect(r?.status).toBe(503);
    expect(r?.headers['retry-after']).toBe('1');
    expect(json(r)).toMatchObject({ code: 'MODULE_CRASHED' });
  });
});

describe('createHttpHandler: what a review found', () => {
  it('never rejects, whatever a module throws and whatever the app’s onError does', async () => {
    const evil = defineModule({
      name: 'evil',
      version: '1.0.0',
      permissions: ['routes:mount'],
      routes: [
        {
          method: 'GET',
          path: '/',
          handler: () => {
            throw {
              get code() {
                throw new Error('secret in a getter');
              },
            };
          },
        },
      ],
    });
    const { host } = await start([evil]);
    const quiet = await createHttpHandler(host, { onError: () => {} }).handle(request('GET', '/evil'));
    expect(quiet?.status).toBe(500);
    const loud = await createHttpHandler(host, {
      onError: () => {
        throw new Error('logger down');
      },
    }).handle(request('GET', '/evil'));
    expect(loud?.status).toBe(500);
    expect(String(loud?.body)).not.toContain('secret');
  });

  it('a request whose body arrives across a swap runs on the version serving then, with its permission', async () => {
    const tasks = (v: string, permission?: string) =>
      defineModule({
        name: 'tasks',
        version: v,
        permissions: ['routes:mount'],
        routes: [{ method: 'POST', path: '/up', ...(permission ? { permission } : {}), handler: () => ({ body: { v } }) }],
      });
    const { host } = await start([tasks('1.0.0')]);
    const h = createHttpHandler(host, { onError: () => {}, onWarning: () => {}, authorize: () => false });
    let end: (v: IteratorResult<Uint8Array>) => void = () => {};
    const stream: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: () =>
          new Promise<IteratorResult<Uint8Array>>((r) => {
            end = r;
          }),
      }),
    };
    const pending = h.handle(request('POST', '/tasks/up', { headers: { 'content-type': 'text/plain' }, body: { kind: 'stream', stream } }));
    await new Promise((r) => setImmediate(r));
    await host.install(tasks('2.0.0', 'tasks:up'));
    end({ done: true, value: undefined });
    expect((await pending)?.status).toBe(403);
  });

  it('a tenant disabled while its body arrives is not served', async () => {
    const { host } = await start();
    await host.enable('echo', { tenant: 'acme' });
    const h = createHttpHandler(host, { ...auth, onWarning: () => {} });
    let end: (v: IteratorResult<Uint8Array>) => void = () => {};
    const stream: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: () =>
          new Promise<IteratorResult<Uint8Array>>((r) => {
            end = r;
          }),
      }),
    };
    const pending = h.handle(request('POST', '/echo/any', { headers: { ...as('acme'), 'content-type': 'text/plain' }, body: { kind: 'stream', stream } }));
    await new Promise((r) => setImmediate(r));
    await host.disable('echo', { tenant: 'acme' });
    end({ done: true, value: undefined });
    expect(await pending).toBeUndefined();
  });

  it('authorize sees the route as declared (HEAD on a GET route is asked as GET)', async () => {
    const guarded = defineModule({
      name: 'guarded',
      version: '1.0.0',
      permissions: ['routes:mount'],
      routes: [{ method: 'GET', path: '/read', permission: 'x:read', handler: () => ({ body: {} }) }],
    });
    const { host } = await start([guarded]);
    const asked: unknown[] = [];
    const h = createHttpHandler(host, { authorize: ({ route }) => asked.push(route) > 0 });
    await h.handle(request('HEAD', '/guarded/read'));
    expect(asked).toEqual([{ method: 'GET', path: '/read' }]);
  });

  it('credentials never reach a module, whatever their case, and an app can name more of them', async () => {
    const { host } = await start();
    const h = createHttpHandler(host, { credentialHeaders: ['X-Api-Key'], onWarning: () => {} });
    const r = await h.handle(request('GET', '/echo/who/1', { headers: { Authorization: 'Bearer t', 'x-api-key': 'k', COOKIE: 'c=1' } }));
    expect(json(r)).toMatchObject({ sawCredentials: false });
    const seen = defineModule({
      name: 'seen',
      version: '1.0.0',
      permissions: ['routes:mount'],
      routes: [{ method: 'GET', path: '/', handler: (req) => ({ body: Object.keys(req.headers) }) }],
    });
    const other = await start([seen]);
    const keys = json(
      await createHttpHandler(other.host, { credentialHeaders: ['X-Api-Key'] }).handle(
        request('GET', '/seen', { headers: { 'X-API-KEY': 'k', accept: '*/*' } }),
      ),
    );
    expect(keys).toEqual(['accept']);
  });

  it('an ArrayBuffer body goes as bytes', async () => {
    const bytes = defineModule({
      name: 'bytes',
      version: '1.0.0',
      permissions: ['routes:mount'],
      routes: [{ method: 'GET', path: '/', handler: () => ({ body: new Uint8Array([1, 2, 3]).buffer }) }],
    });
    const { host } = await start([bytes]);
    const r = await createHttpHandler(host).handle(request('GET', '/bytes'));
    expect(r?.headers['content-type']).toBe('application/octet-stream');
    expect(Array.from((r?.body ?? new Uint8Array()) as Uint8Array)).toEqual([1, 2, 3]);
  });
});
