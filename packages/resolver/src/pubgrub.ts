// PubGrub (dart-lang/pub doc/solver.md) over finite version domains. See terms.ts for the encoding.
import { edgeMaskBig, type RangeIssue, versionCount } from './catalog.js';
import type { Cause, Incompat, SolverInput, SolverResult, SolverStats } from './solver-types.js';
import { allVersions, CONTRADICTED, domain, highestBit, INCONCLUSIVE, isPositive, negate, popcount, relation, SATISFIED, type Term } from './terms.js';

export type { Cause, Incompat, RootDependency, SolverInput, SolverResult, SolverStats } from './solver-types.js';

interface Assignment {
  readonly pkg: number;
  readonly set: bigint;
  readonly level: number;
  /** `null` for a decision. */
  readonly cause: Incompat | null;
  /** Intersection of every assignment to `pkg` up to and including this one. */
  readonly acc: bigint;
}

class RangeIssueError {
  constructor(readonly issues: readonly RangeIssue[]) {}
}

/** Runs PubGrub. Never recurses; never throws for a bad graph. */
export function solve(input: SolverInput): SolverResult {
  const { catalog: c, roots, hostAllows, host } = input;
  const M = c.names.length;
  const ROOT = M;
  const nOf = (p: number) => (p === ROOT ? 1 : versionCount(c, p));
  const incompatsOf: Incompat[][] = Array.from({ length: M + 1 }, () => []);
  const assignments: Assignment[] = [];
  const perPkg: number[][] = Array.from({ length: M + 1 }, () => []);
  const acc: (bigint | undefined)[] = new Array(M + 1).fill(undefined);
  const decided = new Int32Array(M + 1).fill(-1);
  const hostChecked = new Uint8Array(M + 1);
  // Dependency incompatibilities already added, keyed by the first edge of their collapsed run.
  const edgeAdded = new Uint8Array(c.depTo.length);
  const stats: SolverStats = { decisions: 0, conflicts: 0, incompatibilities: 0 };
  let level = 0;
  let nextId = 0;

  // Pending packages: positive, undecided. A lazy min-heap keyed by (candidate count, index).
  const heap: number[] = [];
  // Key: focused modules first, then fewest candidate versions (pub's heuristic), then index.
  const focus = input.focus;
  const key = (p: number) => ((focus && p < M && focus[p] === 1 ? 0 : 1) * 1_000_000 + popcount((acc[p] ?? 0n) & allVersions(nOf(p)))) * (M + 1) + p;
  const heapPush = (k: number) => {
    heap.push(k);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as number) <= k) break;
      heap[i] = heap[parent] as number;
      heap[parent] = k;
      i = parent;
    }
  };
  const heapPop = (): number | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && (heap[l] as number) < (heap[m] as number)) m = l;
        if (r < heap.length && (heap[r] as number) < (heap[m] as number)) m = r;
        if (m === i) break;
        const t = heap[i] as number;
        heap[i] = heap[m] as number;
        heap[m] = t;
        i = m;
      }
    }
    return top;
  };
  const eligible = (p: number) => decided[p] === -1 && acc[p] !== undefined && isPositive(acc[p] as bigint, nOf(p));
  const touch = (p: number) => {
    if (eligible(p)) heapPush(key(p));
  };

  const addIncompat = (terms: Term[], cause: Cause): Incompat => {
    // Common case: one or two terms on different packages need no merging.
    if (terms.length === 1 || (terms.length === 2 && (terms[0] as Term).pkg !== (terms[1] as Term).pkg)) {
      const list = cause.kind === 'conflict' && terms.length > 1 ? terms.filter((t) => !(t.pkg === ROOT && isPositive(t.set, 1))) : terms;
      return { id: nextId++, terms: list, cause };
    }
    const merged = new Map<number, bigint>();
    for (const t of terms) merged.set(t.pkg, (merged.get(t.pkg) ?? domain(nOf(t.pkg))) & t.set);
    let list = [...merged].map(([pkg, set]) => ({ pkg, set }));
    if (cause.kind === 'conflict' && list.length > 1) list = list.filter((t) => !(t.pkg === ROOT && isPositive(t.set, 1)));
    const inc: Incompat = { id: nextId++, terms: list, cause };
    return inc;
  };
  const register = (inc: Incompat) => {
    stats.incompatibilities++;
    for (const t of inc.terms) incompatsOf[t.pkg]?.push(inc);
  };
  const state = (p: number) => acc[p] ?? domain(nOf(p));
  const assign = (pkg: number, set: bigint, cause: Incompat | null) => {
    const a: Assignment = { pkg, set, level, cause, acc: state(pkg) & set };
    perPkg[pkg]?.push(assignments.length);
    assignments.push(a);
    acc[pkg] = a.acc;
    touch(pkg);
  };
  const backtrack = (to: number) => {
    while (assignments.length > 0 && (assignments[assignments.length - 1] as Assignment).level > to) {
      const a = assignments.pop() as Assignment;
      const list = perPkg[a.pkg] as number[];
      list.pop();
      const prev = list[list.length - 1];
      acc[a.pkg] = prev === undefined ? undefined : (assignments[prev] as Assignment).acc;
      if (a.cause === null) decided[a.pkg] = -1;
      touch(a.pkg);
    }
    level = to;
  };
  const isFailure = (inc: Incompat) =>
    inc.terms.length === 0 || (inc.terms.length === 1 && inc.terms[0]?.pkg === ROOT && isPositive((inc.terms[0] as Term).set, 1));
  const firstSatisfier = (t: Term) => {
    for (const i of perPkg[t.pkg] as number[]) if (((assignments[i] as Assignment).acc & ~t.set) === 0n) return i;
    return -1;
  };

  const resolveConflict = (input: Incompat): { inc: Incompat } | { failure: Incompat } => {
    stats.conflicts++;
    let inc = input;
    for (;;) {
      if (isFailure(inc)) return { failure: inc };
      let satIdx = -1;
      let satTerm: Term | undefined;
      const idx = new Map<Term, number>();
      for (const t of inc.terms) {
        const i = firstSatisfier(t);
        idx.set(t, i);
        if (i > satIdx) {
          satIdx = i;
          satTerm = t;
        }
      }
      const sat = assignments[satIdx] as Assignment;
      const term = satTerm as Term;
      let prevIdx = -1;
      for (const t of inc.terms) if (t !== term) prevIdx = Math.max(prevIdx, idx.get(t) as number);
      for (const i of perPkg[term.pkg] as number[]) {
        if (i >= satIdx) break;
        if (((assignments[i] as Assignment).acc & sat.set & ~term.set) === 0n) {
          prevIdx = Math.max(prevIdx, i);
          break;
        }
      }
      const prevLevel = prevIdx >= 0 ? (assignments[prevIdx] as Assignment).level : 1;
      if (sat.cause === null || prevLevel !== sat.level) {
        if (inc !== input) register(inc);
        backtrack(prevLevel);
        return { inc };
      }
      const terms = [...inc.terms, ...sat.cause.terms].filter((t) => t.pkg !== sat.pkg);
      if ((sat.set & ~term.set) !== 0n) terms.push({ pkg: sat.pkg, set: negate(sat.set & ~term.set, nOf(sat.pkg)) });
      inc = addIncompat(terms, { kind: 'conflict', left: inc, right: sat.cause });
    }
  };

  /** Unit propagation from `start`; returns a failure incompatibility if the root is unsatisfiable. */
  const propagate = (start: number): Incompat | undefined => {
    let changed = [start];
    const inChanged = new Set([start]);
    while (changed.length > 0) {
      const p = changed.pop() as number;
      inChanged.delete(p);
      const list = incompatsOf[p] as Incompat[];
      for (let i = list.length - 1; i >= 0; i--) {
        const inc = list[i] as Incompat;
        let unsatisfied: Term | undefined;
        let outcome = SATISFIED;
        for (const t of inc.terms) {
          const r = relation(state(t.pkg), t.set);
          if (r === CONTRADICTED) {
            outcome = CONTRADICTED;
            break;
          }
          if (r === INCONCLUSIVE) {
            if (unsatisfied) {
              outcome = -1;
              break;
            }
            unsatisfied = t;
            outcome = INCONCLUSIVE;
          }
        }
        if (outcome === SATISFIED) {
          const resolved = resolveConflict(inc);
          if ('failure' in resolved) return resolved.failure;
          const root = resolved.inc;
          const t = root.terms.find((x) => relation(state(x.pkg), x.set) !== SATISFIED) as Term;
          assign(t.pkg, negate(t.set, nOf(t.pkg)), root);
          changed = [t.pkg];
          inChanged.clear();
          inChanged.add(t.pkg);
          break;
        }
        if (outcome === INCONCLUSIVE && unsatisfied) {
          assign(unsatisfied.pkg, negate(unsatisfied.set, nOf(unsatisfied.pkg)), inc);
          if (!inChanged.has(unsatisfied.pkg)) {
            changed.push(unsatisfied.pkg);
            inChanged.add(unsatisfied.pkg);
          }
        }
      }
    }
    return undefined;
  };

  /** The edge of version `i` of `p` with the same dependency, or -1. */
  const sameDependency = (p: number, i: number, to: number, rangeId: number) => {
    const gv = (c.versionStart[p] as number) + i;
    for (let e = c.depStart[gv] as number; e < (c.depEnd[gv] as number); e++) {
      if (c.depTo[e] === to && c.depRange[e] === rangeId && (c.depOptional[e] === 0 || input.promoted?.has(e))) return e;
    }
    return -1;
  };

  /** Adds the dependency incompatibilities of `p`'s version `v`, collapsed over adjacent versions. */
  const dependenciesOf = (p: number, v: number): Incompat[] => {
    const out: Incompat[] = [];
    if (p === ROOT) {
      for (const r of roots) {
        if (r.mask === 0n) {
          const inc = addIncompat([{ pkg: ROOT, set: 1n }], { kind: 'unavailable', from: ROOT, to: r.pkg, range: r.range, field: 'root', source: r.source });
          register(inc);
          out.push(inc);
          continue;
        }
        const inc = addIncompat(
          [
            { pkg: ROOT, set: 1n },
            { pkg: r.pkg, set: negate(r.mask, nOf(r.pkg)) },
          ],
          { kind: 'dependency', from: ROOT, to: r.pkg, range: r.range, field: 'root', source: r.source },
        );
        register(inc);
        out.push(inc);
      }
      return out;
    }
    const n = nOf(p);
    const gv = (c.versionStart[p] as number) + v;
    for (let e = c.depStart[gv] as number; e < (c.depEnd[gv] as number); e++) {
      if (c.depOptional[e] === 1 && !input.promoted?.has(e)) continue;
      const to = c.depTo[e] as number;
      const rid = c.depRange[e] as number;
      // Collapse the run of adjacent versions with the same dependency; the run's first edge keys it.
      let lo = v;
      let hi = v;
      let first = e;
      for (let x = sameDependency(p, lo - 1, to, rid); lo > 0 && x >= 0; x = lo > 0 ? sameDependency(p, lo - 1, to, rid) : -1) {
        lo--;
        first = x;
      }
      while (hi < n - 1 && sameDependency(p, hi + 1, to, rid) >= 0) hi++;
      if (edgeAdded[first] === 1) continue;
      edgeAdded[first] = 1;
      const depender = allVersions(hi + 1) & ~allVersions(lo);
      const field = c.depOptional[e] ? 'optionalDependencies' : 'dependencies';
      const mask = edgeMaskBig(c, e);
      if (mask === 0n) {
        // A range that matches no registered version: say so directly instead of deriving it.
        const inc = addIncompat([{ pkg: p, set: depender }], { kind: 'unavailable', from: p, to, range: c.ranges[rid] as string, field });
        register(inc);
        out.push(inc);
        continue;
      }
      const inc = addIncompat(
        [
          { pkg: p, set: depender },
          { pkg: to, set: negate(mask, nOf(to)) },
        ],
        { kind: 'dependency', from: p, to, range: c.ranges[rid] as string, field },
      );
      register(inc);
      out.push(inc);
    }
    return out;
  };

  /** Marks host-incompatible versions of `p` as forbidden, one incompatibility per run with the same range. */
  const addHostIncompats = (p: number): boolean => {
    const start = c.versionStart[p] as number;
    const n = nOf(p);
    let added = false;
    for (let i = 0; i < n; ) {
      const r = c.hostRange[start + i] as number;
      if (r < 0 || hostAllows(start + i)) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < n && c.hostRange[start + j + 1] === r && !hostAllows(start + j + 1)) j++;
      register(addIncompat([{ pkg: p, set: allVersions(j + 1) & ~allVersions(i) }], { kind: 'host', range: c.ranges[r] as string, host }));
      added = true;
      i = j + 1;
    }
    return added;
  };

  const wouldConflict = (inc: Incompat, p: number, v: number) =>
    inc.terms.every((t) => relation(t.pkg === p ? 1n << BigInt(v) : state(t.pkg), t.set) === SATISFIED);

  /** Decision making. Returns the package to propagate from, or undefined when the solution is complete. */
  const decide = (): number | undefined => {
    for (;;) {
      const k = heapPop();
      if (k === undefined) return undefined;
      const p = k % (M + 1);
      if (!eligible(p) || key(p) !== k) continue;
      const n = nOf(p);
      if (p !== ROOT && !hostChecked[p]) {
        hostChecked[p] = 1;
        if (addHostIncompats(p)) {
          touch(p);
          return p;
        }
      }
      const allowed = (acc[p] as bigint) & allVersions(n);
      if (allowed === 0n) {
        register(addIncompat([{ pkg: p, set: acc[p] as bigint }], { kind: 'no-versions' }));
        touch(p);
        return p;
      }
      const pref = p === ROOT ? -1 : (input.preferred?.[p] ?? -1);
      const v = pref >= 0 && ((allowed >> BigInt(pref)) & 1n) === 1n ? pref : highestBit(allowed, n);
      if (p !== ROOT) {
        const issues = c.rangeIssues.get((c.versionStart[p] as number) + v);
        if (issues) throw new RangeIssueError(issues);
      }
      const added = dependenciesOf(p, v);
      if (added.some((inc) => wouldConflict(inc, p, v))) {
        touch(p);
        return p;
      }
      level++;
      stats.decisions++;
      decided[p] = v;
      assign(p, 1n << BigInt(v), null);
      return p;
    }
  };

  try {
    register(addIncompat([{ pkg: ROOT, set: negate(1n, 1) }], { kind: 'root' }));
    for (let next: number | undefined = ROOT; next !== undefined; next = decide()) {
      const failure = propagate(next);
      if (failure) return { ok: false, failure, root: ROOT, stats };
    }
  } catch (e) {
    if (e instanceof RangeIssueError) return { ok: false, rangeIssues: e.issues, stats };
    throw e;
  }
  return { ok: true, selection: decided.slice(0, M), stats };
}
