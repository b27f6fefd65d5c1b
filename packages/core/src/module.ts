import type { InferSchemaInput, InferSchemaOutput, StandardSchemaV1 } from './standard-schema.js';

/** How a module's in-memory state crosses a hot swap. */
export type StateMode = 'stateless' | 'snapshot' | 'quiesce';

/** HTTP methods a route may declare (upper case). */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

/** A structured logger handed to a module. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose records also carry `bindings` (when the logger supports it; see `childLogger`). */
  child?(bindings: Readonly<Record<string, unknown>>): Logger;
}

/** A module's own key-value storage, already namespaced to it. Values are JSON data. */
export interface ModuleStorage {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  keys(prefix?: string): Promise<string[]>;
}

/**
 * Aborts when the module version's context is revoked: it stopped, its start failed, or its start timed out.
 * An `AbortSignal` fits; pass it on to `fetch` or check `aborted` in long work.
 */
export interface StopSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * What a module receives in its hooks: the only door to the outside.
 * Hosts build it (see `@modhost/activation` and `@modhost/sandbox`); what was not granted is absent.
 */
export interface ModuleContext<TConfig = unknown> {
  readonly module: { readonly name: string; readonly version: string };
  /** The tenant this instance serves, or `undefined` for host-wide work. */
  readonly tenant: string | undefined;
  /**
   * The effective config (defaults → host → tenant), validated by the module's schema. Live: it follows config
   * changes while the version runs (read it when you need a value rather than copying it at activate).
   */
  readonly config: Readonly<TConfig>;
  readonly logger: Logger;
  readonly storage: ModuleStorage;
  /**
   * Public APIs of the module's dependencies, by module name (`unknown`: a range string carries no type). For a typed
   * API, use {@link ModuleContext.dep} with the dependency's definition: `ctx.dep<typeof tasks>('tasks')`.
   */
  readonly deps: Readonly<Record<string, unknown>>;
  /**
   * A dependency's public API, typed from its definition: `ctx.dep<typeof tasks>('tasks').add('x')`. The same value as
   * `ctx.deps.tasks` (it follows hot swaps). Throws `DEPENDENCY_UNSATISFIED` when `name` is not a dependency that
   * resolved (an optional one that did not, or a name the module does not declare).
   */
  dep<M extends AnyModuleDefinition = never>(name: string): [M] extends [never] ? unknown : ModuleApi<M>;
  /**
   * Host services this module was granted, by service name. `tenant` is the one hosts built by `createHost` always
   * offer (see {@link TenantService}); the rest are the host application's own, `unknown` until you cast them.
   */
  readonly services: Readonly<Record<string, unknown>> & { readonly tenant?: TenantService<TConfig> };
  /**
   * The effective config (defaults → host → tenant) of a tenant, read now and typed by the module's schema:
   * `await ctx.tenantConfig('acme')`. With no argument, `ctx.tenant`'s (host-wide when that is `undefined`). Use it
   * where `ctx.config` is not that tenant's: jobs, activate, API calls from dependents. Sensitive values are included:
   * never log them. Rejects when the host offers no `tenant` service (a bare activator without one).
   */
  tenantConfig(tenant?: string): Promise<Readonly<TConfig>>;
  /** Aborts when this version's context is revoked (see {@link StopSignal}). Absent in contexts built without one. */
  readonly signal?: StopSignal;
}

/** The built-in `tenant` host service (`ctx.services.tenant`): prefer `ctx.tenantConfig()`, which is the same call. */
export interface TenantService<TConfig = unknown> {
  /** The effective config of `tenant` (host-wide without one), as the module's schema outputs it. */
  config(tenant?: string): Promise<Readonly<TConfig>>;
}

/** A framework-agnostic request as route handlers see it. */
export interface RouteRequest {
  readonly method: HttpMethod;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** The tenant the request is for (resolved by the host app, never taken from the client unless it opted in). */
  readonly tenant?: string;
  /** Who asked: what the app's `authenticate` returned. Absent for an anonymous caller. */
  readonly principal?: unknown;
  /** The request's id (the client's `x-request-id` or trace id when well formed, else a new one): log it. */
  readonly requestId?: string;
  /**
   * The W3C `traceparent` of the host's span for this request, when the host traces (see docs/operations.md): pass it
   * to your own tracer or to outgoing calls, and your spans join the request's trace.
   */
  readonly traceparent?: string;
}

