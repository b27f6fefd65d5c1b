// The official semver.org 2.0.0 grammar. Core only needs to validate and order
// versions; range matching belongs to @modhost/resolver (which uses `semver`).
/** The semver.org 2.0.0 grammar of a version. */
export const SEMVER_PATTERN: RegExp =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** A parsed semantic version. */
export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly prerelease: readonly (string | number)[];
  readonly build: readonly string[];
}

/** Parses a strict semver.org version (no leading `v`, no whitespace); `undefined` if invalid. */
export function parseSemver(version: string): SemVer | undefined {
  if (typeof version !== 'string' || version.length > 256) return undefined;
  const m = SEMVER_PATTERN.exec(version);
  if (!m) return undefined;
  const nums = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!nums.every(Number.isSafeInteger)) return undefined;
  return {
    major: nums[0] as number,
    minor: nums[1] as number,
    patch: nums[2] as number,
    prerelease: m[4] ? m[4].split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : [],
    build: m[5] ? m[5].split('.') : [],
  };
}

/** True when `version` is valid under the semver.org 2.0.0 grammar. */
export function isValidSemver(version: string): boolean {
  return parseSemver(version) !== undefined;
}

/**
 * Semver precedence: negative when a < b, 0 when equal (build metadata ignored), positive when a > b.
 * Throws `TypeError` for an invalid version, which callers validate first.
 */
export function compareSemver(a: string, b: string): number {
  const x = parseSemver(a);
  const y = parseSemver(b);
  if (!x || !y) throw new TypeError(`compareSemver: invalid version ${x ? b : a}`);
  const core = x.major - y.major || x.minor - y.minor || x.patch - y.patch;
  if (core !== 0) return core;
  // A version without prerelease ranks above one with it.
  if (x.prerelease.length === 0 || y.prerelease.length === 0) {
    return y.prerelease.length - x.prerelease.length;
  }
  const len = Math.max(x.prerelease.length, y.prerelease.length);
  for (let i = 0; i < len; i++) {
    const p = x.prerelease[i];
    const q = y.prerelease[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    if (p === q) continue;
    if (typeof p === 'number' && typeof q === 'number') return p - q;
    if (typeof p === 'number') return -1;
    if (typeof q === 'number') return 1;
    return p < q ? -1 : 1;
  }
  return 0;
}
