import fc from 'fast-check';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { type CatalogEntry, createCatalog, edgeAllows } from './catalog.js';
import { resolve } from './resolve.js';

// ---- generators -------------------------------------------------------------------------------

const pre = fc.constantFrom('alpha', 'alpha.1', 'beta.2', 'rc.1', '0');
const version = fc
  .tuple(fc.nat({ max: 3 }), fc.nat({ max: 3 }), fc.nat({ max: 3 }), fc.option(pre, { freq: 3 }))
  .map(([a, b, c, p]) => `${a}.${b}.${c}${p ? `-${p}` : ''}`);
const partial = fc.oneof(
  version,
  fc.tuple(fc.nat({ max: 3 }), fc.nat({ max: 3 })).map(([a, b]) => `${a}.${b}`),
  fc.nat({ max: 3 }).map(String),
  fc.tuple(fc.nat({ max: 3 }), fc.constantFrom('x', '*')).map(([a, x]) => `${a}.${x}`),
);
const comparator = fc.oneof(
  fc.tuple(fc.constantFrom('^', '~', '>=', '<=', '>', '<', '=', ''), partial).map(([op, v]) => `${op}${v}`),
  fc.constant('*'),
);
const range = fc.oneof(
  comparator,
  fc.tuple(comparator, comparator).map(([a, b]) => `${a} ${b}`),
  fc.tuple(version, version).map(([a, b]) => `${a} - ${b}`),
  fc.tuple(comparator, comparator).map(([a, b]) => `${a} || ${b}`),
);

/** Small catalogs whose dependencies only point to modules with a higher index (no cycles). */
const VERSIONS = ['1.0.0', '1.1.0', '2.0.0'];
const RANGES = ['^1.0.0', '^2.0.0', '>=1.1.0', '*', '<1.1.0', '1.0.0 || 2.0.0', '~1.1.0'];
const dagCatalog = (modules: number) =>
  fc
    .array(
      fc.record({
        versions: fc.subarray(VERSIONS, { minLength: 1 }),
        deps: fc.array(fc.record({ to: fc.nat({ max: modules - 1 }), range: fc.constantFrom(...RANGES) }), { maxLength: 3 }),
      }),
      { minLength: modules, maxLength: modules },
    )
    .chain((mods) =>
      // Each version gets its own subset of the module's dependency candidates.
      fc.tuple(fc.constant(mods), fc.array(fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), { minLength: modules * 3, maxLength: modules * 3 })),
    )
    .map(([mods, picks]) => {
      const entries: CatalogEntry[] = [];
      mods.forEach((m, i) => {
        m.versions.forEach((v, k) => {
          const chosen = picks[i * 3 + k] ?? [];
          const deps: Record<string, string> = {};
          m.deps.forEach((d, j) => {
            if (chosen[j] && d.to > i) deps[`m${d.to}`] = d.range;
          });
          entries.push({ name: `m${i}`, version: v, dependencies: deps });
        });
      });
      return entries;
    });

// ---- brute force ------------------------------------------------------------------------------

/** Every assignment (each module: absent or one version) checked directly. */
function bruteForce(entries: readonly CatalogEntry[], roots: Record<string, string>): boolean {
  const names = [...new Set(entries.map((e) => e.name))].sort();
  const options = names.map((n) => [undefined, ...entries.filter((e) => e.name === n)]);
  const pick = new Array<CatalogEntry | undefined>(names.length);
  const valid = () => {
    const chosen = new Map(pick.flatMap((e) => (e ? [[e.name, e.version] as const] : [])));
    for (const [r, rg] of Object.entries(roots)) {
      const v = chosen.get(r);
      if (!v || !semver.satisfies(v, rg)) return false;
    }
    for (const e of pick) {
      if (!e) continue;
      for (const [d, rg] of Object.entries(e.dependencies ?? {})) {
        const v = chosen.get(d);
        if (!v || !semver.satisfies(v, rg)) return false;
      }
    }
    return true;
  };
  const go = (i: number): boolean => {
    if (i === names.length) return valid();
    for (const o of options[i] ?? []) {
      pick[i] = o;
      if (go(i + 1)) return true;
    }
    return false;
  };
  return go(0);
}

function selectionIsValid(entries: readonly CatalogEntry[], roots: Record<string, string>, selection: Readonly<Record<string, string>>): boolean {
  for (const [r, rg] of Object.entries(roots)) if (!selection[r] || !semver.satisfies(selection[r] as string, rg)) return false;
  for (const [name, v] of Object.entries(selection)) {
    const entry = entries.find((e) => e.name === name && e.version === v);
    if (!entry) return false;
    for (const [d, rg] of Object.entries(entry.dependencies ?? {})) if (!selection[d] || !semver.satisfies(selection[d] as string, rg)) return false;
  }
  return true;
}

