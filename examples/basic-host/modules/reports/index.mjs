// reports@2.0.0: reads the tasks module's public API through ctx.deps (it follows tasks across hot swaps).
export default {
  routes: [
    {
      method: 'GET',
      path: '/summary',
      handler: async (req, ctx) => {
        const tenant = req.headers['x-tenant'] ?? 'public';
        return { body: { tenant, openTasks: await ctx.deps.tasks.count(tenant) } };
      },
    },
  ],
  health: () => true,
};
