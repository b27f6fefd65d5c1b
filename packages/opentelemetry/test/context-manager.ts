// The smallest context manager over AsyncLocalStorage (what @opentelemetry/context-async-hooks does), so tests can
// make an app's span active without another dependency.
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Context, type ContextManager, ROOT_CONTEXT } from '@opentelemetry/api';

/** A context manager that carries the active context across awaits. */
export function asyncContextManager(): ContextManager {
  const storage = new AsyncLocalStorage<Context>();
  const manager: ContextManager = {
    active: () => storage.getStore() ?? ROOT_CONTEXT,
    with: (ctx, fn, thisArg, ...args) => storage.run(ctx, () => fn.call(thisArg, ...args)),
    bind: (ctx, target) => (typeof target === 'function' ? (((...args: unknown[]) => storage.run(ctx, () => target(...args))) as typeof target) : target),
    enable: () => manager,
    disable: () => {
      storage.disable();
      return manager;
    },
  };
  return manager;
}
