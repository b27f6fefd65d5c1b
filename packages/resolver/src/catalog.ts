import semver from 'semver';

/** One known module version, as a registry or a folder scan describes it. A core `ModuleManifest` fits. */
export interface CatalogEntry {
  readonly name: string;
  readonly version: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly engines?: { readonly host?: string };
}

/** Where a range came from, so messages can name the manifest field. */
export type RangeField = 'dependencies' | 'optionalDependencies' | 'engines.host' | 'root';

/** A range that node-semver cannot parse, with the module and field it came from. */
export interface RangeIssue {
  readonly module: string;
  readonly version: string;
  readonly field: RangeField;
  readonly dependency?: string;
  readonly range: string;
  readonly message: string;
}

/**
 * A prepared, immutable catalog: module versions sorted, dependency ranges parsed once and turned into
 * bit masks over the target's versions. Build it once with {@link createCatalog}; resolve against it often.
 *
 * The layout is flat (typed arrays, CSR) so that a catalog of 100,000 modules stays compact.
 */
export interface Catalog {
  /** Module names, sorted; includes names that are depended on but not registered (`registered[i] === 0`). */
  readonly names: readonly string[];
  readonly indexOf: ReadonlyMap<string, number>;
  /** 1 for a registered module, 0 for a name only seen in someone's dependencies. */
  readonly registered: Uint8Array;
  /** Versions of module `m` are the global ids `versionStart[m] … versionStart[m + 1] - 1`, ascending. */
  readonly versionStart: Int32Array;
  /** Version strings by global id. */
  readonly versions: readonly string[];
  /**
   * Dependencies of global version `v` are edges `depStart[v] … depEnd[v] - 1`. Adjacent versions of a module
   * with identical dependencies share one edge range, which keeps the arrays small and the solver's
   * collapsed incompatibilities natural.
   */
  readonly depStart: Int32Array;
  readonly depEnd: Int32Array;
  readonly depTo: Int32Array;
  /** Index into `ranges`. */
  readonly depRange: Int32Array;
  /** 1 when the edge is an optional dependency. */
  readonly depOptional: Uint8Array;
  /** Offset into `maskWords` of the edge's mask over the target's versions (bit i = version i). */
  readonly depMask: Int32Array;
  readonly maskWords: Uint32Array;
  /** Unique range strings. */
  readonly ranges: readonly string[];
  /** Index into `ranges` of each version's `engines.host`, or -1. */
  readonly hostRange: Int32Array;
  /** Index into `distinctVersions` of each global version: range tests are cached per distinct version string. */
  readonly versionKey: Int32Array;
  readonly distinctVersions: readonly string[];
  /** Ranges that failed to parse, by global version id. */
  readonly rangeIssues: ReadonlyMap<number, readonly RangeIssue[]>;
  /** Entries that were left out (invalid version, duplicate), with why. */
  readonly skipped: readonly { readonly entry: CatalogEntry; readonly reason: string }[];
}

const rangeCache = new Map<string, semver.Range | Error>();

/** Parses a range once (node-semver rules, prereleases excluded unless named). */
export function parseRange(range: string): semver.Range | Error {
  let r = rangeCache.get(range);
  if (r === undefined) {
    try {
      if (typeof range !== 'string' || range.trim() === '') throw new TypeError('a range must be a non-empty string');
      r = new semver.Range(range);
    } catch (e) {
      r = e instanceof Error ? e : new Error(String(e));
    }
    if (rangeCache.size > 10_000) rangeCache.clear();
    rangeCache.set(range, r);
  }
  return r;
}

