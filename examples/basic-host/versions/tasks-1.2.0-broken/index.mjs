// tasks@1.2.0: task lists per tenant. Runs in a worker thread; reaches storage and its tenant's config through ctx.
// The pipeline binds ctx to the request's tenant (resolved by the app from its bearer token): ctx.tenant, ctx.config.
const tenantOf = (ctx) => ctx.tenant ?? 'public';
const listKey = (tenant) => `list:${tenant}`;

export default {
  migrations: [
    {
      // A database-style migration: additive, recorded once per storage, undone only if this version never served.
      name: '001-create-lists',
      up: async (ctx) => {
        if ((await ctx.storage.get('schema')) === undefined) await ctx.storage.set('schema', 1);
      },
      down: (ctx) => ctx.storage.delete('schema'),
    },
    {
      name: '002-track-created',
      up: async (ctx) => ctx.storage.set('schema', 2),
      down: async (ctx) => ctx.storage.set('schema', 1),
    },
  ],
  routes: [
    {
      method: 'GET',
      path: '/',
      handler: async (_req, ctx) => ({ body: { version: '1.2.0', tasks: (await ctx.storage.get(listKey(tenantOf(ctx)))) ?? [] } }),
    },
    {
      method: 'POST',
      path: '/',
      // The app's authorize() decides who may write (see examples/basic-host/src/auth.ts).
      permission: 'tasks:write',
      accepts: 'application/json',
      handler: async (req, ctx) => {
        const tenant = tenantOf(ctx);
        const { maxTasks } = ctx.config;
        const tasks = (await ctx.storage.get(listKey(tenant))) ?? [];
        if (tasks.length >= maxTasks) return { status: 409, body: { error: `tenant "${tenant}" may keep ${maxTasks} tasks` } };
        tasks.push({ title: String(req.body?.title ?? 'untitled'), createdBy: '1.2.0' });
        await ctx.storage.set(listKey(tenant), tasks);
        return { status: 201, body: { count: tasks.length } };
      },
    },
  ],
  activate(ctx) {
    return { count: async (tenant) => ((await ctx.storage.get(listKey(tenant ?? 'public'))) ?? []).length };
  },
  async health() {
    return { status: 'fail', detail: 'the task index is unreachable' };
  },
};
