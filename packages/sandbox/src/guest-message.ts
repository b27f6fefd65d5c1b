import { isTraceparent } from '@modhost/core';
import type { GuestMessage } from './guest-channel.js';

/** The longest log line a guest may send (the guest runtime cuts longer ones). */
export const MAX_LOG_MESSAGE_LENGTH = 16_384;
/** The longest ctx path a guest may name (`services.tasks.list` is 19). */
const MAX_PATH_LENGTH = 256;

const LEVELS: ReadonlySet<unknown> = new Set(['debug', 'info', 'warn', 'error']);
const { getPrototypeOf, prototype: objectPrototype } = Object;
const hasOwn = Object.hasOwn;

// Whatever a guest sends is data from an untrusted party: only plain objects and arrays straight from a
// structured clone pass (no class instances, no objects whose prototype was swapped).
const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== 'object') return false;
  const proto = getPrototypeOf(v);
  return proto === objectPrototype || proto === null;
};
const isPlainArray = (v: unknown): v is unknown[] => Array.isArray(v) && getPrototypeOf(v) === Array.prototype;
const isId = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** A short, never-throwing description of a value for a crash detail. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'undefined') return String(v);
  return `a ${typeof v}`;
}

// The keys each message may carry; a key outside these (`__proto__` included) is refused.
const KEYS: Readonly<Record<GuestMessage['t'], ReadonlySet<string>>> = {
  up: new Set(['t']),
  result: new Set(['t', 'id', 'ok', 'value', 'error']),
  ctx: new Set(['t', 'id', 'path', 'args', 'scope', 'trace']),
  log: new Set(['t', 'level', 'message', 'fields']),
};
const ERROR_KEYS: ReadonlySet<string> = new Set(['name', 'message', 'code', 'stack', 'details', 'permission', 'resource']);

function unexpectedKey(o: Record<string, unknown>, allowed: ReadonlySet<string>): string | undefined {
  for (const k of Object.keys(o)) if (!allowed.has(k)) return k;
  return undefined;
}

function errorProblem(e: unknown): string | undefined {
  if (!isPlainObject(e)) return `"error" must be a plain object, got ${describe(e)}`;
  const extra = unexpectedKey(e, ERROR_KEYS);
  if (extra !== undefined) return `unexpected key ${JSON.stringify(extra)} in "error"`;
  if (typeof e.name !== 'string') return `"error.name" must be a string, got ${describe(e.name)}`;
  if (typeof e.message !== 'string') return `"error.message" must be a string, got ${describe(e.message)}`;
  for (const k of ['code', 'stack', 'permission', 'resource'] as const) {
    if (e[k] !== undefined && typeof e[k] !== 'string') return `"error.${k}" must be a string or absent, got ${describe(e[k])}`;
  }
  if (e.details !== undefined && !isPlainObject(e.details)) return `"error.details" must be a plain object or absent, got ${describe(e.details)}`;
  return undefined;
}

/**
 * Checks one message from a guest against the protocol. Returns what is wrong with it, or `undefined` when it is
 * a well-formed {@link GuestMessage}. Never throws, whatever it is given.
 */
export function validateGuestMessage(m: unknown): string | undefined {
  if (!isPlainObject(m) || !hasOwn(m, 't')) return `expected an object with "t", got ${describe(m)}`;
  const t = m.t;
  if (t !== 'up' && t !== 'result' && t !== 'ctx' && t !== 'log') return `unknown "t": ${describe(t)}`;
  const extra = unexpectedKey(m, KEYS[t]);
  if (extra !== undefined) return `unexpected key ${JSON.stringify(extra)} in a "${t}" message`;
  switch (t) {
    case 'up':
      return undefined;
    case 'result':
      if (!isId(m.id)) return `"id" must be a positive integer, got ${describe(m.id)}`;
      if (typeof m.ok !== 'boolean') return `"ok" must be a boolean, got ${describe(m.ok)}`;
      return m.error === undefined ? undefined : errorProblem(m.error);
    case 'ctx':
      if (!isId(m.id)) return `"id" must be a positive integer, got ${describe(m.id)}`;
      if (typeof m.path !== 'string' || m.path.length > MAX_PATH_LENGTH)
        return `"path" must be a string of at most ${MAX_PATH_LENGTH} characters, got ${describe(m.path)}`;
      if (m.scope !== undefined && !isId(m.scope)) return `"scope" must be a positive integer or absent, got ${describe(m.scope)}`;
      if (m.trace !== undefined && !isTraceparent(m.trace)) return `"trace" must be a W3C traceparent or absent, got ${describe(m.trace)}`;
      return isPlainArray(m.args) ? undefined : `"args" must be an array, got ${describe(m.args)}`;
    case 'log':
      if (!LEVELS.has(m.level)) return `"level" must be one of debug, info, warn, error, got ${describe(m.level)}`;
      if (typeof m.message !== 'string') return `"message" must be a string, got ${describe(m.message)}`;
      if (m.message.length > MAX_LOG_MESSAGE_LENGTH) return `"message" is ${m.message.length} characters long, more than ${MAX_LOG_MESSAGE_LENGTH}`;
      return m.fields === undefined || isPlainObject(m.fields) ? undefined : `"fields" must be a plain object or absent, got ${describe(m.fields)}`;
  }
}

/** True when `m` is a well-formed {@link GuestMessage} (see {@link validateGuestMessage}). */
export const isGuestMessage = (m: unknown): m is GuestMessage => validateGuestMessage(m) === undefined;