/** Prepares a catalog from module versions. Never throws for bad data: it records it. */
export function createCatalog(entries: Iterable<CatalogEntry>): Catalog {
  const skipped: { entry: CatalogEntry; reason: string }[] = [];
  const byName = new Map<string, { entry: CatalogEntry; parsed: semver.SemVer }[]>();
  for (const entry of entries) {
    const parsed = typeof entry.version === 'string' ? semver.parse(entry.version) : null;
    if (typeof entry.name !== 'string' || entry.name === '') {
      skipped.push({ entry, reason: 'name must be a non-empty string' });
      continue;
    }
    if (!parsed || parsed.version !== entry.version) {
      skipped.push({ entry, reason: `version ${JSON.stringify(entry.version)} is not a valid semver version` });
      continue;
    }
    const list = byName.get(entry.name) ?? [];
    if (list.some((x) => x.entry.version === entry.version)) {
      skipped.push({ entry, reason: `${entry.name}@${entry.version} is listed twice; the first entry is used` });
      continue;
    }
    list.push({ entry, parsed });
    byName.set(entry.name, list);
  }
  // Names only seen as dependencies become modules with no versions, so messages can name them.
  const allNames = new Set(byName.keys());
  for (const list of byName.values()) {
    for (const { entry } of list) {
      for (const d of Object.keys(entry.dependencies ?? {})) allNames.add(d);
      for (const d of Object.keys(entry.optionalDependencies ?? {})) allNames.add(d);
    }
  }
  const names = [...allNames].sort();
  const indexOf = new Map(names.map((n, i) => [n, i]));
  const registered = new Uint8Array(names.length);
  const versionStart = new Int32Array(names.length + 1);
  const ordered: { entry: CatalogEntry; parsed: semver.SemVer }[] = [];
  for (const [i, name] of names.entries()) {
    versionStart[i] = ordered.length;
    const list = byName.get(name);
    if (!list) continue;
    registered[i] = 1;
    list.sort((a, b) => a.parsed.compare(b.parsed));
    ordered.push(...list);
  }
  versionStart[names.length] = ordered.length;

  const distinct = new Map<string, number>();
  const distinctParsed: semver.SemVer[] = [];
  const versionKey = new Int32Array(ordered.length);
  for (const [v, o] of ordered.entries()) {
    let k = distinct.get(o.entry.version);
    if (k === undefined) {
      k = distinctParsed.length;
      distinct.set(o.entry.version, k);
      distinctParsed.push(o.parsed);
    }
    versionKey[v] = k;
  }
  // range id → per distinct version: 0 untested, 1 allowed, 2 not.
  const tested = new Map<number, Int8Array>();
  const allows = (range: semver.Range, rid: number, gv: number): boolean => {
    let row = tested.get(rid);
    if (!row) {
      row = new Int8Array(distinctParsed.length);
      tested.set(rid, row);
    }
    const k = versionKey[gv] as number;
    if (row[k] === 0) row[k] = range.test(distinctParsed[k] as semver.SemVer) ? 1 : 2;
    return row[k] === 1;
  };
  const ranges: string[] = [];
  const rangeId = new Map<string, number>();
  const idOfRange = (r: string) => {
    let id = rangeId.get(r);
    if (id === undefined) {
      id = ranges.length;
      ranges.push(r);
      rangeId.set(r, id);
    }
    return id;
  };
  let edgeCount = 0;
  for (const { entry } of ordered) edgeCount += Object.keys(entry.dependencies ?? {}).length + Object.keys(entry.optionalDependencies ?? {}).length;
  const depStart = new Int32Array(ordered.length);
  const depEnd = new Int32Array(ordered.length);
  const depTo = new Int32Array(edgeCount);
  const depRange = new Int32Array(edgeCount);
  const depOptional = new Uint8Array(edgeCount);
  const depMask = new Int32Array(edgeCount);
  const hostRange = new Int32Array(ordered.length).fill(-1);
  const rangeIssues = new Map<number, RangeIssue[]>();
  const words: number[] = [];
  const maskCache = new Map<string, number>();

  const maskFor = (to: number, range: semver.Range, rid: number): number => {
    const key = `${to}:${rid}`;
    const cached = maskCache.get(key);
    if (cached !== undefined) return cached;
    const start = versionStart[to] as number;
    const count = (versionStart[to + 1] as number) - start;
    const offset = words.length;
    for (let w = 0; w < Math.ceil(count / 32); w++) words.push(0);
    for (let i = 0; i < count; i++) {
      if (allows(range, rid, start + i)) {
        words[offset + (i >> 5)] = ((words[offset + (i >> 5)] as number) | (1 << (i & 31))) >>> 0;
      }
    }
    maskCache.set(key, offset);
    return offset;
  };

  let e = 0;
  let prevName = '';
  let prevSig = '';
  for (const [v, { entry }] of ordered.entries()) {
    const lists = (['dependencies', 'optionalDependencies'] as const).map((field) => Object.entries(entry[field] ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)));
    const sig = JSON.stringify(lists);
    const host = entry.engines?.host;
    if (host !== undefined) {
      const parsed = parseRange(host);
      if (parsed instanceof Error)
        rangeIssues.set(v, [{ module: entry.name, version: entry.version, field: 'engines.host', range: host, message: parsed.message }]);
      else hostRange[v] = idOfRange(host);
    }
    if (entry.name === prevName && sig === prevSig && v > 0 && !rangeIssues.has(v - 1)) {
      depStart[v] = depStart[v - 1] as number;
      depEnd[v] = depEnd[v - 1] as number;
      continue;
    }
    prevName = entry.name;
    prevSig = sig;
    depStart[v] = e;
    const issues: RangeIssue[] = [...(rangeIssues.get(v) ?? [])];
    for (const [k, field] of (['dependencies', 'optionalDependencies'] as const).entries()) {
      for (const [dep, r] of lists[k] ?? []) {
        const to = indexOf.get(dep) as number;
        const rid = idOfRange(r);
        const parsed = parseRange(r);
        depTo[e] = to;
        depRange[e] = rid;
        depOptional[e] = field === 'optionalDependencies' ? 1 : 0;
        if (parsed instanceof Error) {
          issues.push({ module: entry.name, version: entry.version, field, dependency: dep, range: r, message: parsed.message });
          depMask[e] = maskFor(to, new semver.Range('<0.0.0-0'), idOfRange('<0.0.0-0'));
        } else {
          depMask[e] = maskFor(to, parsed, rid);
        }
        e++;
      }
    }
    depEnd[v] = e;
    if (issues.length > 0) {
      rangeIssues.set(v, issues);
      prevSig = '';
    }
  }
  const catalog: Catalog = {
    names,
    indexOf,
    registered,
    versionStart,
    versions: ordered.map((o) => o.entry.version),
    depStart,
    depEnd,
    depTo: depTo.slice(0, e),
    depRange: depRange.slice(0, e),
    depOptional: depOptional.slice(0, e),
    depMask: depMask.slice(0, e),
    maskWords: Uint32Array.from(words),
    ranges,
    hostRange,
    versionKey,
    distinctVersions: [...distinct.keys()],
    rangeIssues,
    skipped,
  };
  flatLayout(catalog);
  return catalog;
}

