import { describe, expect, expectTypeOf, it } from 'vitest';
import { ErrorCode, type ErrorDetails, type Issue, isModhostError, ModhostError, RECOVERY_HINTS, recoveryHint } from './errors.js';

describe('the error table', () => {
  it('gives every code a hint, on the error itself and by code', () => {
    for (const code of Object.values(ErrorCode)) {
      expect(RECOVERY_HINTS[code].length).toBeGreaterThan(10);
      expect(new ModhostError(code, 'x').hint).toBe(RECOVERY_HINTS[code]);
    }
    expect(recoveryHint('TypeError')).toContain('docs/errors.md');
    expect(recoveryHint(undefined)).toBeUndefined();
  });

  it('keeps the code out of the message, and in toString() for logs', () => {
    const e = new ModhostError('MODULE_NOT_FOUND', 'tasks@9.9.9 is not registered', { details: { module: 'tasks', known: ['1.0.0'] } });
    expect(e.message).toBe('tasks@9.9.9 is not registered');
    expect(String(e)).toBe('ModhostError [MODULE_NOT_FOUND]: tasks@9.9.9 is not registered');
  });

  it('narrows details to the code’s type', () => {
    const e: unknown = new ModhostError('MANIFEST_INVALID', 'bad', { details: { issues: [{ path: ['name'], message: 'required' }] } });
    if (isModhostError(e, 'MANIFEST_INVALID')) {
      expectTypeOf(e.details).toEqualTypeOf<Readonly<ErrorDetails['MANIFEST_INVALID']>>();
      expectTypeOf(e.details.issues).toEqualTypeOf<readonly Issue[] | undefined>();
      expect(e.details.issues?.[0]?.message).toBe('required');
    } else expect.unreachable();
  });

  it('recognises an error made by another copy of core (an ESM and a CJS build side by side)', () => {
    // What a second copy's class produces: its own prototype chain, the same registered brand.
    class OtherCopyError extends Error {
      readonly code = 'QUOTA_EXCEEDED';
      constructor() {
        super('call timed out');
        Object.defineProperty(this, Symbol.for('modhost.error'), { value: true });
      }
    }
    const other = new OtherCopyError();
    expect(other instanceof ModhostError).toBe(false);
    expect(isModhostError(other)).toBe(true);
    expect(isModhostError(other, 'QUOTA_EXCEEDED')).toBe(true);
    expect(isModhostError(other, 'MODULE_CRASHED')).toBe(false);
    expect(isModhostError({ code: 'QUOTA_EXCEEDED', message: 'forged plain object' })).toBe(false);
  });
});
