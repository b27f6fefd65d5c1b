import {
  type AnyModuleDefinition,
  type Logger,
  ModhostError,
  type ModuleContext,
  type ModuleStorage,
  type StopSignal,
  type StorageAdapter,
} from '@modhost/core';
import { createStore, findNonJsonData } from '@modhost/core/internal';

/**
 * A module's storage over the host's adapter: keys are confined to the module's own namespace
 * (`<ns>:data:<module>:<key>`), or with a tenant to that tenant's part of it (`<ns>:tdata:<module>:<tenant>:<key>`),
 * each segment percent-encoded.
 */
export function createModuleStorage(adapter: StorageAdapter, namespace: string, module: string, tenant?: string): ModuleStorage {
  const store = createStore(adapter, { namespace, owner: { label: module, details: { module } } });
  const base = tenant === undefined ? ['data', module] : ['tdata', module, tenant];
  const keyOf = (key: string) => store.key(...base, key);
  return {
    async get<T>(key: string) {
      const raw = await store.readText(keyOf(key));
      return raw === undefined ? undefined : (JSON.parse(raw) as T);
    },
    async set(key, value) {
      const issues = findNonJsonData(value);
      if (issues.length > 0) {
        throw new ModhostError(
          'CONFIG_INVALID',
          `${module}: storage.set("${key}") needs plain JSON data: ${issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
          {
            details: { module, key, issues },
          },
        );
      }
      await store.writeText(keyOf(key), JSON.stringify(value));
    },
    async delete(key) {
      await store.remove(keyOf(key));
    },
    async keys(p = '') {
      const prefix = store.key(...base, '');
      const keys = await store.keysFrom(keyOf(p));
      return keys.map((k) => decodeURIComponent(k.slice(prefix.length))).sort();
    },
  };
}

/** The default logger: console, with the module's name in front. */
export function consoleLogger(module: string): Logger {
  const line = (level: string, message: string, fields?: Record<string, unknown>) =>
    `[${module}] ${level}: ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`;
  return {
    debug: () => {},
    info: (m, f) => console.info(line('info', m, f)),
    warn: (m, f) => console.warn(line('warn', m, f)),
    error: (m, f) => console.error(line('error', m, f)),
  };
}

/** What a module's context is built from. */
export interface ContextParts {
  readonly module: string;
  readonly version: string;
  readonly tenant?: string;
  readonly config: Record<string, unknown>;
  readonly logger: Logger;
  readonly storage: ModuleStorage;
  /** Dependency name → a function returning its current public API (it follows a hot swap). */
  readonly deps: ReadonlyMap<string, () => unknown>;
  readonly services: Readonly<Record<string, unknown>>;
  /** Aborts when the version's context is revoked; the activator makes one per version. */
  readonly signal?: StopSignal;
  /** The config as it is now (it follows config changes while the version runs); `ctx.config` reads it. */
  readonly liveConfig?: () => Readonly<Record<string, unknown>>;
}

/** `ctx.dep(name)` over a ctx's `deps`: the API, or `DEPENDENCY_UNSATISFIED` for a name that is not a resolved dependency. */
function depAccessor(module: string, deps: Readonly<Record<string, unknown>>): (name: string) => unknown {
  return (name) => {
    if (!Object.hasOwn(deps, name))
      throw new ModhostError(
        'DEPENDENCY_UNSATISFIED',
        `${module}: ctx.dep("${name}") names no dependency it has: declare it in "dependencies" (an optional one that did not resolve is absent; read ctx.deps["${name}"] for those)`,
        { details: { module } },
      );
    return deps[name];
  };
}

/**
 * `ctx.tenantConfig(tenant?)` over the host's `tenant` service: that tenant's effective config, `ctx.tenant`'s by
 * default. Rejects when the host offers no such service.
 */
function tenantConfigAccessor(module: string, tenant: string | undefined, service: unknown): (tenant?: string) => Promise<unknown> {
  const config = (service as { config?: unknown } | undefined)?.config;
  if (typeof config !== 'function')
    return async () => {
      throw new ModhostError(
        'INVALID_ARGUMENT',
        `${module}: ctx.tenantConfig() needs the host's "tenant" service, and this host offers none (createHost offers it)`,
        {
          details: { module },
        },
      );
    };
  return async (t) => (config as (t?: string) => unknown)(t ?? tenant);
}

/**
 * Builds a frozen context. `deps.x` is a getter, so a dependent always reaches the version of `x` that is
 * serving now, also after `x` was swapped.
 */
export function createModuleContext(parts: ContextParts): ModuleContext {
  const deps: Record<string, unknown> = {};
  for (const [name, get] of parts.deps) Object.defineProperty(deps, name, { enumerable: true, get });
  const fixed = Object.freeze({ ...parts.config });
  const ctx = {
    module: Object.freeze({ name: parts.module, version: parts.version }),
    tenant: parts.tenant,
    logger: parts.logger,
    storage: parts.storage,
    deps: Object.freeze(deps),
    dep: depAccessor(parts.module, deps),
    services: Object.freeze({ ...parts.services }),
    tenantConfig: tenantConfigAccessor(parts.module, parts.tenant, parts.services.tenant),
    ...(parts.signal ? { signal: parts.signal } : {}),
  };
  // A getter, so a module always reads the config as it is now.
  Object.defineProperty(ctx, 'config', { enumerable: true, get: parts.liveConfig ?? (() => fixed) });
  return Object.freeze(ctx) as ModuleContext;
}

/** What a context factory returns: the context, and what revokes everything it handed out. */
export interface BuiltModuleContext {
  readonly ctx: ModuleContext;
  readonly revoke?: () => void;
  /**
   * Checked before each request this context serves: throw (`PERMISSION_DENIED`) when it may not serve now, e.g. its
   * `routes:mount` was revoked, host-wide or for the context's tenant, after it was built.
   */
  readonly checkServe?: () => void;
}

/** Builds a module version's context from its parts (see `ActivatorOptions.contextFactory`). */
export type ContextFactory = (parts: ContextParts, definition: AnyModuleDefinition) => BuiltModuleContext | Promise<BuiltModuleContext>;