/**
 * The catalog's edges re-laid for the resolver's hot loops, where every separate array read is a cache miss on a
 * large catalog: what is read together is stored together.
 * @internal
 */
export interface FlatLayout {
  /**
   * Per module `m`, 4 ints at `4m` (one 16-byte record): `[count, first, start, end]`: its number of versions;
   * the global id of its first version when it has at most 32 (so an edge's inline mask word covers them all),
   * else -1; `start`, `end` the edge range all its versions share, or -1, -1 when they differ.
   */
  readonly modules: Int32Array;
  /**
   * Per edge `e`: `[depTo[e], w]` at `2e`, `2e + 1`, where `w` is the first 32-bit word of the edge's mask: bit
   * `i` says whether the target's version `i` is allowed, for `i < 32` (beyond that, `maskWords`).
   */
  readonly edges: Int32Array;
}

const layouts = new WeakMap<Catalog, FlatLayout>();

/** The {@link FlatLayout} of a catalog: built with it, or on first use for a catalog built elsewhere. @internal */
export function flatLayout(c: Catalog): FlatLayout {
  let layout = layouts.get(c);
  if (!layout) {
    const M = c.names.length;
    const E = c.depTo.length;
    const modules = new Int32Array(4 * M);
    for (let m = 0; m < M; m++) {
      const first = c.versionStart[m] as number;
      const last = (c.versionStart[m + 1] as number) - 1;
      let shared = last >= first;
      for (let v = first + 1; shared && v <= last; v++) shared = c.depStart[v] === c.depStart[first] && c.depEnd[v] === c.depEnd[first];
      modules[4 * m] = last - first + 1;
      modules[4 * m + 1] = last - first < 32 ? first : -1;
      modules[4 * m + 2] = shared ? (c.depStart[first] as number) : -1;
      modules[4 * m + 3] = shared ? (c.depEnd[first] as number) : -1;
    }
    const edges = new Int32Array(2 * E);
    for (let e = 0; e < E; e++) {
      const to = c.depTo[e] as number;
      edges[2 * e] = to;
      // A target with no versions has no mask words (its offset may be the next mask's).
      edges[2 * e + 1] = versionCount(c, to) === 0 ? 0 : (c.maskWords[c.depMask[e] as number] as number) | 0;
    }
    layout = { modules, edges };
    layouts.set(c, layout);
  }
  return layout;
}

