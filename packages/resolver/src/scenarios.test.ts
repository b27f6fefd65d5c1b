import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from './catalog.js';
import { type ResolveFailure, type ResolveSuccess, resolve } from './resolve.js';

const e = (name: string, version: string, dependencies: Record<string, string> = {}): CatalogEntry => ({ name, version, dependencies });
const ok = (r: ReturnType<typeof resolve>) => {
  if (!r.ok) throw new Error(`expected success, got ${r.error.message}`);
  return r as ResolveSuccess;
};
const fail = (r: ReturnType<typeof resolve>) => {
  if (r.ok) throw new Error(`expected failure, got ${JSON.stringify(r.selection)}`);
  return r as ResolveFailure;
};

// The six scenarios of dart-lang/pub doc/solver.md, in our model ("root" is the host's roots).
describe("pub's solver scenarios", () => {
  it('no conflicts: picks the versions the constraints allow', () => {
    const r = ok(resolve({ roots: { foo: '^1.0.0' }, catalog: [e('foo', '1.0.0', { bar: '^1.0.0' }), e('bar', '1.0.0'), e('bar', '2.0.0')] }));
    expect(r.selection).toEqual({ foo: '1.0.0', bar: '1.0.0' });
    expect(r.strategy).toBe('fast-path');
    expect(r.plan.waves).toEqual([['bar'], ['foo']]);
  });

  it('avoids a conflict during decision making', () => {
    const r = ok(
      resolve({
        roots: { foo: '^1.0.0', bar: '^1.0.0' },
        catalog: [e('foo', '1.1.0', { bar: '^2.0.0' }), e('foo', '1.0.0'), e('bar', '1.0.0'), e('bar', '1.1.0'), e('bar', '2.0.0')],
      }),
    );
    expect(r.selection).toEqual({ foo: '1.0.0', bar: '1.1.0' });
    expect(r.strategy).toBe('solver');
  });

  it('performs conflict resolution', () => {
    const r = ok(
      resolve({ roots: { foo: '>=1.0.0' }, catalog: [e('foo', '2.0.0', { bar: '^1.0.0' }), e('foo', '1.0.0'), e('bar', '1.0.0', { foo: '^1.0.0' })] }),
    );
    expect(r.selection).toEqual({ foo: '1.0.0' });
  });

  it('resolves a conflict with a partial satisfier', () => {
    const r = ok(
      resolve({
        roots: { foo: '^1.0.0', target: '^2.0.0' },
        catalog: [
          e('foo', '1.1.0', { left: '^1.0.0', right: '^1.0.0' }),
          e('foo', '1.0.0'),
          e('left', '1.0.0', { shared: '>=1.0.0' }),
          e('right', '1.0.0', { shared: '<2.0.0' }),
          e('shared', '2.0.0'),
          e('shared', '1.0.0', { target: '^1.0.0' }),
          e('target', '2.0.0'),
          e('target', '1.0.0'),
        ],
      }),
    );
    expect(r.selection).toEqual({ foo: '1.0.0', target: '2.0.0' });
    expect(r.stats?.conflicts).toBeGreaterThan(0);
  });

  it('reports a linear error', () => {
    const r = fail(
      resolve({
        roots: { foo: '^1.0.0', baz: '^1.0.0' },
        catalog: [e('foo', '1.0.0', { bar: '^2.0.0' }), e('bar', '2.0.0', { baz: '^3.0.0' }), e('baz', '1.0.0'), e('baz', '3.0.0')],
      }),
    );
    expect(r.error.code).toBe('DEPENDENCY_UNSATISFIED');
    expect(r.explanation.text).toBe(
      [
        'Because every version of foo depends on bar ^2.0.0 which depends on baz ^3.0.0, every version of foo requires baz ^3.0.0.',
        'So, because the host requires both baz ^1.0.0 and foo ^1.0.0, resolution failed.',
      ].join('\n'),
    );
    expect(r.hints).toEqual(['baz 3.0.0 would work with everything else: the host asks for baz ^1.0.0; allow 3.0.0, e.g. "^3.0.0"']);
  });

  it('reports a branching error with a numbered line it refers back to', () => {
    const r = fail(
      resolve({
        roots: { foo: '^1.0.0' },
        catalog: [
          e('foo', '1.0.0', { a: '^1.0.0', b: '^1.0.0' }),
          e('foo', '1.1.0', { x: '^1.0.0', y: '^1.0.0' }),
          e('a', '1.0.0', { b: '^2.0.0' }),
          e('b', '1.0.0'),
          e('b', '2.0.0'),
          e('x', '1.0.0', { y: '^2.0.0' }),
          e('y', '1.0.0'),
          e('y', '2.0.0'),
        ],
      }),
    );
    expect(r.explanation.text).toBe(
      [
        '    Because foo 1.0.0 depends on a ^1.0.0 which depends on b ^2.0.0, foo 1.0.0 requires b ^2.0.0.',
        '(1) So, because foo 1.0.0 depends on b ^1.0.0, foo 1.0.0 is forbidden.',
        '',
        '    Because foo 1.1.0 depends on x ^1.0.0 which depends on y ^2.0.0, foo 1.1.0 requires y ^2.0.0.',
        '    And because foo 1.1.0 depends on y ^1.0.0, foo 1.1.0 is forbidden.',
        '    And because foo 1.0.0 is forbidden (1), every version of foo is forbidden.',
        '    So, because the host requires foo ^1.0.0, resolution failed.',
      ].join('\n'),
    );
  });
});