// ---- properties -------------------------------------------------------------------------------

describe('ranges agree with node-semver', () => {
  it('every precomputed dependency mask matches semver.satisfies, prereleases included', () => {
    fc.assert(
      fc.property(fc.uniqueArray(version, { minLength: 1, maxLength: 12 }), range, (versions, r) => {
        const catalog = createCatalog([...versions.map((v) => ({ name: 'm', version: v })), { name: 'd', version: '1.0.0', dependencies: { m: r } }]);
        const d = catalog.indexOf.get('d') as number;
        const edge = catalog.depStart[catalog.versionStart[d] as number] as number;
        const start = catalog.versionStart[catalog.indexOf.get('m') as number] as number;
        versions.forEach((_, i) => {
          const v = catalog.versions[start + i] as string;
          expect(edgeAllows(catalog, edge, i), `${v} in ${r}`).toBe(semver.satisfies(v, r));
        });
      }),
      { numRuns: 1500 },
    );
  });

  it('a root range selects what semver.maxSatisfying selects', () => {
    fc.assert(
      fc.property(fc.uniqueArray(version, { minLength: 1, maxLength: 12 }), range, (versions, r) => {
        const result = resolve({ roots: { m: r }, catalog: versions.map((v) => ({ name: 'm', version: v })) });
        const expected = semver.maxSatisfying(versions, r);
        expect(result.ok ? result.selection.m : null).toBe(expected);
      }),
      { numRuns: 1500 },
    );
  });
});

