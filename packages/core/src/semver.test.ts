import fc from 'fast-check';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { compareSemver, isValidSemver, parseSemver } from './semver.js';

const ident = fc.oneof(
  fc.nat({ max: 30 }).map(String),
  fc.stringMatching(/^[0-9A-Za-z-]{1,6}$/).filter((s) => !/^0\d+$/.test(s)),
);
const version = fc
  .record({
    core: fc.tuple(fc.nat({ max: 20 }), fc.nat({ max: 20 }), fc.nat({ max: 20 })),
    pre: fc.array(ident, { maxLength: 3 }),
    build: fc.array(fc.stringMatching(/^[0-9A-Za-z-]{1,5}$/), { maxLength: 2 }),
  })
  .map(({ core, pre, build }) => `${core.join('.')}${pre.length ? `-${pre.join('.')}` : ''}${build.length ? `+${build.join('.')}` : ''}`);

describe('semver', () => {
  it('accepts exactly the semver.org grammar', () => {
    for (const ok of [
      '0.0.0',
      '1.2.3',
      '1.2.3-alpha',
      '1.2.3-alpha.1',
      '1.2.3-0.3.7',
      '1.2.3-x.7.z.92',
      '1.0.0+20130313144700',
      '1.0.0-beta+exp.sha.5114f85',
      '1.0.0--',
    ]) {
      expect(isValidSemver(ok), ok).toBe(true);
    }
    for (const bad of [
      '1',
      '1.2',
      'v1.2.3',
      '=1.2.3',
      ' 1.2.3',
      '01.2.3',
      '1.02.3',
      '1.2.3-01',
      '1.2.3-',
      '1.2.3+',
      '1.2.3-a..b',
      '1.2.3.4',
      '',
      '9007199254740993.0.0',
    ]) {
      expect(isValidSemver(bad), bad).toBe(false);
    }
  });

  it('orders versions exactly as node-semver does', () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(isValidSemver(a)).toBe(true);
        expect(Math.sign(compareSemver(a, b))).toBe(semver.compare(a, b));
      }),
      { numRuns: 2000 },
    );
  });

  it('parses into parts', () => {
    expect(parseSemver('1.2.3-rc.1+build.5')).toEqual({ major: 1, minor: 2, patch: 3, prerelease: ['rc', 1], build: ['build', '5'] });
  });
});