describe('explanations in our model', () => {
  const billing = [
    e('billing', '1.3.0', { 'core-auth': '^1.0.0 || ^2.0.0' }),
    e('billing', '1.4.0', { 'core-auth': '^1.3.0' }),
    e('ui-kit', '2.0.0', { 'core-auth': '^2.0.0' }),
    e('ui-kit', '2.1.0', { 'core-auth': '^2.0.0' }),
    e('core-auth', '1.3.0'),
    e('core-auth', '2.0.0'),
  ];

  it('finds the version that works when the newest does not', () => {
    const r = ok(resolve({ roots: { billing: '^1.0.0', 'ui-kit': '>=2.0.0' }, catalog: billing }));
    expect(r.selection).toEqual({ billing: '1.3.0', 'core-auth': '2.0.0', 'ui-kit': '2.1.0' });
  });

  it('explains a conflict between two modules and hints at the version that would work', () => {
    const r = fail(
      resolve({
        roots: [
          { name: 'billing', range: '^1.4.0', source: 'enabled for tenant acme' },
          { name: 'ui-kit', range: '>=2.0.0' },
        ],
        catalog: billing,
      }),
    );
    expect(r.explanation.text).toBe(
      [
        'Because billing ^1.4.0 depends on core-auth ^1.3.0 and every version of ui-kit depends on core-auth ^2.0.0, billing ^1.4.0 is incompatible with every version of ui-kit.',
        'So, because the host requires both billing ^1.4.0 and ui-kit >=2.0.0, resolution failed.',
      ].join('\n'),
    );
    expect(r.hints).toEqual([
      'billing 1.3.0 would work with everything else: the host asks for billing ^1.4.0 (enabled for tenant acme); allow 1.3.0, e.g. "^1.3.0"',
    ]);
    expect(r.error.message).toContain('Hint: billing 1.3.0 would work');
    const facts = Object.values(r.explanation.tree.nodes).flatMap((n) => (n.fact?.type === 'dependency' ? [n.fact] : []));
    expect(facts).toContainEqual({
      type: 'dependency',
      module: 'billing',
      versions: '^1.4.0',
      dependency: 'core-auth',
      range: '^1.3.0',
      field: 'dependencies',
    });
    expect(facts).toContainEqual({ type: 'dependency', module: '(host)', versions: '', dependency: 'billing', range: '^1.4.0', field: 'root' });
  });

  it('names a missing module and where it was asked for', () => {
    const r = fail(resolve({ roots: { app: '*' }, catalog: [e('app', '1.0.0', { ghost: '^1.0.0' })] }));
    expect(r.error.code).toBe('DEPENDENCY_UNSATISFIED');
    expect(r.explanation.text).toBe(
      'Because every version of app depends on ghost ^1.0.0 (no module named ghost is registered) and the host requires app, resolution failed.',
    );
    expect(r.hints).toEqual(["register a module named ghost, or remove it from app's dependencies"]);
  });

  it('says which versions exist when a range matches none of them', () => {
    const r = fail(resolve({ roots: { app: '*' }, catalog: [e('app', '1.0.0', { lib: '^3.0.0' }), e('lib', '1.0.0'), e('lib', '2.0.0')] }));
    expect(r.explanation.text).toContain('every version of app depends on lib ^3.0.0 (no registered version matches; lib has 1.0.0, 2.0.0)');
  });

  it('reports HOST_INCOMPATIBLE with the engines range and the host version', () => {
    const r = fail(
      resolve({
        host: '2.0.0',
        roots: { app: '*' },
        catalog: [
          { name: 'app', version: '1.0.0', engines: { host: '^3.0.0' } },
          { name: 'app', version: '1.1.0', engines: { host: '^3.0.0' } },
        ],
      }),
    );
    expect(r.error.code).toBe('HOST_INCOMPATIBLE');
    expect(r.explanation.text).toBe(
      'Because every version of app needs host ^3.0.0 (engines.host; this host is 2.0.0) and the host requires app, resolution failed.',
    );
  });

  it('skips host-incompatible versions when another fits', () => {
    const r = ok(
      resolve({
        host: '2.5.0',
        roots: { app: '*' },
        catalog: [
          { name: 'app', version: '1.0.0', engines: { host: '^2.0.0' } },
          { name: 'app', version: '2.0.0', engines: { host: '^3.0.0' } },
        ],
      }),
    );
    expect(r.selection).toEqual({ app: '1.0.0' });
  });

  it('reports an invalid range as RANGE_INVALID naming the module and field', () => {
    const r = fail(resolve({ roots: { app: '*' }, catalog: [e('app', '1.0.0', { a: 'one point two' }), e('a', '1.0.0')] }));
    expect(r.error.code).toBe('RANGE_INVALID');
    expect(r.error.message).toContain('app 1.0.0 has an invalid range "one point two" in dependencies.a');
    expect(r.error.details).toMatchObject({ module: 'app', version: '1.0.0', field: 'dependencies', dependency: 'a' });
    const root = fail(resolve({ roots: [{ name: 'app', range: '^^1', source: 'tenant acme' }], catalog: [e('app', '1.0.0')] }));
    expect(root.error.code).toBe('RANGE_INVALID');
    expect(root.error.message).toContain('root module "app" (tenant acme)');
    const hostRange = fail(resolve({ host: '1.0.0', roots: { app: '*' }, catalog: [{ name: 'app', version: '1.0.0', engines: { host: 'soon' } }] }));
    expect(hostRange.error.message).toContain('in engines.host');
  });

  it('reports an unknown root as MODULE_NOT_FOUND and a bad host version as RANGE_INVALID', () => {
    expect(fail(resolve({ roots: { nope: '*' }, catalog: [] })).error.code).toBe('MODULE_NOT_FOUND');
    expect(fail(resolve({ host: 'v2', roots: {}, catalog: [] })).error.code).toBe('RANGE_INVALID');
  });

  it('excludes prereleases unless a range names one, as node-semver does', () => {
    const catalog = [e('lib', '1.0.0'), e('lib', '1.1.0-beta.1'), e('lib', '2.0.0-rc.1')];
    expect(ok(resolve({ roots: { lib: '^1.0.0' }, catalog })).selection).toEqual({ lib: '1.0.0' });
    expect(ok(resolve({ roots: { lib: '>=1.1.0-beta.0 <2.0.0' }, catalog })).selection).toEqual({ lib: '1.1.0-beta.1' });
    expect(ok(resolve({ roots: { lib: '^2.0.0-rc.0' }, catalog })).selection).toEqual({ lib: '2.0.0-rc.1' });
  });

  it('keeps running versions that still satisfy everything', () => {
    const catalog = [e('app', '1.0.0', { lib: '^1.0.0' }), e('app', '1.1.0', { lib: '^1.0.0' }), e('lib', '1.0.0'), e('lib', '1.5.0')];
    expect(ok(resolve({ roots: { app: '^1.0.0' }, catalog })).selection).toEqual({ app: '1.1.0', lib: '1.5.0' });
    expect(ok(resolve({ roots: { app: '^1.0.0' }, catalog, preferred: { app: '1.0.0', lib: '1.0.0' } })).selection).toEqual({ app: '1.0.0', lib: '1.0.0' });
    // A preferred version that no longer fits is replaced.
    expect(ok(resolve({ roots: { app: '^1.1.0' }, catalog, preferred: { app: '1.0.0', lib: '1.0.0' } })).selection).toEqual({ app: '1.1.0', lib: '1.0.0' });
  });
});

