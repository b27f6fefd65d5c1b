import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGuestMessage, MAX_LOG_MESSAGE_LENGTH, validateGuestMessage } from './guest-message.js';

// An independent statement of the protocol, to hold the validator to.
const plain = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(v));
const only = (o: Record<string, unknown>, keys: string[]) => Object.keys(o).every((k) => keys.includes(k));
const optString = (v: unknown) => v === undefined || typeof v === 'string';
const id = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= Number.MAX_SAFE_INTEGER;
const serializedError = (e: unknown) =>
  plain(e) &&
  only(e, ['name', 'message', 'code', 'stack', 'details', 'permission', 'resource']) &&
  typeof e.name === 'string' &&
  typeof e.message === 'string' &&
  optString(e.code) &&
  optString(e.stack) &&
  optString(e.permission) &&
  optString(e.resource) &&
  (e.details === undefined || plain(e.details));
function wellFormed(m: unknown): boolean {
  if (!plain(m) || !Object.hasOwn(m, 't')) return false;
  switch (m.t) {
    case 'up':
      return only(m, ['t']);
    case 'result':
      return only(m, ['t', 'id', 'ok', 'value', 'error']) && id(m.id) && typeof m.ok === 'boolean' && (m.error === undefined || serializedError(m.error));
    case 'ctx':
      return only(m, ['t', 'id', 'path', 'args']) && id(m.id) && typeof m.path === 'string' && m.path.length <= 256 && Array.isArray(m.args);
    case 'log':
      return (
        only(m, ['t', 'level', 'message', 'fields']) &&
        ['debug', 'info', 'warn', 'error'].includes(m.level as string) &&
        typeof m.message === 'string' &&
        m.message.length <= MAX_LOG_MESSAGE_LENGTH &&
        (m.fields === undefined || plain(m.fields))
      );
    default:
      return false;
  }
}

const anything = fc.anything({
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withObjectString: true,
  withNullPrototype: true,
  withBigInt: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
});
const field = fc.oneof(anything, fc.integer(), fc.boolean(), fc.string(), fc.constantFrom('debug', 'info', 'warn', 'error', 'evil'), fc.constant(undefined));
// Objects close to real messages, so that the boundaries are hit and not just "not an object": the keys of
// one kind of message, each value valid more often than not, sometimes a stray key or an own "__proto__" key (which
// structured clone can deliver).
const mostly = <T>(valid: fc.Arbitrary<T>, ...others: fc.Arbitrary<unknown>[]) =>
  fc.oneof({ arbitrary: valid as fc.Arbitrary<unknown>, weight: 6 }, ...others.map((arbitrary) => ({ arbitrary, weight: 1 })));
const parts = {
  id: mostly(fc.integer({ min: 1 }), fc.constantFrom(0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN), field),
  ok: mostly(fc.boolean(), field),
  value: field,
  error: mostly(
    fc.record(
      {
        name: mostly(fc.string(), field),
        message: mostly(fc.string(), field),
        code: mostly(fc.option(fc.string(), { nil: undefined }), field),
        details: mostly(fc.option(fc.object(), { nil: undefined }), field),
        permission: fc.option(fc.string(), { nil: undefined }),
      },
      { requiredKeys: ['name', 'message'] },
    ),
    field,
    fc.constant(undefined),
  ),
  path: mostly(fc.string(), fc.constant('x'.repeat(257)), field),
  args: mostly(fc.array(field), field),
  level: mostly(fc.constantFrom('debug', 'info', 'warn', 'error'), fc.constantFrom('evil', 'toString'), field),
  message: mostly(fc.string(), fc.constant('x'.repeat(MAX_LOG_MESSAGE_LENGTH + 1)), field),
  fields: mostly(fc.option(fc.object(), { nil: undefined }), field),
};
const sometimes = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, { arbitrary, weight: 1 });
const keysOf: Record<string, (keyof typeof parts)[]> = {
  up: [],
  result: ['id', 'ok', 'value', 'error'],
  ctx: ['id', 'path', 'args'],
  log: ['level', 'message', 'fields'],
  call: ['id', 'args'],
};
const nearMessage = fc
  .constantFrom('up', 'result', 'ctx', 'log', 'call')
  .chain((t) => {
    const keys = keysOf[t] ?? [];
    return fc.tuple(
      fc.constant(t),
      fc.record(Object.fromEntries(keys.map((k) => [k, parts[k]]))),
      sometimes(fc.constantFrom(...keys, 't')),
      sometimes(fc.tuple(fc.constantFrom('__proto__', 'extra', 'constructor'), field)),
    );
  })
  .map(([t, rest, missing, stray]) => {
    const m: Record<string, unknown> = { t, ...rest };
    if (missing !== null) delete m[missing];
    if (stray) Object.defineProperty(m, stray[0], { value: stray[1], enumerable: true, configurable: true, writable: true });
    return m;
  });

