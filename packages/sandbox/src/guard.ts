import { ModhostError } from '@modhost/core';
import type { UsageCounter } from './audit.js';
import type { GrantCell } from './grants.js';

// biome-ignore lint/suspicious/noExplicitAny: wrappers forward whatever the wrapped function takes
type AnyFn = (...args: any[]) => any;

/** Shared by everything one context hands out: flipped once when the module stops. */
export interface Life {
  revoked: boolean;
  readonly module: string;
}

/** The error for a capability used after its module stopped. */
export function stoppedError(life: Life, what: string): ModhostError {
  return new ModhostError(
    'PERMISSION_DENIED',
    `${life.module}: ${what} was used after the module stopped; a context is revoked on deactivate. Use the ctx of the running version (the one passed to its hooks)`,
    { details: { module: life.module, reason: 'revoked-on-stop' } },
  );
}

/**
 * Wraps `fn` so that each call first checks that the context is live and, when `cell` is given, that the grant
 * still holds, then counts the use. The wrapper has the same arity as `fn` (up to four parameters) so that a
 * call allocates nothing: no rest array, no closure.
 */
export function guard(fn: AnyFn, life: Life, what: string, cell: GrantCell | undefined, now: () => number, deny: () => Error): AnyFn {
  if (cell === undefined) {
    const live = () => {
      if (life.revoked) throw stoppedError(life, what);
    };
    switch (fn.length) {
      case 1:
        return (a) => {
          live();
          return fn(a);
        };
      case 2:
        return (a, b) => {
          live();
          return fn(a, b);
        };
      case 3:
        return (a, b, c) => {
          live();
          return fn(a, b, c);
        };
      default:
        return (...args) => {
          live();
          return fn(...args);
        };
    }
  }
  const usage = cell.usage;
  const check = () => {
    if (life.revoked) throw stoppedError(life, what);
    if (!cell.active) throw deny();
    countUse(usage, now);
  };
  switch (fn.length) {
    case 0:
      return (...args) => {
        check();
        return fn(...args);
      };
    case 1:
      return (a) => {
        check();
        return fn(a);
      };
    case 2:
      return (a, b) => {
        check();
        return fn(a, b);
      };
    case 3:
      return (a, b, c) => {
        check();
        return fn(a, b, c);
      };
    default:
      return (...args) => {
        check();
        return fn(...args);
      };
  }
}

/**
 * {@link guard} for a method that returns a promise: a failed check rejects instead of throwing, so callers'
 * `.catch` and `await` see it. (Such calls allocate a promise anyway, so the rest array costs nothing extra.)
 */
export function guardAsync(fn: AnyFn, life: Life, what: string, cell: GrantCell | undefined, now: () => number, deny: () => Error): AnyFn {
  const guarded = guard(fn, life, what, cell, now, deny);
  return (...args) => {
    try {
      return guarded(...args);
    } catch (e) {
      return Promise.reject(e);
    }
  };
}

/** Counts one allowed use in place (no allocation), stamping the first. */
export function countUse(usage: UsageCounter, now: () => number): void {
  if (usage.count === 0) usage.firstUse = now();
  usage.count += 1;
}

/** A frozen object with no prototype: `obj.constructor` and `obj.__proto__` lead nowhere. */
export function sealed<T extends object>(entries: Record<string, unknown>): T {
  // Descriptors, not values: a getter (the live `config`) stays a getter.
  return Object.freeze(Object.defineProperties(Object.create(null), Object.getOwnPropertyDescriptors(entries))) as T;
}

/** A deep copy of plain data, frozen all the way down (config handed to a module). */
export function frozenCopy<T>(value: T): T {
  const copy = structuredClone(value);
  const stack: unknown[] = [copy];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || Object.isFrozen(v)) continue;
    Object.freeze(v);
    for (const k of Object.keys(v)) stack.push((v as Record<string, unknown>)[k]);
  }
  return copy;
}