describe('optional dependencies', () => {
  it('uses an optional dependency that resolves', () => {
    const r = ok(
      resolve({ roots: { app: '*' }, catalog: [{ name: 'app', version: '1.0.0', optionalDependencies: { search: '^1.0.0' } }, e('search', '1.2.0')] }),
    );
    expect(r.selection).toEqual({ app: '1.0.0', search: '1.2.0' });
    expect(r.plan.dependenciesOf('app')).toEqual(['search']);
    expect(r.notes).toEqual([]);
  });

  it('leaves out, with a note, an optional dependency that is missing or does not fit', () => {
    const r = ok(
      resolve({
        roots: { app: '*', search: '^2.0.0' },
        catalog: [{ name: 'app', version: '1.0.0', optionalDependencies: { search: '^1.0.0', charts: '*' } }, e('search', '1.0.0'), e('search', '2.0.0')],
      }),
    );
    expect(r.selection).toEqual({ app: '1.0.0', search: '2.0.0' });
    expect(r.notes.map((n) => n.message)).toEqual([
      'app 1.0.0 runs without its optional dependency charts *: no module named charts is registered',
      'app 1.0.0 runs without its optional dependency search ^1.0.0: search 2.0.0 was chosen for the modules that require it',
    ]);
    expect(r.plan.dependenciesOf('app')).toEqual([]);
  });

  it('includes an optional dependency through the solver when the fast path cannot', () => {
    const r = ok(
      resolve({
        roots: { app: '*', lib: '*' },
        catalog: [
          { name: 'app', version: '1.0.0', optionalDependencies: { extra: '^1.0.0' } },
          e('extra', '1.0.0', { lib: '^1.0.0' }),
          e('lib', '1.0.0'),
          e('lib', '2.0.0', { other: '^9.0.0' }),
        ],
      }),
    );
    expect(r.strategy).toBe('solver');
    expect(r.selection).toEqual({ app: '1.0.0', extra: '1.0.0', lib: '1.0.0' });
  });
});

