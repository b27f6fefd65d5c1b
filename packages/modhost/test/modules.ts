import { defineModule } from '@modhost/core';

/** A code module whose GET / and API answer with its version: what fleet tests watch converge. */
export const tasksVersion = (version: string) =>
  defineModule({
    name: 'tasks',
    version,
    permissions: ['routes:mount'],
    routes: [{ method: 'GET', path: '/', handler: () => ({ body: version }) }],
    activate: () => ({ version }),
    health: () => true,
  });
