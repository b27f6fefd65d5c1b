import { type AnyModuleDefinition, defineModule, type ModuleDefinition } from '@modhost/core';

/**
 * Options for {@link fixtureModule}: any definition field. `dependencies` may also be a list of names, each
 * meaning `^1.0.0` of that module.
 */
export type FixtureModuleOptions = Partial<Omit<ModuleDefinition, 'name' | 'version' | 'dependencies'>> & {
  /** `{ name: range }`, or names that each mean `^1.0.0`. */
  dependencies?: Readonly<Record<string, string>> | readonly string[];
};

/**
 * A small valid module for tests: `fixtureModule('reports', '1.0.0', { dependencies: { tasks: '^1.0.0' } })`,
 * or `fixtureModule('reports', '1.0.0', { dependencies: ['tasks'] })` for the same.
 * Its `activate` returns `{ name, version }` so dependents can see which version they got.
 */
export function fixtureModule(name: string, version = '1.0.0', options: FixtureModuleOptions = {}): AnyModuleDefinition {
  const { dependencies, ...rest } = options;
  const ranges = isNameList(dependencies) ? Object.fromEntries(dependencies.map((d) => [d, '^1.0.0'])) : dependencies;
  return defineModule({
    name,
    version,
    activate: () => ({ name, version }),
    ...(ranges === undefined ? {} : { dependencies: ranges }),
    ...rest,
  } as ModuleDefinition);
}

const isNameList = (deps: FixtureModuleOptions['dependencies']): deps is readonly string[] => Array.isArray(deps);

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
  return Object.entries(graph).map(([name, deps]) => fixtureModule(name, '1.0.0', deps.length > 0 ? { dependencies: deps } : {}));
}