describe('validateGuestMessage', () => {
  it('never throws on anything and accepts exactly the well-formed messages', () => {
    fc.assert(
      fc.property(fc.oneof(anything, nearMessage), (m) => {
        const problem = validateGuestMessage(m);
        expect(problem === undefined || typeof problem === 'string').toBe(true);
        expect(problem === undefined).toBe(wellFormed(m));
      }),
      { numRuns: 2_000 },
    );
  });

  it('accepts every message the guest runtime sends', () => {
    const error = fc.record(
      {
        name: fc.string(),
        message: fc.string(),
        code: fc.option(fc.string(), { nil: undefined }),
        stack: fc.option(fc.string(), { nil: undefined }),
        details: fc.option(fc.dictionary(fc.string(), fc.jsonValue()), { nil: undefined }),
        permission: fc.option(fc.string(), { nil: undefined }),
        resource: fc.option(fc.string(), { nil: undefined }),
      },
      { requiredKeys: ['name', 'message'] },
    );
    const messages = fc.oneof(
      fc.constant({ t: 'up' }),
      fc.record({ t: fc.constant('result'), id: fc.nat().map((n) => n + 1), ok: fc.constant(true), value: anything }),
      fc.record({ t: fc.constant('result'), id: fc.nat().map((n) => n + 1), ok: fc.constant(false), error }),
      fc.record({ t: fc.constant('ctx'), id: fc.integer({ min: 1 }), path: fc.string({ maxLength: 256 }), args: fc.array(anything) }),
      fc.record(
        {
          t: fc.constant('log'),
          level: fc.constantFrom('debug', 'info', 'warn', 'error'),
          message: fc.string({ maxLength: 200 }),
          fields: fc.option(fc.dictionary(fc.string(), anything), { nil: undefined }),
        },
        { requiredKeys: ['t', 'level', 'message'] },
      ),
    );
    fc.assert(
      fc.property(messages, (m) => {
        expect(validateGuestMessage(structuredClone(m))).toBeUndefined();
        expect(isGuestMessage(m)).toBe(true);
      }),
      { numRuns: 1_000 },
    );
  });

  it('names what is wrong', () => {
    expect(validateGuestMessage(null)).toBe('expected an object with "t", got null');
    expect(validateGuestMessage(undefined)).toBe('expected an object with "t", got undefined');
    expect(validateGuestMessage([{ t: 'up' }])).toBe('expected an object with "t", got an array');
    expect(validateGuestMessage({ t: 'evil' })).toBe('unknown "t": "evil"');
    expect(validateGuestMessage({ t: 'log', level: 'evil', message: 'x' })).toBe('"level" must be one of debug, info, warn, error, got "evil"');
    expect(validateGuestMessage({ t: 'log', level: 'info', message: 'x'.repeat(MAX_LOG_MESSAGE_LENGTH + 1) })).toMatch(/more than 16384/);
    expect(validateGuestMessage({ t: 'log', level: 'info', message: 'x', fields: new Map() })).toBe('"fields" must be a plain object or absent, got an object');
    expect(validateGuestMessage({ t: 'result', id: 0, ok: true })).toBe('"id" must be a positive integer, got 0');
    expect(validateGuestMessage({ t: 'result', id: 1.5, ok: true })).toBe('"id" must be a positive integer, got 1.5');
    expect(validateGuestMessage({ t: 'result', id: 1, ok: 'yes' })).toBe('"ok" must be a boolean, got "yes"');
    expect(validateGuestMessage({ t: 'result', id: 1, ok: false, error: { name: 'E', message: 1 } })).toBe('"error.message" must be a string, got 1');
    expect(validateGuestMessage({ t: 'ctx', id: 1, path: 'storage.get', args: 'k' })).toBe('"args" must be an array, got "k"');
    expect(validateGuestMessage({ t: 'up', sneaky: true })).toBe('unexpected key "sneaky" in a "up" message');
  });

  it('refuses prototype tricks: class instances, swapped prototypes, an own __proto__ key', () => {
    class Up {
      t = 'up';
    }
    expect(validateGuestMessage(new Up())).toMatch(/^expected an object/);
    expect(validateGuestMessage(Object.create({ t: 'up' }))).toMatch(/^expected an object with "t"/);
    const swapped = { t: 'up' };
    Object.setPrototypeOf(swapped, Array.prototype);
    expect(validateGuestMessage(swapped)).toMatch(/^expected an object/);
    // structured clone keeps an own "__proto__" key from JSON.parse; it is refused, not followed.
    expect(validateGuestMessage(structuredClone(JSON.parse('{"t":"up","__proto__":{"polluted":true}}')))).toBe('unexpected key "__proto__" in a "up" message');
    expect(validateGuestMessage({ t: 'ctx', id: 1, path: 'x', args: Object.setPrototypeOf([], null) })).toMatch(/"args" must be an array/);
    expect(validateGuestMessage({ t: 'up' })).toBeUndefined();
    expect(validateGuestMessage(Object.assign(Object.create(null), { t: 'up' }))).toBeUndefined();
  });
});
