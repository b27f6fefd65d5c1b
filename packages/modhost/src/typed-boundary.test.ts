// Types that carry from module to host: `ctx.tenantConfig()`, `ctx.dep<typeof m>()`, and a host typed by the
// modules it was given. The `@ts-expect-error` lines and `expectTypeOf` assertions are checked by `npm run typecheck`
// (tsc over every test file); the runtime tests check the same calls do what their types say, in process and in a
// worker guest.
import { defineModule, type ModuleConfig } from '@modhost/core';
import { silentLogger } from '@modhost/testkit';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { serveHost, testHost } from '../test/folders.js';
import { createHost, type Host } from './host.js';
import type { ModulesOf, TypedHost } from './host-modules.js';

const tasks = defineModule({
  name: 'tasks',
  version: '1.0.0',
  permissions: ['routes:mount'],
  config: { schema: z.object({ maxTasks: z.number().int().min(1), title: z.string() }), defaults: { maxTasks: 10, title: 'Tasks' } },
  activate: () => ({ count: (tenant?: string): number => (tenant === 'acme' ? 3 : 0) }),
});

const reports = defineModule({
  name: 'reports',
  version: '1.0.0',
  dependencies: { tasks: '^1.0.0' },
  permissions: ['routes:mount'],
  config: { schema: z.object({ heading: z.string() }), defaults: { heading: 'Weekly' } },
  routes: [
    {
      method: 'GET',
      path: '/summary',
      handler: async (req, ctx) => {
        // Typed from the dependency's definition, and from the module's own schema.
        const open = ctx.dep<typeof tasks>('tasks').count(req.tenant);
        const { heading } = await ctx.tenantConfig();
        const viaService = await ctx.services.tenant?.config(req.tenant);
        return { body: { heading, open, same: viaService?.heading === heading } };
      },
    },
  ],
  activate: async (ctx) => {
    expectTypeOf(ctx.dep<typeof tasks>('tasks')).toEqualTypeOf<{ count: (tenant?: string) => number }>();
    expectTypeOf(ctx.dep('tasks')).toBeUnknown();
    expectTypeOf(ctx.deps.tasks).toBeUnknown();
    expectTypeOf(await ctx.tenantConfig('acme')).toEqualTypeOf<Readonly<{ heading: string }>>();
    // @ts-expect-error: not a key of the reports schema
    (await ctx.tenantConfig()).maxTasks;
    return { headingFor: async (tenant: string) => (await ctx.tenantConfig(tenant)).heading };
  },
});

