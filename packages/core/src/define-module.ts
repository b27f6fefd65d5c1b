import { ModhostError } from './errors.js';
import { type AnyModuleDefinition, HOOK_FIELDS, type ModuleDefinition, type ModuleMetadata, type NoConfig, type StateMode } from './module.js';
import { canonicalJson, cloneData, formatPath, hashString } from './safe-data.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import { validateDefinition } from './validate-definition.js';

/**
 * Declares a module. Validates the definition at runtime (it may come from plain JS) and
 * returns it frozen, with the config type inferred from `config.schema`, the API type from `activate` and the name
 * as a literal type (so `createHost({ modules: [it] })` knows it by name: see `Host` in `modhost`).
 *
 * @throws {@link ModhostError} `MANIFEST_INVALID` with `details.issues` listing every problem.
 *
 * @example
 * ```ts
 * import { z } from 'zod'
 * export default defineModule({
 *   name: 'greeter',
 *   version: '1.0.0',
 *   config: { schema: z.object({ greeting: z.string() }), defaults: { greeting: 'Hello' } },
 *   activate: (ctx) => ({ greet: (who: string) => `${ctx.config.greeting}, ${who}` }),
 * })
 * ```
 */
export function defineModule<S extends StandardSchemaV1 = NoConfig, TApi = void, N extends string = string>(
  definition: ModuleDefinition<S, TApi> & { readonly name: N },
): Readonly<ModuleDefinition<S, TApi>> & { readonly name: N } {
  return assertValidDefinition(definition) as ModuleDefinition<S, TApi> & { readonly name: N };
}

/** Validates a definition from any source and returns a frozen copy; throws `MANIFEST_INVALID`. */
export function assertValidDefinition(input: unknown): Readonly<AnyModuleDefinition> {
  const result = validateDefinition(input);
  if (!result.ok) {
    const name = (input as { name?: unknown } | null)?.name;
    const who = typeof name === 'string' && name.length <= 214 ? `module "${name}"` : 'module definition';
    const list = result.issues.map((i) => `  - ${formatPath(i.path)}: ${i.message}`).join('\n');
    throw new ModhostError('MANIFEST_INVALID', `${who} is invalid (${result.issues.length} problem${result.issues.length === 1 ? '' : 's'}):\n${list}`, {
      details: { module: typeof name === 'string' ? name : undefined, issues: result.issues },
    });
  }
  return freezeDefinition(result.value);
}

