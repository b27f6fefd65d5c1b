import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRouteTable } from './route-table.js';
import { canaryBucket, createRouter } from './router.js';

const table = (module: string, version: string, routes: [string, string][]) =>
  createRouteTable(
    { module, version },
    routes.map(([method, path]) => ({ method, path, handler: `${module}@${version} ${method} ${path}` })),
  );

describe('route tables', () => {
  const t = table('tasks', '1.0.0', [
    ['GET', '/'],
    ['GET', '/:id'],
    ['GET', '/export'],
    ['POST', '/:taskId/comments'],
    ['DELETE', '/:id'],
  ]);

  it('matches static segments before params, and extracts params', () => {
    expect(t.match('GET', '/export')?.handler).toBe('tasks@1.0.0 GET /export');
    expect(t.match('GET', '/42')).toMatchObject({ handler: 'tasks@1.0.0 GET /:id', params: { id: '42' }, pattern: '/:id' });
    expect(t.match('POST', '/7/comments')?.params).toEqual({ taskId: '7' });
    expect(t.match('GET', '/')?.pattern).toBe('/');
  });

  it('takes one trailing slash, ignores the query, decodes params and serves HEAD with GET', () => {
    expect(t.match('GET', '/42/?x=1')?.params).toEqual({ id: '42' });
    expect(t.match('get', '/42')?.params).toEqual({ id: '42' });
    expect(t.match('GET', '/caf%C3%A9')?.params).toEqual({ id: 'café' });
    expect(t.match('GET', '/caf%c3%a9')?.params).toEqual({ id: 'café' });
    expect(t.match('GET', '/a%2Fb')?.params).toEqual({ id: 'a/b' });
    expect(t.match('HEAD', '/42')?.pattern).toBe('/:id');
    expect(t.match('HEAD', '/42')?.method).toBe('GET');
  });

  it("matches paths as sent, so another spelling cannot walk around an app's path guards", () => {
    const admin = table('@acme/admin', '1.0.0', [['GET', '/users']]);
    const r = createRouter<string>();
    r.mount('/@acme/admin', admin);
    expect(r.dispatch('GET', '/@acme/admin/users')?.pattern).toBe('/users');
    // Escapes of characters that need none, an escaped "/" in a prefix, and empty segments are not the same path.
    for (const other of ['/%40acme/admin/users', '/@acme%2Fadmin/users', '/@acme/admi%6E/users', '//@acme//admin/users', '/@acme/admin/user%73'])
      expect(r.dispatch('GET', other), other).toBeUndefined();
  });

  it('refuses malformed escapes and unknown paths, and lists allowed methods', () => {
    expect(t.match('GET', '/%E0%A4%A')).toBeUndefined();
    expect(t.match('GET', '/1/2/3')).toBeUndefined();
    expect(t.match('PUT', '/42')).toBeUndefined();
    expect(t.allowedMethods('/42')).toEqual(['DELETE', 'GET']);
  });

  it('gives params no prototype, so hostile names cannot pollute', () => {
    const hostile = table('x', '1.0.0', [['GET', '/:__proto__']]);
    const params = hostile.match('GET', '/polluted')?.params as Record<string, string>;
    expect(Object.getPrototypeOf(params)).toBeNull();
    expect(Object.getOwnPropertyDescriptor(params, '__proto__')?.value).toBe('polluted');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses duplicate routes', () => {
    expect(() =>
      table('x', '1.0.0', [
        ['GET', '/a'],
        ['GET', '/a'],
      ]),
    ).toThrow(/duplicate route GET \/a/);
  });
});