const rangeTests = new WeakMap<Catalog, Map<semver.Range, Int8Array>>();
const parsedDistinct = new WeakMap<Catalog, semver.SemVer[]>();

function testRow(c: Catalog, range: semver.Range): Int8Array {
  const byRange = rangeTests.get(c) ?? new Map<semver.Range, Int8Array>();
  rangeTests.set(c, byRange);
  const row = byRange.get(range) ?? new Int8Array(c.distinctVersions.length);
  byRange.set(range, row);
  return row;
}

/** True when global version `gv` satisfies `range`, cached per distinct version string. */
function versionSatisfies(c: Catalog, gv: number, range: semver.Range, cachedRow?: Int8Array): boolean {
  const row = cachedRow ?? testRow(c, range);
  const k = c.versionKey[gv] as number;
  if (row[k] === 0) {
    const parsed = parsedDistinct.get(c) ?? c.distinctVersions.map((v) => new semver.SemVer(v));
    parsedDistinct.set(c, parsed);
    row[k] = range.test(parsed[k] as semver.SemVer) ? 1 : 2;
  }
  return row[k] === 1;
}

/** True when bit `i` of the edge's mask is set: the target's i-th version satisfies the edge's range. */
export function edgeAllows(c: Catalog, edge: number, i: number): boolean {
  return (((c.maskWords[(c.depMask[edge] as number) + (i >> 5)] as number) >>> (i & 31)) & 1) === 1;
}

/** The edge's mask as a bigint over the target's versions. */
export function edgeMaskBig(c: Catalog, edge: number): bigint {
  const to = c.depTo[edge] as number;
  const count = (c.versionStart[to + 1] as number) - (c.versionStart[to] as number);
  const offset = c.depMask[edge] as number;
  let mask = 0n;
  for (let w = Math.ceil(count / 32) - 1; w >= 0; w--) mask = (mask << 32n) | BigInt(c.maskWords[offset + w] as number);
  return mask;
}

/** The versions of module `m` that a range allows, as a bigint mask (node-semver semantics). */
export function rangeMask(c: Catalog, m: number, range: semver.Range): bigint {
  const start = c.versionStart[m] as number;
  const count = (c.versionStart[m + 1] as number) - start;
  const row = testRow(c, range);
  let small = 0;
  let mask = 0n;
  for (let i = 0; i < count; i++) {
    if (!versionSatisfies(c, start + i, range, row)) continue;
    if (i < 30) small |= 1 << i;
    else mask |= 1n << BigInt(i);
  }
  return mask | BigInt(small);
}

/** Number of versions of module `m`. */
export const versionCount = (c: Catalog, m: number): number => (c.versionStart[m + 1] as number) - (c.versionStart[m] as number);
