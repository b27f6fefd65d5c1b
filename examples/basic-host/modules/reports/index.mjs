// reports@2.0.0: reads the tasks module's public API through ctx.deps (it follows tasks across hot swaps). It runs in the
// sandboxed tier (modhost.json "isolation"): a Hardened JavaScript compartment whose only power is this ctx.
export default {
  routes: [
    {
      method: 'GET',
      path: '/summary',
      permission: 'reports:read',
      handler: async (_req, ctx) => {
        const tenant = ctx.tenant ?? 'public';
        return { body: { tenant, openTasks: await ctx.deps.tasks.count(tenant) } };
      },
    },
  ],
  health: () => true,
};