/** What a route handler returns: a body with an optional status and headers. */
export interface RouteResponse {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** A route a module contributes. `path` may hold `:params`. */
export interface RouteDefinition<TConfig = unknown> {
  readonly method: HttpMethod;
  readonly path: string;
  /** A permission the caller must hold (app-defined), if any: the app's `authorize` decides, and without one it is denied. */
  readonly permission?: string;
  /**
   * The body media types the route takes (`'application/json'`, `'text/*'`): a request with a body of another type
   * answers 415 before the handler runs. Default: any.
   */
  readonly accepts?: string | readonly string[];
  /**
   * Called with the request and a ctx bound to the request's tenant (`ctx.tenant`, that tenant's config, grants
   * and, with `storageScope: 'tenant'`, storage).
   */
  readonly handler: (req: RouteRequest, ctx: ModuleContext<TConfig>) => RouteResponse | Promise<RouteResponse>;
}

/** A background job a module contributes. */
export interface JobDefinition<TConfig = unknown> {
  readonly name: string;
  /** A cron expression, or a fixed interval. */
  readonly schedule: string | { readonly everyMs: number };
  /** Per-run timeout in milliseconds. */
  readonly timeout?: number;
  /** Retries after a failed run. */
  readonly retries?: number;
  readonly run: (ctx: ModuleContext<TConfig>) => void | Promise<void>;
}

/** A UI page a module contributes. */
export interface UiPage {
  readonly id: string;
  readonly path: string;
  readonly title: string;
  readonly permission?: string;
}

/** A navigation entry a module contributes. */
export interface UiNavigationEntry {
  readonly label: string;
  readonly path: string;
  readonly order?: number;
  readonly icon?: string;
  readonly permission?: string;
}

/** UI contributions. */
export interface UiContributions {
  readonly pages?: readonly UiPage[];
  readonly navigation?: readonly UiNavigationEntry[];
}

/** One ordered migration. `down` runs only for a batch whose version never served. */
export interface MigrationDefinition<TConfig = unknown> {
  readonly name: string;
  readonly up: (ctx: ModuleContext<TConfig>) => void | Promise<void>;
  readonly down?: (ctx: ModuleContext<TConfig>) => void | Promise<void>;
}

/** What `health()` may return: a boolean, or a status with detail. */
export type HealthResult = boolean | { readonly status: 'ok' | 'degraded' | 'fail'; readonly detail?: string };

/** Makes every property optional, recursively (for config defaults and layers). */
export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

type Prev = [never, 0, 1, 2, 3];
/** Dotted paths into a config type, for `config.sensitive` completion (four levels deep). */
export type ConfigPath<T, D extends number = 4> = [D] extends [never]
  ? never
  : T extends readonly unknown[]
    ? never
    : T extends object
      ? {
          [K in keyof T & string]: K | (T[K] extends object ? `${K}.${ConfigPath<T[K], Prev[D]>}` : never);
        }[keyof T & string]
      : never;

/** The config section of a module definition. */
export interface ConfigDefinition<S extends StandardSchemaV1> {
  /** Any Standard Schema (zod, valibot, arktype, …). */
  readonly schema: S;
  /** Values used when neither the host nor the tenant sets one. */
  readonly defaults?: DeepPartial<InferSchemaInput<S>>;
  /** Named value sets a host can apply. */
  readonly presets?: Readonly<Record<string, DeepPartial<InferSchemaInput<S>>>>;
  /** Dotted paths whose values are masked on read and never appear in events or errors. */
  readonly sensitive?: readonly ConfigPath<InferSchemaOutput<S>>[];
}

/** A config schema that accepts nothing but an empty object: the default when a module declares none. */
export type NoConfig = StandardSchemaV1<Record<string, never>, Record<string, never>>;

/** Catalogue data about a module, for registries and UIs; the host runs nothing from it. */
export interface ModuleMetadata {
  /** An `http(s)` URL where people read about the module. */
  readonly homepage?: string;
  /** Where its source lives: a URL, or a shorthand such as `github:owner/repo`. */
  readonly repository?: string;
  /** Search terms: at most 20 lower-case words (`billing`, `multi-tenant`), each at most 50 characters. */
  readonly tags?: readonly string[];
  /** One catalogue category, at most 50 characters. */
  readonly category?: string;
}

/**
 * The full definition of a module: identity, compatibility, dependencies, permissions,
 * config, contributions and hooks. Build one with {@link defineModule}.
 */
export interface ModuleDefinition<S extends StandardSchemaV1 = NoConfig, TApi = unknown> {
  /** npm-style name: lower case, optionally scoped (`@acme/billing`). */
  readonly name: string;
  /** A semver.org version. */
  readonly version: string;
  /** A human-readable name for catalogues and UIs (at most 100 characters); `name` stays the identifier. */
  readonly displayName?: string;
  readonly description?: string;
  readonly author?: string;
  readonly license?: string;
  /** Catalogue data: homepage, repository, tags, category. */
  readonly metadata?: ModuleMetadata;
  /**
   * `host`: the semver range of host application versions this module works with. `node`: the semver range of
   * Node.js versions it runs on (a module folder is refused on a Node outside it).
   */
  readonly engines?: { readonly host?: string; readonly node?: string };
  /** Required modules: name → semver range. */
  readonly dependencies?: Readonly<Record<string, string>>;
  /** Modules used when they resolve, skipped when they don't. */
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  /** Capabilities requested, `<domain>:<action>[:<scope>]`. */
  readonly permissions?: readonly string[];
  readonly config?: ConfigDefinition<S>;
  readonly routes?: readonly RouteDefinition<InferSchemaOutput<S>>[];
  readonly jobs?: readonly JobDefinition<InferSchemaOutput<S>>[];
  readonly ui?: UiContributions;
  readonly migrations?: readonly MigrationDefinition<InferSchemaOutput<S>>[];
  /** Contributions to app-defined extension points: point name → entries. */
  readonly extensions?: Readonly<Record<string, readonly unknown[]>>;
  /** How state crosses a hot swap. Default `stateless`. */
  readonly stateMode?: StateMode;
  /**
   * `tenant`: a ctx bound to a tenant (a tenant's request) reads and writes that tenant's own keys, apart from every
   * other tenant's; host-wide work (activate, jobs, requests with no tenant) keeps the module's keys. Default
   * `module`: one key space for the module, whoever asks.
   */
  readonly storageScope?: 'module' | 'tenant';
  /** Start the module; what it returns is its public API for dependents. */
  readonly activate?: (ctx: ModuleContext<InferSchemaOutput<S>>) => TApi | Promise<TApi>;
  readonly deactivate?: (ctx: ModuleContext<InferSchemaOutput<S>>) => void | Promise<void>;
  readonly health?: (ctx: ModuleContext<InferSchemaOutput<S>>) => HealthResult | Promise<HealthResult>;
  readonly exportState?: (ctx: ModuleContext<InferSchemaOutput<S>>) => unknown;
  readonly importState?: (state: unknown, fromVersion: string, ctx: ModuleContext<InferSchemaOutput<S>>) => void | Promise<void>;
  /**
   * Told when the effective config changed while this version runs (on any instance of a fleet): `ctx.config`
   * already holds the new values. Optional: a module that reads `ctx.config` when it needs a value sees them anyway.
   */
  readonly reconfigure?: (config: Readonly<InferSchemaOutput<S>>, ctx: ModuleContext<InferSchemaOutput<S>>) => void | Promise<void>;
}

/** A module definition of any config schema and API, as registries and hosts hold them. */
// biome-ignore lint/suspicious/noExplicitAny: variance escape hatch for heterogeneous collections
export type AnyModuleDefinition = ModuleDefinition<any, any>;

/** The config type a module's hooks see. */
export type ModuleConfig<M> = M extends ModuleDefinition<infer S, unknown> ? InferSchemaOutput<S> : never;
/** The public API a module's `activate` returns. */
export type ModuleApi<M> = M extends { activate?: (ctx: never) => infer R } ? Awaited<R> : never;
/** What one config layer (host-wide, or a tenant's) of a module may set: any part of its schema's input. */
export type ModuleConfigLayer<M> = M extends ModuleDefinition<infer S, unknown> ? DeepPartial<InferSchemaInput<S>> : never;

/** The top-level fields a definition may have; anything else is reported as unknown. */
export const DEFINITION_FIELDS = [
  'name',
  'version',
  'displayName',
  'description',
  'author',
  'license',
  'metadata',
  'engines',
  'dependencies',
  'optionalDependencies',
  'permissions',
  'config',
  'routes',
  'jobs',
  'ui',
  'migrations',
  'extensions',
  'stateMode',
  'storageScope',
  'activate',
  'deactivate',
  'health',
  'exportState',
  'importState',
  'reconfigure',
] as const;

/** The lifecycle hooks a definition may have. */
export const HOOK_FIELDS = ['activate', 'deactivate', 'health', 'exportState', 'importState', 'reconfigure'] as const;
