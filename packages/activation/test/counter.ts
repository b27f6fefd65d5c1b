import { type AnyModuleDefinition, defineModule, type ModuleDefinition, type StateMode } from '@modhost/core';

/** A counter that lives in the process: POST /inc adds one (after a short await), GET / reads it. */
export function counter(
  v: string,
  mode: StateMode,
  extra: Partial<ModuleDefinition> = {},
  onImport: (state: unknown, from: string) => void = () => {},
): AnyModuleDefinition {
  let count = 0;
  return defineModule({
    name: 'counter',
    version: v,
    stateMode: mode,
    routes: [
      {
        method: 'POST',
        path: '/inc',
        handler: async () => {
          count += 1;
          const mine = count;
          // Still in flight for a moment after the update: what a drain has to wait for.
          await Promise.resolve();
          return { body: mine };
        },
      },
      { method: 'GET', path: '/', handler: () => ({ body: { v, count } }) },
    ],
    exportState: () => ({ count }),
    importState: (state, from) => {
      onImport(state, from);
      count = (state as { count?: number } | undefined)?.count ?? count;
    },
    ...extra,
  } as ModuleDefinition);
}
