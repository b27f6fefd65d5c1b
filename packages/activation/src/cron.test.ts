import { describe, expect, it } from 'vitest';
import { parseCron } from './cron.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('parseCron', () => {
  it('finds the next matching minute (UTC)', () => {
    expect(iso(parseCron('0 8 * * MON').next(at('2026-11-22T10:00:00Z')))).toBe('2026-11-23T08:00:00.000Z');
    expect(iso(parseCron('*/15 * * * *').next(at('2026-11-22T10:07:30Z')))).toBe('2026-11-22T10:15:00.000Z');
    expect(iso(parseCron('30 9-17/4 * * *').next(at('2026-11-22T13:31:00Z')))).toBe('2026-11-22T17:30:00.000Z');
    expect(iso(parseCron('0 0 1 jan,jul *').next(at('2026-11-22T00:00:00Z')))).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(parseCron('5 4 * * 7').next(at('2026-11-22T04:06:00Z')))).toBe('2026-11-29T04:05:00.000Z');
  });

  it('is strictly after the given time', () => {
    expect(iso(parseCron('* * * * *').next(at('2026-11-22T10:00:00Z')))).toBe('2026-11-22T10:01:00.000Z');
  });

  it('matches day of month OR day of week when both are restricted, as classic cron does', () => {
    // 13th of the month or a Friday: from Sat 2026-11-21 the next is Fri 2026-11-27 (before Dec 13).
    expect(iso(parseCron('0 12 13 * 5').next(at('2026-11-21T00:00:00Z')))).toBe('2026-11-27T12:00:00.000Z');
  });

  it('returns undefined for a date that never exists', () => {
    expect(parseCron('0 0 30 2 *').next(at('2026-01-01T00:00:00Z'))).toBeUndefined();
  });

  it('rejects malformed expressions with MANIFEST_INVALID saying what is wrong', () => {
    expect(() => parseCron('0 8 * *')).toThrow(/must have 5 fields/);
    expect(() => parseCron('61 * * * *')).toThrow(/minute field "61" has "61", expected 0–59/);
    expect(() => parseCron('0 5-2 * * *')).toThrow(/runs backwards/);
    expect(() => parseCron('*/0 * * * *')).toThrow(/positive whole number/);
    try {
      parseCron('0 0 * * funday');
    } catch (e) {
      expect((e as { code: string }).code).toBe('MANIFEST_INVALID');
    }
  });
});
