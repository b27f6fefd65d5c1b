import { readdir } from 'node:fs/promises';
import { type Logger, ModhostError, type ModuleContext, type ModuleStorage, type StopSignal } from '@modhost/core';
import type { AuditLog } from './audit.js';
import { matchScope, readNoFollow, scopeLeavingModule, writeNoFollow } from './fs-scope.js';
import { type GrantCell, type Grants, permissionDenied } from './grants.js';
import { countUse, frozenCopy, guard, guardAsync, type Life, sealed, stoppedError } from './guard.js';
import { hostMatches, normalizeHost } from './permission.js';

// biome-ignore lint/suspicious/noExplicitAny: service methods take and return whatever the host defines
type AnyFn = (...args: any[]) => any;

/** Who is calling a host service: handed to the service factory once per context, never per call. */
export interface Caller {
  readonly module: string;
  readonly version: string;
  readonly tenant: string | undefined;
}

/** A service method: a plain function (any module may call it) or one that needs a permission. */
export type ServiceMethod = AnyFn | { readonly permission: string; readonly call: AnyFn };

/**
 * A host service, made per calling module so methods know who calls without an extra argument.
 * Return an object of methods; a method that names a permission is handed over only to modules that hold it.
 */
export type ServiceFactory = (caller: Caller) => Readonly<Record<string, ServiceMethod>>;

/** The network capability (`net:fetch:<host[:port]>`). */
export interface NetCapability {
  /** `fetch`, limited to granted hosts. Redirects are not followed: a 3xx comes back so the next hop is checked too. */
  fetch(url: string | URL, init?: RequestInit): Promise<Response>;
}

/** The file capability (`fs:read:<path>`, `fs:write:<path>`); paths resolve against the module's root. */
export interface FsCapability {
  readFile(path: string): Promise<Uint8Array>;
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  readdir(path: string): Promise<string[]>;
  writeFile(path: string, data: string | Uint8Array): Promise<void>;
}

/** A context built by the sandbox: `net` and `fs` are present only when granted. */
export interface SandboxedContext extends ModuleContext {
  readonly net?: NetCapability;
  readonly fs?: FsCapability;
}

/** What a capability context is built from (the activator's `ContextParts` fit). */
export interface CapabilityContextInput {
  readonly module: string;
  readonly version: string;
  readonly tenant?: string | undefined;
  readonly config: Record<string, unknown>;
  readonly logger: Logger;
  /** The module's namespaced storage; handed over only with `storage:module`. */
  readonly storage: ModuleStorage;
  /** Dependency name → its current public API (a getter, so it follows hot swaps). */
  readonly deps: ReadonlyMap<string, () => unknown>;
  /** The module's folder, for `fs:` scopes (default: `fs` is not offered). */
  readonly root?: string;
  /** Aborts when the version's context is revoked; handed to the module as `ctx.signal`. */
  readonly signal?: StopSignal;
  /** The config as it is now; `ctx.config` reads it, so it follows config changes while the version runs. */
  readonly liveConfig?: () => Readonly<Record<string, unknown>>;
}

/** Options for building a capability context (`createCapabilityContext`, internal: use `sandbox.contextFor`). */
export interface CapabilityContextOptions {
  grants: Grants;
  audit: AuditLog;
  services?: Readonly<Record<string, ServiceFactory>>;
  now?: () => number;
  /** The fetch behind `ctx.net.fetch` (default: the global one). */
  fetch?: typeof fetch;
}

/** A context and the switch that revokes everything it handed out. */
export interface BuiltContext {
  readonly ctx: SandboxedContext;
  /** Revokes every capability of this context (called on deactivate). Idempotent. */
  revoke(): void;
  /** Throws `PERMISSION_DENIED` when the module may no longer serve routes in this context (`routes:mount` revoked). */
  checkServe?: () => void;
}

const LOGGER_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** An API's own enumerable keys plus the methods of its class(es), so a class instance keeps its methods. */
function apiKeys(api: object): string[] {
  const keys = new Set(Object.keys(api));
  for (let proto = Object.getPrototypeOf(api); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const key of Object.getOwnPropertyNames(proto))
      if (key !== 'constructor' && typeof (api as Record<string, unknown>)[key] === 'function') keys.add(key);
  }
  return [...keys];
}

/**
 * Builds a module's `ctx` from its grants. What was not granted is absent; what was granted is a frozen,
 * prototype-less object whose methods check (with no allocation) that the grant still holds and the
 * module is still running. Dependencies' APIs are wrapped the same way (calls go to the real API object, so
 * `#private` members and identity inside it keep working).
 */
