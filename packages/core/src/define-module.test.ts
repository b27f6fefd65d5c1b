import * as v from 'valibot';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineModule, fingerprintDefinition, toManifest } from './define-module.js';
import { isModhostError, ModhostError } from './errors.js';
import type { ModuleContext } from './module.js';
import { validateDefinition } from './validate-definition.js';

const issuesOf = (input: unknown) => {
  const r = validateDefinition(input);
  return r.ok ? [] : r.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('defineModule', () => {
  it('returns a frozen definition that keeps its hooks', async () => {
    const m = defineModule({ name: '@acme/tasks', version: '1.2.3', activate: () => ({ count: 1 }) });
    expect(Object.isFrozen(m)).toBe(true);
    expect(await m.activate?.({} as ModuleContext<Record<string, never>>)).toEqual({ count: 1 });
  });

  it('infers the config type from a zod 4 schema', () => {
    defineModule({
      name: 'greeter',
      version: '1.0.0',
      config: {
        schema: z.object({ greeting: z.string(), retries: z.number().default(3), db: z.object({ password: z.string() }) }),
        defaults: { greeting: 'Hello' },
        sensitive: ['db.password'],
      },
      activate(ctx) {
        expectTypeOf(ctx.config.greeting).toEqualTypeOf<string>();
        expectTypeOf(ctx.config.retries).toEqualTypeOf<number>();
        expectTypeOf(ctx.config.db.password).toEqualTypeOf<string>();
      },
    });
  });

  it('infers the config type from a valibot schema', () => {
    defineModule({
      name: 'mailer',
      version: '1.0.0',
      config: { schema: v.object({ from: v.string(), port: v.number() }), sensitive: ['from'] },
      routes: [
        {
          method: 'GET',
          path: '/from',
          handler: (_req, ctx) => {
            expectTypeOf(ctx.config.port).toEqualTypeOf<number>();
            return { body: ctx.config.from };
          },
        },
      ],
    });
  });

  it('rejects, at compile time, a sensitive path the schema does not have and a wrong default', () => {
    const build = () =>
      defineModule({
        name: 'x',
        version: '1.0.0',
        config: {
          schema: z.object({ apiKey: z.string() }),
          // @ts-expect-error: "apikey" is not a path of the config
          sensitive: ['apikey'],
          // @ts-expect-error: apiKey is a string
          defaults: { apiKey: 42 },
        },
      });
    // At runtime the definition is structurally valid (paths are not checked against the schema).
    expect(build).not.toThrow();
  });

  it('types the public API an activate returns', () => {
    const m = defineModule({ name: 'tasks', version: '1.0.0', activate: () => ({ list: () => ['a'] }) });
    expectTypeOf(m.activate).returns.toEqualTypeOf<{ list: () => string[] } | Promise<{ list: () => string[] }>>();
  });

  it('throws MANIFEST_INVALID listing every problem with its path', () => {
    let error: unknown;
    try {
      defineModule({ name: 'Bad Name', version: '1.0', dependencies: { ok: '' } } as never);
    } catch (e) {
      error = e;
    }
    expect(isModhostError(error, 'MANIFEST_INVALID')).toBe(true);
    const e = error as ModhostError;
    const paths = (e.details.issues as { path: string[] }[]).map((i) => i.path.join('.'));
    expect(paths).toEqual(['name', 'version', 'dependencies.ok']);
    expect(e.message).toContain('3 problems');
    expect(e.message).toContain('dependencies.ok');
  });
});

describe('validateDefinition', () => {
  const base = { name: 'tasks', version: '1.0.0' };

  it('accepts a full definition', () => {
    const full = {
      ...base,
      displayName: 'Tasks',
      description: 'd',
      author: 'a',
      license: 'MIT',
      metadata: { homepage: 'https://example.com/tasks', repository: 'github:acme/tasks', tags: ['todo', 'multi-tenant'], category: 'Productivity' },
      engines: { host: '^2.0.0', node: '>=20' },
      dependencies: { '@acme/auth': '^1.0.0' },
      optionalDependencies: { search: '*' },
      permissions: ['tasks:read', 'net:fetch:api.example.com', 'fs:read:./data'],
      config: { schema: z.object({ a: z.string() }), defaults: { a: 'x' }, presets: { big: { a: 'y' } }, sensitive: ['a'] },
      routes: [{ method: 'GET', path: '/tasks/:id', handler: () => ({}) }],
      jobs: [{ name: 'sweep', schedule: { everyMs: 1000 }, timeout: 10, retries: 2, run: () => {} }],
      ui: { pages: [{ id: 'list', path: '/tasks', title: 'Tasks' }], navigation: [{ label: 'Tasks', path: '/tasks', order: 1 }] },
      migrations: [{ name: '001-init', up: () => {}, down: () => {} }],
      extensions: { 'dashboard.widgets': [{ id: 'w' }] },
      stateMode: 'snapshot',
      exportState: () => ({}),
      importState: () => {},
      activate: () => {},
      deactivate: () => {},
      health: () => true,
    };
    expect(issuesOf(full)).toEqual([]);
  });

  it.each([
    ['a name with upper case', { ...base, name: 'Tasks' }, 'name'],
    ['a scoped name without a package', { ...base, name: '@acme/' }, 'name'],
    ['a name that is too long', { ...base, name: 'a'.repeat(215) }, 'name'],
    ['a two-part version', { ...base, version: '1.0' }, 'version'],
    ['a version with a leading v', { ...base, version: 'v1.0.0' }, 'version'],
    ['a version with a leading zero', { ...base, version: '01.0.0' }, 'version'],
    ['an empty range', { ...base, dependencies: { auth: ' ' } }, 'dependencies.auth'],
    ['a non-string range', { ...base, optionalDependencies: { auth: 1 } }, 'optionalDependencies.auth'],
    ['a self dependency', { ...base, dependencies: { tasks: '*' } }, 'dependencies.tasks'],
    ['a malformed permission', { ...base, permissions: ['read everything'] }, 'permissions.0'],
    ['an unknown engine', { ...base, engines: { deno: '>=2' } }, 'engines.deno'],
    ['an empty node range', { ...base, engines: { node: '' } }, 'engines.node'],
    ['an empty display name', { ...base, displayName: ' ' }, 'displayName'],
    ['a display name that is too long', { ...base, displayName: 'x'.repeat(101) }, 'displayName'],
    ['metadata that is not an object', { ...base, metadata: 'tasks' }, 'metadata'],
    ['an unknown metadata field', { ...base, metadata: { stars: 5 } }, 'metadata.stars'],
    ['a homepage that is not http(s)', { ...base, metadata: { homepage: 'javascript:alert(1)' } }, 'metadata.homepage'],
    ['a repository that is neither a URL nor a shorthand', { ...base, metadata: { repository: 'my repo' } }, 'metadata.repository'],
    ['an upper-case tag', { ...base, metadata: { tags: ['Todo'] } }, 'metadata.tags.0'],
    ['a repeated tag', { ...base, metadata: { tags: ['todo', 'todo'] } }, 'metadata.tags.1'],
    ['more than 20 tags', { ...base, metadata: { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) } }, 'metadata.tags'],
    ['a category that is too long', { ...base, metadata: { category: 'c'.repeat(51) } }, 'metadata.category'],
    ['a config without a Standard Schema', { ...base, config: { schema: {} } }, 'config.schema'],
    ['a lower-case route method', { ...base, routes: [{ method: 'get', path: '/', handler: () => ({}) }] }, 'routes.0.method'],
    ['a route path without a slash', { ...base, routes: [{ method: 'GET', path: 'x', handler: () => ({}) }] }, 'routes.0.path'],
    ['a job without a schedule', { ...base, jobs: [{ name: 'j', run: () => {} }] }, 'jobs.0.schedule'],
    ['a migration without up', { ...base, migrations: [{ name: 'm' }] }, 'migrations.0.up'],
    ['a hook that is not a function', { ...base, activate: 'start' }, 'activate'],
    ['an unknown state mode', { ...base, stateMode: 'hot' }, 'stateMode'],
    ['snapshot mode without state hooks', { ...base, stateMode: 'quiesce' }, 'stateMode'],
    ['an unknown top-level field', { ...base, main: './index.js' }, 'main'],
  ])('reports %s', (_what, input, path) => {
    expect(issuesOf(input).map((i) => i.split(':')[0])).toContain(path);
  });

  it('reports duplicate routes, treating parameter names as equal', () => {
    const h = () => ({});
    const issues = issuesOf({
      ...base,
      routes: [
        { method: 'GET', path: '/tasks/:id', handler: h },
        { method: 'GET', path: '/tasks/:taskId', handler: h },
        { method: 'POST', path: '/tasks/:id', handler: h },
        { method: 'GET', path: '/tasks/:id/', handler: h },
      ],
    });
    expect(issues).toEqual([
      'routes.1: duplicate route GET /tasks/:taskId (same as routes[0])',
      'routes.3: duplicate route GET /tasks/:id/ (same as routes[0])',
    ]);
  });

  it('reports duplicate job, migration and page names', () => {
    const issues = issuesOf({
      ...base,
      jobs: [
        { name: 'a', schedule: '* * * * *', run: () => {} },
        { name: 'a', schedule: '* * * * *', run: () => {} },
      ],
      migrations: [
        { name: 'm', up: () => {} },
        { name: 'm', up: () => {} },
      ],
      ui: {
        pages: [
          { id: 'p', path: '/p', title: 'P' },
          { id: 'p', path: '/q', title: 'Q' },
        ],
      },
    });
    expect(issues.map((i) => i.split(':')[0])).toEqual(['jobs.1.name', 'migrations.1.name', 'ui.pages.1.id']);
  });

  it('rejects prototype-polluting keys anywhere, as JSON.parse would produce them', () => {
    const hostile = JSON.parse(
      '{"name":"evil","version":"1.0.0","__proto__":{"admin":true},"dependencies":{"constructor":"*"},"extensions":{"x":[{"prototype":{}}]},"config":{"schema":null,"defaults":{"a":{"__proto__":{"polluted":1}}}}}',
    );
    const issues = issuesOf(hostile);
    for (const path of ['__proto__', 'dependencies.constructor', 'extensions.x.0.prototype', 'config.defaults.a.__proto__']) {
      expect(issues.some((i) => i.startsWith(`${path}:`))).toBe(true);
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('rejects hostile depth quickly and without recursion', () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 100_000; i++) {
      const next = {};
      deep.x = [next];
      deep = next;
    }
    const issues = issuesOf({ ...base, extensions: { deep: [root] } });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^extensions\.deep\.0(\.x\.0)*(\.x)?: nested deeper than 64 levels/);
  });

  it('rejects non-objects', () => {
    expect(issuesOf(null)).toEqual([': a module definition must be a plain object']);
    expect(issuesOf([base])).toHaveLength(1);
  });
});

