// Terms over a finite domain. For a package with n versions, a term is a bigint over n + 1 bits:
// bit i (i < n) is "version i is selected", bit n is "the package is not selected". A positive term
// ("foo ^1.0.0") never has bit n; a negative one ("not foo ^1.0.0") always does. With that, every
// PubGrub set operation is one bit operation and negative terms are exact.

/** A term about one package. */
export interface Term {
  readonly pkg: number;
  readonly set: bigint;
}

/** All of a package's domain: every version and "not selected". */
export const domain = (n: number): bigint => (1n << BigInt(n + 1)) - 1n;
/** Every version (selected at all). */
export const allVersions = (n: number): bigint => (1n << BigInt(n)) - 1n;
/** The "not selected" bit. */
const unselected = (n: number): bigint => 1n << BigInt(n);
/** The complement within the domain. */
export const negate = (set: bigint, n: number): bigint => domain(n) & ~set;
/** True for a positive term (it requires the package to be selected). */
export const isPositive = (set: bigint, n: number): boolean => (set & unselected(n)) === 0n;

export const SATISFIED = 0;
export const CONTRADICTED = 1;
export const INCONCLUSIVE = 2;

/** How a set of assignments (their intersection `s`) relates to a term `t`: one of the three constants above. */
export function relation(s: bigint, t: bigint): number {
  if ((s & ~t) === 0n) return SATISFIED;
  if ((s & t) === 0n) return CONTRADICTED;
  return INCONCLUSIVE;
}

/** Number of set bits (versions) in a mask. */
export function popcount(mask: bigint): number {
  let n = 0;
  let m = mask;
  while (m > 0n) {
    const low = Number(m & 0xffffffffn);
    let x = low - ((low >>> 1) & 0x55555555);
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    n += (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
    m >>= 32n;
  }
  return n;
}

/** Index of the highest set bit below `limit`, or -1. */
export function highestBit(mask: bigint, limit: number): number {
  for (let i = limit - 1; i >= 0; i--) if ((mask >> BigInt(i)) & 1n) return i;
  return -1;
}
