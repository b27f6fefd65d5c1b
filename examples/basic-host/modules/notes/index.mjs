// notes@0.4.0: free-form notes. In-process: cheapest calls, but a reload keeps the old code in memory (see docs).
const tenantOf = (req) => req.headers['x-tenant'] ?? 'public';

export default {
  routes: [
    {
      method: 'GET',
      path: '/',
      handler: async (req, ctx) => {
        const { markdown } = await ctx.services.tenant.config(req.headers['x-tenant']);
        return { body: { markdown, notes: (await ctx.storage.get(`notes:${tenantOf(req)}`)) ?? [] } };
      },
    },
    {
      method: 'POST',
      path: '/',
      handler: async (req, ctx) => {
        const notes = (await ctx.storage.get(`notes:${tenantOf(req)}`)) ?? [];
        notes.push(String(req.body?.text ?? ''));
        await ctx.storage.set(`notes:${tenantOf(req)}`, notes);
        return { status: 201, body: { count: notes.length } };
      },
    },
  ],
  health: () => true,
};
