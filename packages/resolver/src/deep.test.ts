import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from './catalog.js';
import { resolve } from './resolve.js';

/** m0 → m1 → … → m(depth-1), each one version depending on the next. */
function chain(depth: number, last: Record<string, string> = {}): CatalogEntry[] {
  const entries: CatalogEntry[] = [];
  for (let i = 0; i < depth; i++) {
    entries.push({
      name: `m${String(i).padStart(6, '0')}`,
      version: '1.0.0',
      dependencies: i + 1 < depth ? { [`m${String(i + 1).padStart(6, '0')}`]: '^1.0.0' } : last,
    });
  }
  return entries;
}

describe('deep graphs (no recursion anywhere)', () => {
  it('resolves and plans a chain 100,000 deep', () => {
    const r = resolve({ roots: { m000000: '*' }, catalog: chain(100_000) });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.plan.size).toBe(100_000);
    expect(r.plan.waves).toHaveLength(100_000);
    expect(r.plan.order[0]).toBe('m099999');
    expect(r.plan.longestPath('m099999')).toBe(100_000);
  });

  it('explains a conflict at the bottom of a chain 100,000 deep', () => {
    const catalog = [...chain(100_000, { z: '^1.0.0' }), { name: 'z', version: '1.0.0' }, { name: 'z', version: '2.0.0' }];
    const r = resolve({ roots: { m000000: '*', z: '^2.0.0' }, catalog });
    if (r.ok) throw new Error('expected a conflict');
    expect(r.error.code).toBe('DEPENDENCY_UNSATISFIED');
    const lines = r.explanation.lines;
    expect(lines[0]).toMatch(/^Because every version of m\d{6} depends on m\d{6} \^1\.0\.0 which depends on/);
    expect(lines.at(-1)).toBe('So, because the host requires both m000000 and z ^2.0.0, resolution failed.');
    expect(r.explanation.text).toContain('z ^1.0.0');
  });

  it('reports a cycle 100,000 long', () => {
    const catalog = chain(100_000, { m000000: '^1.0.0' });
    const r = resolve({ roots: { m000000: '*' }, catalog });
    if (r.ok) throw new Error('expected a cycle');
    // A ring has exactly one cycle; the first search finds it, and the budget stops the rest.
    expect(r.cycles?.[0]?.path).toHaveLength(100_000);
    expect(r.cycles?.[0]?.modules).toHaveLength(100_000);
    expect(r.cycles?.[0]?.shortest).toBe(false);
  });
});
