// notes@0.4.0: free-form notes. In-process: cheapest calls, but a reload keeps the old code in memory (see docs).
// storageScope 'tenant': on a tenant's request, ctx.storage holds that tenant's keys only, apart from every other's.
export default {
  storageScope: 'tenant',
  routes: [
    {
      method: 'GET',
      path: '/',
      handler: async (_req, ctx) => ({ body: { markdown: ctx.config.markdown, notes: (await ctx.storage.get('notes')) ?? [] } }),
    },
    {
      method: 'POST',
      path: '/',
      handler: async (req, ctx) => {
        const notes = (await ctx.storage.get('notes')) ?? [];
        notes.push(String(req.body?.text ?? ''));
        await ctx.storage.set('notes', notes);
        return { status: 201, body: { count: notes.length } };
      },
    },
  ],
  health: () => true,
};