describe('a host typed by its modules', () => {
  it('knows code modules by name: configure checks values against the schema, api returns the API type', async () => {
    const host = createHost({
      version: '1.0.0',
      modules: [tasks, reports],
      policy: { grant: { '*': ['routes:mount'] } },
      healthMonitor: false,
      logger: silentLogger,
    });
    expectTypeOf(host).toEqualTypeOf<TypedHost<ModulesOf<readonly [typeof tasks, typeof reports]>>>();
    // Still a Host wherever one is expected.
    expectTypeOf(host).toExtend<Host>();
    await host.start();

    await host.configure('tasks', { maxTasks: 5 });
    await host.configure('tasks', { title: 'Acme tasks' }, { tenant: 'acme' });
    // @ts-expect-error: misspelt key. At runtime the zod schema strips it without a word: only the type catches it.
    await host.configure('tasks', { maxTask: 7 });
    expect((await host.registry.getConfig('tasks')).values).not.toHaveProperty('maxTask');
    // @ts-expect-error: wrong type
    await expect(host.configure('tasks', { maxTasks: 'typo' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    // @ts-expect-error: a key of another module's schema (stripped at runtime too)
    await host.configure('reports', { maxTasks: 5 });

    expectTypeOf(host.api('tasks')).toEqualTypeOf<{ count: (tenant?: string) => number } | undefined>();
    expect(host.api('tasks')?.count('acme')).toBe(3);
    expectTypeOf(host.api('reports')).toEqualTypeOf<{ headingFor: (tenant: string) => Promise<string> } | undefined>();
    expect(await host.api('reports')?.headingFor('acme')).toBe('Weekly');
    // Naming the type yourself still works, and an unknown name is `unknown` (a folder module, one installed later).
    expectTypeOf(host.api<{ count(): number }>('tasks')).toEqualTypeOf<{ count(): number } | undefined>();
    expectTypeOf(host.api('billing')).toEqualTypeOf<unknown>();

    // Names it does not know compile, untyped: the types cannot see folders or later installs. At runtime the
    // registry says the module is not there.
    await expect(host.configure('billing', { anything: true })).rejects.toMatchObject({ code: 'MODULE_NOT_FOUND' });
    const name: string = 'tasks';
    await host.configure(name, { maxTasks: 6 });
    // Values built at runtime: a Record of unknowns is taken as it was (the schema checks it), and naming the module
    // as a plain string takes any object.
    const fromFile: Record<string, unknown> = { maxTasks: 7 };
    await host.configure('tasks', fromFile);
    await host.configure<string>('tasks', fromFile);
    expect((await host.registry.getConfig('tasks')).values).toMatchObject({ maxTasks: 7 });
    await host.enable('tasks', { tenant: 'acme' });
    await host.stop();
  });

  it('a host given no definitions (or definitions without literal names) takes any name, as before', () => {
    const plain = createHost({ version: '1.0.0', healthMonitor: false });
    expectTypeOf(plain.configure<string>)
      .parameter(1)
      .toEqualTypeOf<Readonly<Record<string, unknown>>>();
    expectTypeOf(plain.api('tasks')).toEqualTypeOf<unknown>();
    const defs: Parameters<typeof createHost>[0]['modules'] = [tasks];
    const untyped = createHost({ version: '1.0.0', modules: defs, healthMonitor: false });
    expectTypeOf(untyped.api('tasks')).toEqualTypeOf<unknown>();
    expectTypeOf<ModuleConfig<typeof tasks>>().toEqualTypeOf<{ maxTasks: number; title: string }>();
  });
});

describe('ctx.tenantConfig() and ctx.dep()', () => {
  const cleanups: (() => unknown)[] = [];

  it('in process: a tenant request reads its tenant config and its dependency, typed', async () => {
    const { host } = testHost(cleanups, { modules: [tasks, reports] });
    try {
      await host.start();
      await host.configure('reports', { heading: 'Acme weekly' }, { tenant: 'acme' });
      const http = await serveHost(cleanups, host);
      expect((await http('/reports/summary', { tenant: 'acme' })).body).toEqual({ heading: 'Acme weekly', open: 3, same: true });
      expect((await http('/reports/summary')).body).toEqual({ heading: 'Weekly', open: 0, same: true });
      expect(await host.api<{ headingFor(t: string): Promise<string> }>('reports')?.headingFor('acme')).toBe('Acme weekly');
    } finally {
      for (const c of cleanups.splice(0).reverse()) await c();
    }
  });

  it('ctx.dep() of a name that is not a dependency throws DEPENDENCY_UNSATISFIED', async () => {
    let thrown: unknown;
    const lone = defineModule({
      name: 'lone',
      version: '1.0.0',
      activate: (ctx) => {
        try {
          ctx.dep<typeof tasks>('tasks');
        } catch (e) {
          thrown = e;
        }
      },
    });
    const host = createHost({ version: '1.0.0', modules: [lone], healthMonitor: false, logger: silentLogger });
    await host.start();
    expect(thrown).toMatchObject({ code: 'DEPENDENCY_UNSATISFIED', message: expect.stringContaining('ctx.dep("tasks")') });
    await host.stop();
  });

  it('in a worker guest: the same calls cross as the tenant service does', async () => {
    const { host, folder } = testHost(cleanups, { modules: [tasks], minimumIsolation: 'worker' });
    try {
      folder.write(
        'digest',
        {
          name: 'digest',
          version: '1.0.0',
          isolation: 'worker',
          dependencies: { tasks: '^1.0.0' },
          permissions: ['routes:mount'],
          config: { schema: { type: 'object', properties: { label: { type: 'string', default: 'Digest' } }, additionalProperties: false } },
          routes: [{ method: 'GET', path: '/' }],
        },
        `export default {
  routes: [{ method: 'GET', path: '/', handler: async (req, ctx) => {
    let missing;
    try { ctx.dep('nope'); } catch (e) { missing = e.code; }
    return { body: { mine: (await ctx.tenantConfig()).label, other: (await ctx.tenantConfig('globex')).label, open: await ctx.dep('tasks').count(req.tenant), missing } };
  } }],
};
`,
      );
      await host.start();
      await host.configure('digest', { label: 'Acme digest' }, { tenant: 'acme' });
      await host.configure('digest', { label: 'Globex digest' }, { tenant: 'globex' });
      const http = await serveHost(cleanups, host);
      expect((await http('/digest/', { tenant: 'acme' })).body).toEqual({
        mine: 'Acme digest',
        other: 'Globex digest',
        open: 3,
        missing: 'DEPENDENCY_UNSATISFIED',
      });
      expect((await http('/digest/')).body).toEqual({ mine: 'Digest', other: 'Globex digest', open: 0, missing: 'DEPENDENCY_UNSATISFIED' });
    } finally {
      for (const c of cleanups.splice(0).reverse()) await c();
    }
  });
});
