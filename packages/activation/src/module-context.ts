import {
  type AnyModuleDefinition,
  findNonJsonData,
  type Logger,
  ModhostError,
  type ModuleContext,
  type ModuleStorage,
  type StopSignal,
  type StorageAdapter,
} from '@modhost/core';

/** A module's storage over the host's adapter: keys are confined to the module's own namespace. */
export function createModuleStorage(adapter: StorageAdapter, namespace: string, module: string): ModuleStorage {
  const prefix = `${encodeURIComponent(namespace)}:data:${encodeURIComponent(module)}:`;
  const wrap = async <T>(op: string, key: string, fn: () => T | Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (cause) {
      throw new ModhostError('STORAGE_ADAPTER_FAILED', `${module}: storage ${op}("${key}") failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
        cause,
        details: { module, operation: op, key },
      });
    }
  };
  return {
    async get<T>(key: string) {
      const raw = await wrap('get', key, () => adapter.get(prefix + encodeURIComponent(key)));
      return raw === null || raw === undefined ? undefined : (JSON.parse(raw) as T);
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
      await wrap('set', key, () => adapter.set(prefix + encodeURIComponent(key), JSON.stringify(value)));
    },
    async delete(key) {
      await wrap('delete', key, () => adapter.delete(prefix + encodeURIComponent(key)));
    },
    async keys(p = '') {
      const keys = await wrap('keys', p, () => adapter.keys(prefix + encodeURIComponent(p)));
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
}

/**
 * Builds a frozen context. `deps.x` is a getter, so a dependent always reaches the version of `x` that is
 * serving now, also after `x` was swapped.
 */
export function createModuleContext(parts: ContextParts): ModuleContext {
  const deps: Record<string, unknown> = {};
  for (const [name, get] of parts.deps) Object.defineProperty(deps, name, { enumerable: true, get });
  return Object.freeze({
    module: Object.freeze({ name: parts.module, version: parts.version }),
    tenant: parts.tenant,
    config: Object.freeze({ ...parts.config }),
    logger: parts.logger,
    storage: parts.storage,
    deps: Object.freeze(deps),
    services: Object.freeze({ ...parts.services }),
    ...(parts.signal ? { signal: parts.signal } : {}),
  });
}

/** What a context factory returns: the context, and what revokes everything it handed out. */
export interface BuiltModuleContext {
  readonly ctx: ModuleContext;
  readonly revoke?: () => void;
}

/** Builds a module version's context from its parts (see `ActivatorOptions.contextFactory`). */
export type ContextFactory = (parts: ContextParts, definition: AnyModuleDefinition) => BuiltModuleContext | Promise<BuiltModuleContext>;