describe('router', () => {
  it('dispatches by the longest mounted prefix', () => {
    const router = createRouter<string>();
    router.mount('/tasks', table('tasks', '1.0.0', [['GET', '/:id']]));
    router.mount('/tasks/reports', table('reports', '2.0.0', [['GET', '/weekly']]));
    router.mount('/', table('home', '1.0.0', [['GET', '/']]));
    expect(router.dispatch('GET', '/tasks/9')?.owner).toEqual({ module: 'tasks', version: '1.0.0' });
    expect(router.dispatch('GET', '/tasks/reports/weekly')?.owner.module).toBe('reports');
    expect(router.dispatch('GET', '/')?.owner.module).toBe('home');
    expect(router.dispatch('GET', '/nothing/here')).toBeUndefined();
    expect(router.prefixes).toEqual(['/', '/tasks', '/tasks/reports']);
    expect(() => router.mount('/tasks/', table('other', '1.0.0', []))).toThrow(/already mounted by tasks/);
  });

  it('keeps an escaped slash inside one segment', () => {
    const router = createRouter<string>();
    router.mount(
      '/files',
      table('files', '1.0.0', [
        ['GET', '/:name'],
        ['GET', '/a/b'],
      ]),
    );
    expect(router.dispatch('GET', '/files/a%2Fb')?.params).toEqual({ name: 'a/b' });
    expect(router.dispatch('GET', '/files/a/b')?.pattern).toBe('/a/b');
  });

  it('switches a slot in one assignment: a request never misses a route both versions serve (property)', () => {
    const paths = ['/', '/a', '/b/:id'] as const;
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant('switch' as const), fc.constantFrom(...paths.map((_, i) => i))), { maxLength: 60 }), (steps) => {
        const router = createRouter<string>();
        const versions = Array.from({ length: 30 }, (_, v) =>
          table(
            'm',
            `1.0.${v}`,
            paths.map((p) => ['GET', p] as [string, string]),
          ),
        );
        const slot = router.mount('/m', versions[0] as (typeof versions)[number]);
        let v = 0;
        for (const step of steps) {
          if (step === 'switch') {
            const previous = slot.switchTo(versions[++v % 30] as (typeof versions)[number]);
            expect(previous.owner.version).toBe(`1.0.${(v - 1) % 30}`);
            continue;
          }
          const d = router.dispatch('GET', `/m${(paths[step] as string).replace(':id', '7')}`);
          expect(d?.owner.version).toBe(`1.0.${v % 30}`);
        }
      }),
    );
  });

  it('lets requests in flight finish on the old table, which then reports idle', async () => {
    const router = createRouter<() => Promise<string>>();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const old = createRouteTable({ module: 'm', version: '1.0.0' }, [
      {
        method: 'GET',
        path: '/',
        handler: async () => {
          await gate;
          return 'old';
        },
      },
    ]);
    const next = createRouteTable({ module: 'm', version: '2.0.0' }, [{ method: 'GET', path: '/', handler: async () => 'new' }]);
    const slot = router.mount('/m', old);
    const running = router.handle('GET', '/m', (d) => d.handler());
    expect(old.inFlight).toBe(1);
    slot.switchTo(next);
    expect(await router.handle('GET', '/m', (d) => d.handler())).toBe('new');
    let drained = false;
    const idle = old.idle().then(() => {
      drained = true;
    });
    await Promise.resolve();
    expect(drained).toBe(false);
    release();
    expect(await running).toBe('old');
    await idle;
    expect(drained).toBe(true);
    expect(old.inFlight).toBe(0);
  });

  it('counts a request as finished even when its handler throws', async () => {
    const router = createRouter<() => never>();
    const t = createRouteTable({ module: 'm', version: '1.0.0' }, [
      {
        method: 'GET',
        path: '/',
        handler: () => {
          throw new Error('boom');
        },
      },
    ]);
    router.mount('/m', t);
    await expect(router.handle('GET', '/m', (d) => d.handler())).rejects.toThrow('boom');
    expect(t.inFlight).toBe(0);
  });

  it('sends a stable share of request keys to a canary, and back on abort', () => {
    const router = createRouter<string>();
    const stable = table('m', '1.0.0', [['GET', '/']]);
    const canary = table('m', '2.0.0', [['GET', '/']]);
    const slot = router.mount('/m', stable);
    slot.setCanary(canary, 10);
    const keys = Array.from({ length: 5000 }, (_, i) => `user-${i}`);
    const onCanary = keys.filter((k) => router.dispatch('GET', '/m', k)?.owner.version === '2.0.0');
    expect(onCanary.length / keys.length).toBeGreaterThan(0.08);
    expect(onCanary.length / keys.length).toBeLessThan(0.12);
    // Stable: the same key always lands on the same side.
    for (const k of keys.slice(0, 200)) expect(router.dispatch('GET', '/m', k)?.owner.version).toBe(canaryBucket(k) < 1000 ? '2.0.0' : '1.0.0');
    expect(router.dispatch('GET', '/m')?.owner.version).toBe('1.0.0');
    expect(slot.abortCanary()?.owner.version).toBe('2.0.0');
    expect(keys.every((k) => router.dispatch('GET', '/m', k)?.owner.version === '1.0.0')).toBe(true);
    slot.setCanary(canary, 100);
    expect(slot.promoteCanary().owner.version).toBe('1.0.0');
    expect(slot.current.owner.version).toBe('2.0.0');
    expect(() => slot.promoteCanary()).toThrow(/no canary/);
  });
});