describe('cycles', () => {
  const catalog = [
    e('app', '1.0.0', { a: '^1.0.0' }),
    e('a', '1.0.0', { b: '^1.0.0' }),
    e('b', '1.0.0', { c: '^1.0.0', a: '^1.0.0' }),
    e('c', '1.0.0', { a: '^1.0.0' }),
    e('solo', '1.0.0'),
    e('x', '1.0.0', { y: '>=1.0.0' }),
    e('y', '1.0.0', { x: '>=1.0.0' }),
  ];

  it('reports the exact shortest cycle with ranges, what it blocks, and plans the rest', () => {
    const r = fail(resolve({ roots: { app: '*', solo: '*', x: '*' }, catalog }));
    expect(r.error.code).toBe('DEPENDENCY_CYCLE');
    expect(r.cycles).toEqual([
      {
        modules: ['a', 'b', 'c'],
        shortest: true,
        path: [
          { module: 'a', version: '1.0.0', dependsOn: 'b', range: '^1.0.0', field: 'dependencies' },
          { module: 'b', version: '1.0.0', dependsOn: 'a', range: '^1.0.0', field: 'dependencies' },
        ],
      },
      {
        modules: ['x', 'y'],
        shortest: true,
        path: [
          { module: 'x', version: '1.0.0', dependsOn: 'y', range: '>=1.0.0', field: 'dependencies' },
          { module: 'y', version: '1.0.0', dependsOn: 'x', range: '>=1.0.0', field: 'dependencies' },
        ],
      },
    ]);
    expect(r.partial?.blocked).toEqual(['app']);
    expect(r.partial?.plan.order).toEqual(['solo']);
    expect(r.partial?.selection).toEqual({ solo: '1.0.0' });
    expect(r.explanation.text).toBe(
      [
        'Cycle 1: a, b, c depend on each other, so none of them can start first. The shortest cycle:',
        '  a 1.0.0 depends on b ^1.0.0',
        '  b 1.0.0 depends on a ^1.0.0',
        'Cycle 2: x, y depend on each other, so none of them can start first. The shortest cycle:',
        '  x 1.0.0 depends on y >=1.0.0',
        '  y 1.0.0 depends on x >=1.0.0',
        'Blocked because they depend on a cycle: app.',
        'Everything else (1 module) can still activate.',
      ].join('\n'),
    );
  });

  it('finds a self-dependency (possible in a catalog built from outside)', () => {
    const r = fail(resolve({ roots: { me: '*' }, catalog: [e('me', '1.0.0', { me: '*' })] }));
    expect(r.cycles?.[0]?.modules).toEqual(['me']);
  });
});
