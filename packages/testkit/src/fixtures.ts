import { type AnyModuleDefinition, defineModule, type ModuleDefinition } from '@modhost/core';

/** Options for {@link fixtureModule}: any definition field, plus shorthand for dependencies. */
export type FixtureModuleOptions = Partial<Omit<ModuleDefinition, 'name' | 'version'>>;

/**
 * A small valid module for tests: `fixtureModule('reports', '1.0.0', { dependencies: { tasks: '^1.0.0' } })`.
 * Its `activate` returns `{ name, version }` so dependents can see which version they got.
 */
export function fixtureModule(name: string, version = '1.0.0', options: FixtureModuleOptions = {}): AnyModuleDefinition {
  return defineModule({
    name,
    version,
    activate: () => ({ name, version }),
    ...options,
  } as ModuleDefinition);
}

/**
 * A set of module definitions with dependencies, given as `name → dependency names`.
 * Every module is `1.0.0` and depends on `^1.0.0` of each listed module.
 *
 * @example
 * ```ts
 * const diamond = fixtureGraph({ app: ['left', 'right'], left: ['base'], right: ['base'], base: [] })
 * ```
 */
export function fixtureGraph(graph: Readonly<Record<string, readonly string[]>>): AnyModuleDefinition[] {
  return Object.entries(graph).map(([name, deps]) =>
    fixtureModule(name, '1.0.0', deps.length > 0 ? { dependencies: Object.fromEntries(deps.map((d) => [d, '^1.0.0'])) } : {}),
  );
}
