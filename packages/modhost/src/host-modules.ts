import type { AnyModuleDefinition, ModuleApi, ModuleConfigLayer } from '@modhost/core';
import type { Host } from './host-types.js';

/** The modules a host knows by type: module name → its definition's type. */
export type HostModules = Readonly<Record<string, AnyModuleDefinition>>;

/**
 * The module map of `createHost({ modules })`: each definition under its name. A definition made by `defineModule`
 * has its name as a literal type; one whose name is a plain `string` (built at runtime) is left out, so the host
 * treats it like a folder module: known by name at runtime only.
 */
export type ModulesOf<Ms extends readonly AnyModuleDefinition[]> = {
  [K in Ms[number]['name'] as string extends K ? never : K]: Extract<Ms[number], { readonly name: K }>;
};

/**
 * A module name a host accepts: a known one (offered by completion and checked), or any other string, because
 * folders (`modulesDir`, `install(dir)`) and `install(definition)` add modules the types cannot see.
 */
export type ModuleName<M extends HostModules> = (keyof M & string) | (string & NonNullable<unknown>);

/** The values `host.configure(name, …)` takes: for a known module, any part of its schema's input; else any object. */
export type ConfigValuesFor<M extends HostModules, N extends string> = N extends keyof M ? ModuleConfigLayer<M[N]> : Readonly<Record<string, unknown>>;

/**
 * A {@link Host} typed by the modules it was given as definitions (what `createHost({ modules })` returns), and still
 * a `Host` wherever one is expected. For a known module (its name in `M`), `configure` checks `values` against its
 * config schema's input (a misspelt key or a wrong type does not compile) and `api` returns the type its `activate`
 * returns. Any other name, such as a folder module's or one installed later, is accepted as on `Host`, untyped
 * (`Record<string, unknown>` values, `unknown` API): the types cannot see `modulesDir` or `install()`.
 */
export interface TypedHost<M extends HostModules> extends Host {
  enable(name: ModuleName<M>, options?: { tenant?: string }): Promise<void>;
  disable(name: ModuleName<M>, options?: { tenant?: string }): Promise<void>;
  configure<N extends ModuleName<M>>(name: N, values: ConfigValuesFor<M, N>, options?: { tenant?: string }): Promise<void>;
  /** The API of an active known module, typed from its definition (`undefined` when it is not active). */
  api<N extends keyof M & string>(name: N): ModuleApi<M[N]> | undefined;
  /** The API of any active module, as the type you name (default `unknown`). */
  api<T = unknown>(name: string): T | undefined;
}