describe('toManifest and fingerprintDefinition', () => {
  const make = (body: string) =>
    defineModule({
      name: 'tasks',
      version: '1.0.0',
      config: { schema: z.object({ token: z.string() }), sensitive: ['token'], defaults: { token: 'x' } },
      routes: [{ method: 'GET', path: '/', handler: () => ({ body }) }],
      migrations: [{ name: 'init', up: () => {} }],
    });

  it('keeps only data in the manifest', () => {
    const manifest = toManifest(make('a'));
    expect(JSON.parse(JSON.stringify(manifest))).toEqual(manifest);
    expect(manifest).toMatchObject({
      routes: [{ method: 'GET', path: '/' }],
      migrations: [{ name: 'init', reversible: false }],
      config: { vendor: 'zod', sensitive: ['token'] },
      stateMode: 'stateless',
      hooks: [],
    });
  });

  it('carries the catalogue fields and engines.node, and leaves them out when absent (older fingerprints stay)', () => {
    const def = defineModule({
      name: 'tasks',
      version: '1.0.0',
      displayName: 'Tasks',
      metadata: { homepage: 'https://example.com', tags: ['todo'] },
      engines: { node: '>=20' },
    });
    expect(toManifest(def)).toMatchObject({ displayName: 'Tasks', metadata: { homepage: 'https://example.com', tags: ['todo'] }, engines: { node: '>=20' } });
    expect(Object.keys(toManifest(make('a')))).not.toContain('metadata');
    expect(Object.keys(toManifest(make('a')))).not.toContain('displayName');
  });

  it('is equal for equal content and differs when code differs', () => {
    expect(fingerprintDefinition(make('a'))).toBe(fingerprintDefinition(make('a')));
    const other = defineModule({
      name: 'tasks',
      version: '1.0.0',
      config: { schema: z.object({ token: z.string() }), sensitive: ['token'], defaults: { token: 'x' } },
      routes: [{ method: 'GET', path: '/', handler: () => ({ body: 'changed' }) }],
      migrations: [{ name: 'init', up: () => {} }],
    });
    expect(fingerprintDefinition(other)).not.toBe(fingerprintDefinition(make('a')));
  });

  it('ModhostError serialises without losing its code', () => {
    const e = new ModhostError('MODULE_NOT_FOUND', 'x', { cause: new TypeError('boom'), details: { module: 'm' } });
    expect(e.toJSON()).toEqual({ code: 'MODULE_NOT_FOUND', message: 'x', details: { module: 'm' }, cause: 'TypeError: boom' });
  });
});
