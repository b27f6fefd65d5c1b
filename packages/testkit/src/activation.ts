// `@modhost/testkit/activation`: an activator wired the way the activation tests need it. A subpath entry of its
// own, so the main entry stays `@modhost/core`-only; it needs the optional peers `@modhost/activation` and
// `@modhost/resolver`.
import {
  type ActivationReport,
  type Activator,
  type ActivatorOptions,
  type BoundHandler,
  createActivator,
  createRouter,
  type Router,
} from '@modhost/activation';
import { type AnyModuleDefinition, createRegistry, type HttpMethod, type Registry, type RouteResponse } from '@modhost/core';
import { type Plan, resolve } from '@modhost/resolver';
import { createFakeClock, type FakeClock } from './fake-clock.js';
import { silentLogger } from './silent-logger.js';

/**
 * Options for {@link createActivationHarness}: every {@link ActivatorOptions} field but `registry` (the harness
 * makes one), with test defaults: a fresh fake clock, a fresh router and a silent logger.
 */
export interface ActivationHarnessOptions extends Omit<ActivatorOptions, 'registry' | 'clock' | 'router'> {
  /** The clock of the registry and the activator. Default: a fresh `createFakeClock()`. */
  clock?: FakeClock;
  /** Where module routes are mounted. Default: a fresh `createRouter()`. */
  router?: Router<BoundHandler>;
  /**
   * Activates the default roots (see {@link ActivationHarness.plan}) before the harness is returned, and throws
   * with the report when that activation is not `ok`. Default `false`.
   */
  activate?: boolean;
}

/** What a {@link ActivationHarness.call} sends besides method and path. */
export interface HarnessRequest {
  /** The stable request key a canary splits traffic by. */
  key?: string;
  /** Default `{}`. */
  query?: Readonly<Record<string, string>>;
  /** Default `{}`. */
  headers?: Readonly<Record<string, string>>;
  /** The request body, if any. */
  body?: unknown;
}

/** A registry holding the given module versions, an activator over it and the router it mounts routes on. */
export interface ActivationHarness {
  /** The fake clock everything runs on. */
  readonly clock: FakeClock;
  /** The registry every given definition was registered in. */
  readonly registry: Registry;
  /** The router the activator mounts module routes on. */
  readonly router: Router<BoundHandler>;
  /** The activator under test. */
  readonly activator: Activator;
  /**
   * Resolves `roots` (`{ name: range }`) against every given definition; throws when that fails. Default roots:
   * the first definition given of each module name, at its exact version, so later versions of the same name
   * are registered (ready for `activator.upgrade`) but not started.
   */
  plan(roots?: Readonly<Record<string, string>>): Plan;
  /** Activates {@link ActivationHarness.plan | plan(roots)} and returns the activator's report. */
  activate(roots?: Readonly<Record<string, string>>): Promise<ActivationReport>;
  /**
   * Sends a request through the router (as the host's HTTP listener does, counted in flight, held during a
   * quiesce hand-off); `undefined` when no route matches. `path` is the full path, e.g. `/tasks/list`.
   */
  call(method: string, path: string, init?: HarnessRequest): Promise<RouteResponse | undefined>;
}

/**
 * Registers `defs` in a registry on a fake clock and builds an activator (with a router and a silent logger) over
 * it: the set-up most activation tests share.
 *
 * @example
 * ```ts
 * const { activate, call, activator } = await createActivationHarness([tasksV1, tasksV2])
 * await activate()                          // tasks 1.0.0: the first version given
 * await activator.upgrade('tasks', '1.1.0')
 * const res = await call('GET', '/tasks/')
 * ```
 */
export async function createActivationHarness(defs: readonly AnyModuleDefinition[], options: ActivationHarnessOptions = {}): Promise<ActivationHarness> {
  const { clock = createFakeClock(), router = createRouter<BoundHandler>(), activate: activateFirst = false, ...activatorOptions } = options;
  const registry = createRegistry({ clock });
  for (const d of defs) await registry.register(d);
  const activator = createActivator({ logger: silentLogger, ...activatorOptions, registry, clock, router });

  const defaultRoots = (): Record<string, string> => {
    const roots: Record<string, string> = {};
    for (const d of defs) if (!Object.hasOwn(roots, d.name)) roots[d.name] = d.version;
    return roots;
  };
  const plan = (roots: Readonly<Record<string, string>> = defaultRoots()): Plan => {
    const result = resolve({ roots, catalog: defs });
    if (!result.ok) throw new Error(result.error.message);
    return result.plan;
  };
  const activate = (roots?: Readonly<Record<string, string>>) => activator.activate(plan(roots));
  const call = (method: string, path: string, init: HarnessRequest = {}) =>
    router.handle(
      method,
      path,
      (d) =>
        d.handler({
          method: method as HttpMethod,
          path,
          params: d.params,
          query: init.query ?? {},
          headers: init.headers ?? {},
          ...(init.body === undefined ? {} : { body: init.body }),
        }),
      init.key,
    );

  if (activateFirst) {
    const report = await activate();
    if (!report.ok) throw new Error(`createActivationHarness: the first activation failed: ${JSON.stringify(report)}`);
  }
  return { clock, registry, router, activator, plan, activate, call };
}