export function createCapabilityContext(input: CapabilityContextInput, options: CapabilityContextOptions): BuiltContext {
  const { grants, audit } = options;
  const { module, tenant } = input;
  const now = options.now ?? Date.now;
  const life: Life = { revoked: false, module };
  const cells = grants.cells(module, tenant);
  const granted = (permission: string): GrantCell | undefined => {
    const c = grants.cell(module, tenant, permission);
    return c?.active ? c : undefined;
  };
  const denial = (permission: string, what: string) => () => {
    audit.record({ kind: 'denial', module, tenant, permission, decision: 'deny', detail: `${what}: denied` });
    return permissionDenied(module, tenant, permission, what);
  };
  const wrap = (fn: AnyFn, what: string, cell?: GrantCell) =>
    guard(fn, life, what, cell, now, cell ? denial(cell.permission.text, what) : () => stoppedError(life, what));
  // Storage, fs and net return promises: a failed check is a rejection there, never a synchronous throw.
  const wrapAsync = (fn: AnyFn, what: string, cell?: GrantCell) =>
    guardAsync(fn, life, what, cell, now, cell ? denial(cell.permission.text, what) : () => stoppedError(life, what));

  const ctx: Record<string, unknown> = {
    module: sealed({ name: module, version: input.version }),
    tenant,
    logger: sealed(Object.fromEntries(LOGGER_LEVELS.map((l) => [l, wrap(input.logger[l].bind(input.logger), `logger.${l}`)]))),
  };
  if (input.signal) ctx.signal = input.signal;
  // A getter, so a module reads the config as it is now; each version of the values is frozen once.
  let seen: unknown;
  let copy = frozenCopy(input.config);
  const live = input.liveConfig;
  Object.defineProperty(ctx, 'config', {
    enumerable: true,
    get() {
      const now = live?.();
      if (now !== undefined && now !== seen) {
        seen = now;
        copy = frozenCopy(now as Record<string, unknown>);
      }
      return copy;
    },
  });

  const storageCell = granted('storage:module');
  if (storageCell) {
    const s = input.storage;
    ctx.storage = sealed({
      get: wrapAsync((key: string) => s.get(key), 'storage.get', storageCell),
      set: wrapAsync((key: string, value: unknown) => s.set(key, value), 'storage.set', storageCell),
      delete: wrapAsync((key: string) => s.delete(key), 'storage.delete', storageCell),
      keys: wrapAsync((prefix?: string) => s.keys(prefix), 'storage.keys', storageCell),
    });
  }

  // Dependencies: one wrapped view per API object, made when first reached.
  const views = new WeakMap<object, unknown>();
  const view = (dep: string, api: unknown): unknown => {
    if (api === null || (typeof api !== 'object' && typeof api !== 'function')) return api;
    const cached = views.get(api);
    if (cached) return cached;
    let out: unknown;
    if (typeof api === 'function') out = wrap(api as AnyFn, `deps["${dep}"]`);
    else {
      const entries: Record<string, unknown> = {};
      for (const key of apiKeys(api)) {
        const v = (api as Record<string, unknown>)[key];
        entries[key] = typeof v === 'function' ? wrap((v as AnyFn).bind(api), `deps["${dep}"].${key}`) : v;
      }
      out = sealed(entries);
    }
    views.set(api, out);
    return out;
  };
  const deps = Object.create(null) as Record<string, unknown>;
  for (const [name, get] of input.deps) {
    Object.defineProperty(deps, name, { enumerable: true, get: () => view(name, get()) });
  }
  ctx.deps = Object.freeze(deps);
  // `ctx.dep(name)`: the same view, typed by the caller from the dependency's definition.
  ctx.dep = (name: string) => {
    if (!Object.hasOwn(deps, name))
      throw new ModhostError(
        'DEPENDENCY_UNSATISFIED',
        `${module}: ctx.dep("${name}") names no dependency it has: declare it in "dependencies" (an optional one that did not resolve is absent; read ctx.deps["${name}"] for those)`,
        { details: { module } },
      );
    return deps[name];
  };

  const caller: Caller = Object.freeze({ module, version: input.version, tenant });
  const services: Record<string, unknown> = {};
  for (const [name, factory] of Object.entries(options.services ?? {})) {
    const methods: Record<string, unknown> = {};
    for (const [method, spec] of Object.entries(factory(caller))) {
      const what = `services.${name}.${method}`;
      if (typeof spec === 'function') methods[method] = wrap(spec, what);
      else {
        const cell = granted(spec.permission);
        if (cell) methods[method] = wrap(spec.call, what, cell);
      }
    }
    if (Object.keys(methods).length > 0) services[name] = sealed(methods);
  }
  ctx.services = sealed(services);
  // `ctx.tenantConfig(tenant?)`: the host's `tenant` service (guarded like every method), `ctx.tenant`'s by default.
  const tenantConfig = (services.tenant as { config?: AnyFn } | undefined)?.config;
  ctx.tenantConfig = async (t?: string) => {
    if (tenantConfig === undefined)
      throw new ModhostError(
        'INVALID_ARGUMENT',
        `${module}: ctx.tenantConfig() needs the host's "tenant" service, and this host offers none (createHost offers it)`,
        {
          details: { module },
        },
      );
    return tenantConfig(t ?? tenant);
  };

  const netCells = cells.filter((c) => c.permission.domain === 'net' && c.permission.action === 'fetch' && c.active);
  if (netCells.length > 0) {
    const doFetch = options.fetch ?? globalThis.fetch;
    const scopes = netCells.map((c) => ({ cell: c, host: normalizeHost(c.permission.scope ?? '') }));
    ctx.net = sealed({
      fetch: wrapAsync(async (url: string | URL, init?: RequestInit) => {
        const u = new URL(String(url));
        if (u.protocol !== 'https:' && u.protocol !== 'http:') throw denial(`net:fetch:${u.protocol}`, `fetch ${u.protocol} URL`)();
        const target = normalizeHost(`${u.protocol}//${u.host}`);
        const hit = scopes.find((s) => s.cell.active && hostMatches(s.host, target));
        if (!hit) throw denial(`net:fetch:${target}`, `fetch ${u.origin}`)();
        countUse(hit.cell.usage, now);
        return doFetch(u, { ...init, redirect: 'manual' });
      }, 'net.fetch'),
    });
  }

  const root = input.root;
  const fsCells = (action: string) => cells.filter((c) => c.permission.domain === 'fs' && c.permission.action === action && c.active);
  if (root !== undefined && (fsCells('read').length > 0 || fsCells('write').length > 0)) {
    // A scope that is a link out of the module's folder is misconfigured, not merely not granted: say so.
    const leftModule = async (action: string, path: string, scopes: readonly string[]) => {
      const out = await scopeLeavingModule(root, scopes, path);
      if (out === undefined) return undefined;
      const scope = scopes[out.scope] as string;
      audit.record({
        kind: 'denial',
        module,
        tenant,
        permission: `fs:${action}:${scope}`,
        decision: 'deny',
        detail: `${action} "${path}": scope leads outside the module`,
      });
      return new ModhostError(
        'LINK_OUTSIDE_MODULE',
        `${module}: ${action} "${path}" was refused: its scope "fs:${action}:${scope}" leads outside the module's folder through a link (to ${out.target}), so it allows nothing. Keep fs: scopes inside the module's folder, with real folders rather than links out`,
        { details: { module, path: scope, target: out.target } },
      );
    };
    const inScope = async (action: 'read' | 'write', path: string): Promise<string> => {
      const live = fsCells(action);
      const scopes = live.map((c) => c.permission.scope ?? '');
      const hit = await matchScope(root, scopes, path, action === 'write');
      if (hit === undefined) throw (await leftModule(action, path, scopes)) ?? denial(`fs:${action}:${path}`, `${action} "${path}"`)();
      // Counted on the grant whose scope allowed it.
      countUse((live[hit.scope] as GrantCell).usage, now);
      return hit.path;
    };
    // I/O goes to the checked real path and never follows a link at its last part, so a dangling link cannot lead out.
    ctx.fs = sealed({
      readFile: wrapAsync(async (path: string, encoding?: 'utf8') => {
        const bytes = await readNoFollow(await inScope('read', path));
        return encoding === 'utf8' ? bytes.toString('utf8') : new Uint8Array(bytes);
      }, 'fs.readFile'),
      readdir: wrapAsync(async (path: string) => readdir(await inScope('read', path)), 'fs.readdir'),
      writeFile: wrapAsync(async (path: string, data: string | Uint8Array) => writeNoFollow(await inScope('write', path), data), 'fs.writeFile'),
    });
  }

  return {
    ctx: sealed<SandboxedContext>(ctx),
    revoke() {
      life.revoked = true;
    },
  };
}