function freezeDefinition(def: AnyModuleDefinition): Readonly<AnyModuleDefinition> {
  if (Object.isFrozen(def)) return def;
  const copy: Record<string, unknown> = { ...def };
  for (const [key, value] of Object.entries(copy)) {
    if (key === 'config' && value) {
      const c = value as Record<string, unknown>;
      copy.config = Object.freeze({ ...c, defaults: deepFreeze(cloneData(c.defaults)), presets: deepFreeze(cloneData(c.presets)) });
    } else if (Array.isArray(value)) {
      copy[key] = Object.freeze(value.map((v) => (v && typeof v === 'object' ? Object.freeze({ ...v }) : v)));
    } else if (value && typeof value === 'object') {
      copy[key] = deepFreeze(cloneData(value));
    }
  }
  return Object.freeze(copy) as unknown as AnyModuleDefinition;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * The data part of a module definition: everything but code and schema objects.
 * This is what registries store, snapshots carry and other hosts read.
 */
export interface ModuleManifest {
  readonly name: string;
  readonly version: string;
  readonly displayName?: string;
  readonly description?: string;
  readonly author?: string;
  readonly license?: string;
  readonly metadata?: ModuleMetadata;
  readonly engines?: { readonly host?: string; readonly node?: string };
  readonly dependencies: Readonly<Record<string, string>>;
  readonly optionalDependencies: Readonly<Record<string, string>>;
  readonly permissions: readonly string[];
  readonly config?: {
    readonly vendor: string;
    readonly defaults?: Record<string, unknown>;
    readonly presets?: Record<string, Record<string, unknown>>;
    readonly sensitive: readonly string[];
  };
  readonly routes: readonly { readonly method: string; readonly path: string; readonly permission?: string }[];
  readonly jobs: readonly {
    readonly name: string;
    readonly schedule: string | { readonly everyMs: number };
    readonly timeout?: number;
    readonly retries?: number;
  }[];
  readonly ui?: Record<string, unknown>;
  readonly migrations: readonly { readonly name: string; readonly reversible: boolean }[];
  readonly extensions?: Record<string, readonly unknown[]>;
  readonly stateMode: StateMode;
  /** Which hooks the module implements. */
  readonly hooks: readonly string[];
}

/** Extracts the storable manifest from a (validated) definition. */
export function toManifest(def: AnyModuleDefinition): ModuleManifest {
  const m: Record<string, unknown> = {
    name: def.name,
    version: def.version,
    dependencies: { ...def.dependencies },
    optionalDependencies: { ...def.optionalDependencies },
    permissions: [...(def.permissions ?? [])],
    routes: (def.routes ?? []).map((r) => (r.permission ? { method: r.method, path: r.path, permission: r.permission } : { method: r.method, path: r.path })),
    jobs: (def.jobs ?? []).map(({ run: _run, ...job }) => cloneData(job)),
    migrations: (def.migrations ?? []).map((mig) => ({ name: mig.name, reversible: typeof mig.down === 'function' })),
    stateMode: def.stateMode ?? 'stateless',
    hooks: HOOK_FIELDS.filter((h) => typeof def[h] === 'function'),
  };
  for (const k of ['displayName', 'description', 'author', 'license'] as const) if (def[k] !== undefined) m[k] = def[k];
  if (def.metadata) m.metadata = cloneData(def.metadata);
  if (def.engines) m.engines = { ...def.engines };
  if (def.ui) m.ui = cloneData(def.ui);
  if (def.extensions) m.extensions = cloneData(def.extensions);
  if (def.config) {
    const c: Record<string, unknown> = { vendor: def.config.schema['~standard'].vendor, sensitive: [...(def.config.sensitive ?? [])] };
    if (def.config.defaults !== undefined) c.defaults = cloneData(def.config.defaults);
    if (def.config.presets !== undefined) c.presets = cloneData(def.config.presets);
    m.config = c;
  }
  return m as unknown as ModuleManifest;
}

/**
 * Where a loader puts a hash of the files a definition's code came from (a module folder's integrity): the
 * fingerprint is then the manifest plus that hash, not the source text of the loader's own wrapper functions, which
 * change with modhost itself. @internal
 */
export const CODE_FINGERPRINT: unique symbol = Symbol.for('modhost.codeFingerprint') as never;

/** The code fingerprint a loader attached to a definition, if any. @internal */
export const codeFingerprintOf = (def: AnyModuleDefinition): string | undefined => {
  const v = (def as unknown as Record<symbol, unknown>)[CODE_FINGERPRINT];
  return typeof v === 'string' ? v : undefined;
};

/**
 * A content fingerprint of a definition: its manifest plus the source text of its code (or, for code loaded from
 * files, the hash of those files). Two registrations of one name@version are "the same" exactly when fingerprints match.
 */
export function fingerprintDefinition(def: AnyModuleDefinition): string {
  const files = codeFingerprintOf(def);
  if (files !== undefined) {
    const { hooks: _wrapper, ...manifest } = toManifest(def) as unknown as Record<string, unknown>;
    return hashString(`${canonicalJson(manifest)}\nfiles:${files}`);
  }
  const code: string[] = [];
  for (const hook of HOOK_FIELDS) if (typeof def[hook] === 'function') code.push(`${hook}:${String(def[hook])}`);
  for (const r of def.routes ?? []) code.push(`route:${r.method} ${r.path}:${String(r.handler)}`);
  for (const j of def.jobs ?? []) code.push(`job:${j.name}:${String(j.run)}`);
  for (const m of def.migrations ?? []) code.push(`migration:${m.name}:${String(m.up)}:${String(m.down ?? '')}`);
  return hashString(`${canonicalJson(toManifest(def))}\n${code.join('\n')}`);
}