const tally: Record<string, number> = {};
describe('the solver', () => {
  it('finds a valid solution whenever brute force finds one, and fails only when none exists', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 5 })
          .chain((n) =>
            fc.tuple(
              dagCatalog(n),
              fc.dictionary(fc.constantFrom(...Array.from({ length: n }, (_, i) => `m${i}`)), fc.constantFrom(...RANGES), { minKeys: 1 }),
            ),
          ),
        ([entries, roots]) => {
          const result = resolve({ roots, catalog: entries });
          tally[result.ok ? result.strategy : 'failed'] = (tally[result.ok ? result.strategy : 'failed'] ?? 0) + 1;
          const exists = bruteForce(entries, roots);
          expect(result.ok, result.ok ? '' : result.explanation.text).toBe(exists);
          if (result.ok) expect(selectionIsValid(entries, roots, result.selection)).toBe(true);
          else expect(result.explanation.text).toMatch(/resolution failed\.$/);
        },
      ),
      { numRuns: 4000 },
    );
    // The property is only worth something if all three outcomes occur often.
    console.info('outcomes', tally);
    expect(tally['fast-path']).toBeGreaterThan(600);
    expect(tally.solver).toBeGreaterThan(80);
    expect(tally.failed).toBeGreaterThan(600);
  });

  it('is deterministic: the same input gives the same selection, plan and message', () => {
    fc.assert(
      fc.property(dagCatalog(5), fc.constantFrom(...RANGES), (entries, r) => {
        const run = () => {
          const x = resolve({ roots: { m0: r, m1: '*' }, catalog: [...entries].reverse() });
          return JSON.stringify(x.ok ? { s: x.selection, p: x.plan.toJSON() } : { e: x.error.message, t: x.explanation });
        };
        expect(run()).toBe(run());
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a preferred selection that still satisfies everything', () => {
    fc.assert(
      fc.property(dagCatalog(5), (entries) => {
        const first = resolve({ roots: { m0: '*' }, catalog: entries });
        if (!first.ok) return;
        // Prefer the oldest version of each selected module that is still a valid solution.
        const again = resolve({ roots: { m0: '*' }, catalog: entries, preferred: first.selection });
        expect(again.ok && again.selection).toEqual(first.selection);
      }),
      { numRuns: 300 },
    );
  });
});

/** Random graphs (one version each) that may have cycles. */
const graph = fc
  .integer({ min: 1, max: 9 })
  .chain((n) =>
    fc.tuple(fc.constant(n), fc.uniqueArray(fc.tuple(fc.nat({ max: n - 1 }), fc.nat({ max: n - 1 })), { maxLength: n * 2, selector: ([a, b]) => `${a}>${b}` })),
  );
const entriesOf = (n: number, edges: readonly (readonly [number, number])[]) =>
  Array.from({ length: n }, (_, i) => ({
    name: `n${i}`,
    version: '1.0.0',
    dependencies: Object.fromEntries(edges.filter(([a]) => a === i).map(([, b]) => [`n${b}`, '^1.0.0'])),
  }));

describe('plans and cycles', () => {
  it('every plan respects every edge: waves, order, shutdown order and priorities', () => {
    fc.assert(
      fc.property(graph, ([n, edges]) => {
        const dag = edges.filter(([a, b]) => a < b);
        const r = resolve({ roots: Object.fromEntries(Array.from({ length: n }, (_, i) => [`n${i}`, '*'])), catalog: entriesOf(n, dag) });
        if (!r.ok) throw new Error(r.error.message);
        const { plan } = r;
        const pos = new Map(plan.order.map((m, i) => [m, i]));
        expect(plan.shutdownOrder).toEqual([...plan.order].reverse());
        expect(plan.waves.flat()).toEqual(plan.order);
        for (const w of plan.waves) expect([...w].sort()).toEqual(w);
        for (const [a, b] of dag) {
          expect(plan.waveOf(`n${b}`) as number).toBeLessThan(plan.waveOf(`n${a}`) as number);
          expect(pos.get(`n${b}`) as number).toBeLessThan(pos.get(`n${a}`) as number);
          expect(plan.dependentsOf(`n${b}`)).toContain(`n${a}`);
        }
        for (const m of plan.order) {
          const deps = plan.dependenciesOf(m);
          // A module is in the first wave after all its dependencies.
          expect(plan.waveOf(m)).toBe(deps.length === 0 ? 0 : Math.max(...deps.map((d) => plan.waveOf(d) as number)) + 1);
          const above = plan.dependentsOf(m).map((d) => plan.longestPath(d) as number);
          expect(plan.longestPath(m)).toBe(1 + Math.max(0, ...above));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('reports a cycle exactly when there is one, with the shortest path, and plans everything else', () => {
    fc.assert(
      fc.property(graph, ([n, edges]) => {
        const out = (a: number) => edges.filter(([x]) => x === a).map(([, b]) => b);
        // Brute force: shortest cycle through each node by BFS.
        const shortestThrough = (s: number) => {
          const dist = new Map([[s, 0]]);
          const q = [s];
          while (q.length) {
            const u = q.shift() as number;
            for (const w of out(u)) {
              if (w === s) return (dist.get(u) as number) + 1;
              if (!dist.has(w)) {
                dist.set(w, (dist.get(u) as number) + 1);
                q.push(w);
              }
            }
          }
          return Number.POSITIVE_INFINITY;
        };
        const onCycle = Array.from({ length: n }, (_, i) => shortestThrough(i) < Number.POSITIVE_INFINITY);
        const r = resolve({ roots: Object.fromEntries(Array.from({ length: n }, (_, i) => [`n${i}`, '*'])), catalog: entriesOf(n, edges) });
        expect(r.ok).toBe(!onCycle.some(Boolean));
        if (r.ok) return;
        expect(r.error.code).toBe('DEPENDENCY_CYCLE');
        const reported = new Set(r.cycles?.flatMap((c) => c.modules));
        for (let i = 0; i < n; i++) expect(reported.has(`n${i}`)).toBe(onCycle[i]);
        for (const c of r.cycles ?? []) {
          // Each step is a real edge, the path closes, and none shorter exists in the component.
          c.path.forEach((step, k) => {
            expect(step.dependsOn).toBe(c.path[(k + 1) % c.path.length]?.module);
            expect(edges.some(([a, b]) => `n${a}` === step.module && `n${b}` === step.dependsOn)).toBe(true);
          });
          const best = Math.min(...c.modules.map((m) => shortestThrough(Number(m.slice(1)))));
          expect(c.path.length).toBe(best);
        }
        // Blocked: exactly the modules off the cycles that can reach one.
        const reaches = (s: number) => {
          const seen = new Set([s]);
          const q = [s];
          while (q.length) {
            for (const w of out(q.shift() as number)) {
              if (seen.has(w)) continue;
              seen.add(w);
              q.push(w);
            }
          }
          return [...seen].some((x) => onCycle[x]);
        };
        const blocked = Array.from({ length: n }, (_, i) => i)
          .filter((i) => !onCycle[i] && reaches(i))
          .map((i) => `n${i}`);
        expect(r.partial?.blocked).toEqual(blocked.sort());
        const planned = r.partial?.plan.order ?? [];
        expect(planned.length + blocked.length + reported.size).toBe(n);
      }),
      { numRuns: 500 },
    );
  });
});
