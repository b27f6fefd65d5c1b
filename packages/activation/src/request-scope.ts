// The request a module is serving, carried through its async work, so its log records name the request and tenant
// without the module passing them along.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '@modhost/core';

interface RequestScope {
  readonly requestId?: string | undefined;
  readonly tenant?: string | undefined;
}

const current = new AsyncLocalStorage<RequestScope>();
const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Runs `fn` as part of serving `scope`'s request. */
export function inRequest<T>(scope: RequestScope, fn: () => T): T {
  return current.run(scope, fn);
}

/** `logger` whose records made while serving a request also carry its `requestId` and `tenant`. */
export function requestAwareLogger(logger: Logger): Logger {
  const out = {} as Logger;
  for (const level of LEVELS) {
    out[level] = (message, fields) => {
      const scope = current.getStore();
      if (scope === undefined) return logger[level](message, fields);
      logger[level](message, {
        ...fields,
        ...(scope.requestId !== undefined ? { requestId: scope.requestId } : {}),
        ...(scope.tenant !== undefined ? { tenant: scope.tenant } : {}),
      });
    };
  }
  return out;
}
