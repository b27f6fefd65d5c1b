// What a module's ctx says about its types: its own config through `tenantConfig` and the `tenant` service, its
// dependencies' APIs through `dep`, and the literal name `defineModule` keeps. Checked by tsc (`npm run typecheck`).
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineModule } from './define-module.js';
import type { ModuleApi, ModuleConfig, ModuleConfigLayer, ModuleContext, TenantService } from './module.js';

const tasks = defineModule({
  name: 'tasks',
  version: '1.0.0',
  config: { schema: z.object({ maxTasks: z.number(), labels: z.object({ done: z.string() }) }), defaults: { maxTasks: 10, labels: { done: 'Done' } } },
  activate: () => ({ add: (title: string): number => title.length }),
});

describe('typed module context', () => {
  it('defineModule keeps the name as a literal type, and the config and API types', () => {
    expectTypeOf(tasks.name).toEqualTypeOf<'tasks'>();
    expectTypeOf<ModuleConfig<typeof tasks>>().toEqualTypeOf<{ maxTasks: number; labels: { done: string } }>();
    expectTypeOf<ModuleConfigLayer<typeof tasks>>().toEqualTypeOf<{ maxTasks?: number; labels?: { done?: string } }>();
    expectTypeOf<ModuleApi<typeof tasks>>().toEqualTypeOf<{ add: (title: string) => number }>();
    // A name built at runtime stays a string.
    const name: string = 'built';
    expectTypeOf(defineModule({ name, version: '1.0.0' }).name).toEqualTypeOf<string>();
    expect(tasks.name).toBe('tasks');
  });

  it('ctx.tenantConfig and ctx.services.tenant are typed by the module schema; ctx.dep by the dependency definition', () => {
    defineModule({
      name: 'reports',
      version: '1.0.0',
      dependencies: { tasks: '^1.0.0' },
      config: { schema: z.object({ heading: z.string() }) },
      activate: async (ctx) => {
        expectTypeOf(ctx.tenantConfig).returns.resolves.toEqualTypeOf<Readonly<{ heading: string }>>();
        expectTypeOf(ctx.services.tenant).toEqualTypeOf<TenantService<{ heading: string }> | undefined>();
        expectTypeOf(ctx.dep<typeof tasks>('tasks').add).toEqualTypeOf<(title: string) => number>();
        // Without the definition, or through `deps`, it is `unknown` as before.
        expectTypeOf(ctx.dep('tasks')).toBeUnknown();
        expectTypeOf(ctx.deps.tasks).toBeUnknown();
        // Other services stay `unknown`: the host application's own.
        expectTypeOf(ctx.services.billing).toBeUnknown();
        // @ts-expect-error: not a key of this module's config
        (await ctx.tenantConfig('acme')).maxTasks;
        // @ts-expect-error: dep's type argument is a module definition, not an API
        ctx.dep<{ add(): void }>('tasks');
      },
    });
    expectTypeOf<ModuleContext['tenantConfig']>().parameters.toEqualTypeOf<[tenant?: string]>();
  });
});
