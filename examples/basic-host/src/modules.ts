import { defineModule } from '@modhost/core';
import { z } from 'zod';

/** A task list. Its config says how many tasks a tenant may keep. */
export const tasks = defineModule({
  name: 'tasks',
  version: '1.2.0',
  description: 'Task lists per tenant',
  permissions: ['storage:module', 'routes:mount'],
  config: { schema: z.object({ maxTasks: z.number().int().positive() }), defaults: { maxTasks: 100 } },
  routes: [{ method: 'GET', path: '/tasks', handler: () => ({ body: [] }) }],
  activate: (ctx) => {
    const items: string[] = [];
    return {
      add(title: string) {
        if (items.length >= ctx.config.maxTasks) throw new Error(`tenant limit of ${ctx.config.maxTasks} tasks reached`);
        items.push(title);
        return items.length;
      },
      count: () => items.length,
    };
  },
  health: () => true,
});

/** Notes, independent of everything else. */
export const notes = defineModule({
  name: 'notes',
  version: '0.4.1',
  description: 'Free-form notes',
  config: { schema: z.object({ markdown: z.boolean() }), defaults: { markdown: true } },
  activate: () => ({ render: (text: string) => text }),
  health: () => ({ status: 'ok' }),
});

/** Reports over tasks: depends on the tasks module's API. */
export const reports = defineModule({
  name: 'reports',
  version: '2.0.0',
  description: 'Weekly task reports',
  dependencies: { tasks: '^1.0.0' },
  jobs: [{ name: 'weekly-digest', schedule: '0 8 * * MON', timeout: 30_000, retries: 2, run: () => {} }],
  activate: (ctx) => {
    const t = ctx.deps.tasks as { count(): number };
    return { summary: () => `${t.count()} open tasks` };
  },
  health: () => true,
});

/** Billing with a secret API key: the key is masked on every read and event. */
export const billing = defineModule({
  name: 'billing',
  version: '1.0.0',
  description: 'Invoices through a payment provider',
  config: {
    schema: z.object({ currency: z.enum(['EUR', 'USD', 'GBP']), apiKey: z.string().startsWith('sk_') }),
    defaults: { currency: 'EUR' },
    sensitive: ['apiKey'],
  },
  activate: (ctx) => ({ currency: () => ctx.config.currency }),
  health: () => true,
});

/** A search index whose health check fails: it is kept as failed, with its error. */
export const search = defineModule({
  name: 'search',
  version: '0.9.0',
  description: 'Full-text search (its index is not reachable in this demo)',
  activate: () => ({ query: () => [] }),
  health: () => ({ status: 'fail', detail: 'index at search:9200 is not reachable' }),
});

/** Depends on search, so it is blocked when search fails; the rest go on. */
export const insights = defineModule({
  name: 'insights',
  version: '1.0.0',
  description: 'Suggestions built on search',
  dependencies: { search: '>=0.9.0' },
  activate: () => ({}),
});

export const allModules = [tasks, notes, reports, billing, search, insights];
