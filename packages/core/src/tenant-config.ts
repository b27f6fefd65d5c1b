import { type ConfigValues, checkConfigData, maskConfig, mergeConfig, scrub, sensitiveStrings, validateConfig } from './config.js';
import { type Issue, ModhostError } from './errors.js';
import type { AnyModuleDefinition } from './module.js';
import { assertTenant, defKey, KEYS, KIND, type RegistryInternals } from './registry-internals.js';
import type {
  ConfigScope,
  ConfigureOptions,
  ConfigVersion,
  ModuleRecord,
  ReadConfigOptions,
  Registry,
  ResolvedConfig,
  TenantEnablement,
} from './registry-types.js';
import { compareSemver } from './semver.js';
import { KEEP } from './store.js';

/** A stored config layer: every version, oldest first (bounded), and how many were pruned. */
interface ConfigDoc {
  readonly versions: readonly ConfigVersion[];
  readonly dropped: number;
}

/** Config schema and rules for a module, taken from the version the host wants (or the newest). */
interface ConfigRules {
  readonly definition: AnyModuleDefinition | undefined;
  readonly defaults: ConfigValues;
  /** Union over every registered version, so a path sensitive anywhere is masked everywhere. */
  readonly sensitive: readonly string[];
  readonly hasConfig: boolean;
}

const RETRY = Symbol('retry');

type TenantConfigApi = Pick<Registry, 'enable' | 'disable' | 'listEnabled' | 'listTenants' | 'configure' | 'getConfig' | 'configHistory' | 'rollbackConfig'>;

/** Effective config served from memory until something it was read from changes. @internal */
interface ConfigCache {
  get(name: string, key: string): ResolvedConfig | undefined;
  /** Caches `value` unless `name` changed since `since` (its epoch when the read began) or nothing tells us of changes. */
  set(name: string, key: string, value: ResolvedConfig, since: number): void;
  epoch(name: string): number;
  /** Something a module's config is read from changed (a key this registry wrote, a watch notice, a definition). */
  changed(name: string): void;
}

/**
 * The cache getConfig serves from. It is used only while the storage's `watch` is live (installed on the first read),
 * so another instance's write drops what it touches as soon as its notice arrives; this registry's own writes drop
 * it at once. A read that raced with a change is not cached (the module's epoch moved while it read).
 */
function createConfigCache(store: RegistryInternals['store']): ConfigCache {
  const entries = new Map<string, Map<string, ResolvedConfig>>();
  const epochs = new Map<string, number>();
  // Bumped when the watch goes live, so no read that began before counts (epochs only grow: a change never repeats one).
  let base = 0;
  let live: 'no' | 'pending' | 'yes' | 'unavailable' = 'no';
  const changed = (name: string) => {
    entries.delete(name);
    epochs.set(name, (epochs.get(name) ?? 0) + 1);
  };
  const cache: ConfigCache = {
    get: (name, key) => entries.get(name)?.get(key),
    set(name, key, value, since) {
      if (live !== 'yes' || base + (epochs.get(name) ?? 0) !== since) return;
      const forName = entries.get(name) ?? new Map<string, ResolvedConfig>();
      entries.set(name, forName);
      forName.set(key, value);
    },
    epoch(name) {
      if (live === 'no') startWatching();
      return base + (epochs.get(name) ?? 0);
    },
    changed,
  };
  const startWatching = () => {
    const watch = store.adapter.watch?.bind(store.adapter);
    if (!watch) {
      live = 'unavailable';
      return;
    }
    live = 'pending';
    // The watcher holds the cache weakly: once its registry is dropped, the next notice ends the watch.
    const ref = new WeakRef(cache);
    const offs: unknown[] = [];
    const notice = (change: { key: string }) => {
      if (!ref.deref()) {
        for (const off of offs.splice(0)) if (typeof off === 'function') void Promise.resolve(off()).catch(() => {});
        return;
      }
      const [kind, name] = store.segments(change.key);
      if ((kind === 'm' || kind === 'c') && name !== undefined) changed(name);
    };
    const goLive = (o: unknown[]) => {
      offs.push(...o);
      base++;
      entries.clear();
      live = 'yes';
    };
    const ns = store.key(''); // "<namespace>:"
    try {
      const started = [`${ns}m:`, `${ns}c:`].map((p) => watch(p, notice));
      // An adapter that watches synchronously (the in-process one) is live at once.
      if (started.every((w) => typeof (w as { then?: unknown } | undefined)?.then !== 'function')) goLive(started);
      else
        Promise.all(started).then(goLive, () => {
          live = 'unavailable';
        });
    } catch {
      live = 'unavailable';
    }
  };
  return cache;
}

/** Tenant enablement and layered config. @internal */
export function createTenantConfig(r: RegistryInternals): TenantConfigApi & { configChanged(name: string): void } {
  const { store, clock, events } = r;
  const cache = createConfigCache(store);

  const configKey = (name: string, tenant: string | undefined) =>
    store.key(...(tenant === undefined ? KEYS.configHost(name) : KEYS.configTenant(name, tenant)));
  const readDoc = async (name: string, tenant: string | undefined) =>
    (await store.read<ConfigDoc>(configKey(name, tenant), KIND.config)) ?? { versions: [], dropped: 0 };
  const current = (doc: ConfigDoc): ConfigValues => doc.versions[doc.versions.length - 1]?.values ?? {};
  const currentVersion = (doc: ConfigDoc) => doc.versions[doc.versions.length - 1]?.version ?? 0;

  // Reads the module record and one version record, however many versions are registered.
  const rulesFor = async (name: string): Promise<ConfigRules> => {
    const module = await r.requireModuleRecord(name);
    const newestFirst = [...module.versions].sort((a, b) => compareSemver(b, a));
    const preferred = [module.desiredVersion, ...newestFirst];
    const definition: AnyModuleDefinition | undefined = preferred.map((v) => (v ? r.definitions.get(defKey(name, v)) : undefined)).find((d) => d !== undefined);
    const chosen = definition?.version ?? newestFirst[0];
    const manifest = chosen === undefined ? undefined : (await r.readVersion(name, chosen))?.manifest;
    return {
      definition,
      defaults: (manifest?.config?.defaults ?? {}) as ConfigValues,
      sensitive: module.sensitive,
      hasConfig: module.hasConfig,
    };
  };

  const invalid = (name: string, tenant: string | undefined, issues: Issue[], secrets: readonly string[]) => {
    const clean = issues.map((i) => ({ path: i.path, message: scrub(i.message, secrets) }));
    const scope = tenant === undefined ? 'host-wide' : `tenant "${tenant}"`;
    const list = clean.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return new ModhostError('CONFIG_INVALID', `config for module "${name}" (${scope}) was rejected: ${list}. Nothing was changed.`, {
      details: { module: name, tenant, issues: clean },
    });
  };

  /** Validates the layer candidate for a scope; returns nothing or throws CONFIG_INVALID. */
  const checkLayer = async (name: string, tenant: string | undefined, candidate: ConfigValues, rules: ConfigRules) => {
    const host = tenant === undefined ? candidate : current(await readDoc(name, undefined));
    const layers = tenant === undefined ? [rules.defaults, host] : [rules.defaults, host, candidate];
    const secrets = sensitiveStrings([candidate, host], rules.sensitive);
    const schema = rules.definition?.config?.schema;
    if (!rules.hasConfig) throw invalid(name, tenant, [{ path: [], message: 'this module declares no config' }], secrets);
    if (!schema) {
      throw invalid(
        name,
        tenant,
        [
          {
            path: [],
            message: 'no definition of this module is loaded in this process, so its schema cannot check the values; register the module here first',
          },
        ],
        secrets,
      );
    }
    const outcome = await validateConfig(schema, mergeConfig(...layers), rules.sensitive, secrets);
    if (!outcome.ok) throw invalid(name, tenant, outcome.issues, secrets);
  };

  /** Appends a version to a layer, re-validating if another writer got there first. */
  const appendVersion = async (
    name: string,
    tenant: string | undefined,
    build: (doc: ConfigDoc) => Omit<ConfigVersion, 'version' | 'at'>,
    dryRun = false,
  ): Promise<ConfigVersion> => {
    if (tenant !== undefined) assertTenant(tenant);
    const rules = await rulesFor(name);
    for (;;) {
      const doc = await readDoc(name, tenant);
      const entry = build(doc);
      await checkLayer(name, tenant, entry.values, rules);
      const version: ConfigVersion = { ...entry, version: currentVersion(doc) + 1, at: clock.now() };
      if (dryRun) return version;
      try {
        await store.update<ConfigDoc>(configKey(name, tenant), KIND.config, (cur) => {
          if (currentVersion(cur ?? { versions: [], dropped: 0 }) !== currentVersion(doc)) throw RETRY;
          const versions = [...(cur?.versions ?? []), version];
          const overflow = Math.max(0, versions.length - r.configHistoryLimit);
          return { versions: versions.slice(overflow), dropped: (cur?.dropped ?? 0) + overflow };
        });
      } catch (e) {
        if (e === RETRY) continue;
        throw e;
      }
      events.emit('config:changed', { name, tenant, version: version.version, reason: version.reason, values: maskConfig(version.values, rules.sensitive) });
      return version;
    }
  };

  /** Sets who a module serves (`onlyIfUnset`: the first tenant's enable, which must not undo an explicit `host`). */
  const setAccess = async (name: string, access: 'host' | 'tenants', onlyIfUnset = false) => {
    await r.requireModuleRecord(name);
    let changed = false;
    await store.update<ModuleRecord>(store.key(...KEYS.module(name)), KIND.module, (m) => {
      if (!m || m.access === access || (onlyIfUnset && m.access !== undefined)) return KEEP;
      changed = true;
      return { ...m, access };
    });
    if (changed) events.emit('module:access', { name, access });
  };

  /** The effective config, read and computed afresh. */
  const readConfig = async (name: string, tenant: string | undefined, reveal: boolean): Promise<ResolvedConfig> => {
    const rules = await rulesFor(name);
    const hostDoc = await readDoc(name, undefined);
    const tenantDoc = tenant === undefined ? { versions: [], dropped: 0 } : await readDoc(name, tenant);
    const layers = { defaults: rules.defaults, host: current(hostDoc), tenant: current(tenantDoc) };
    const merged = mergeConfig(layers.defaults, layers.host, layers.tenant);
    const schema = rules.definition?.config?.schema;
    const secrets = sensitiveStrings([layers.defaults, layers.host, layers.tenant], rules.sensitive);
    const outcome = schema ? await validateConfig(schema, merged, rules.sensitive, secrets) : undefined;
    const values = outcome?.ok ? (outcome.value as ConfigValues) : merged;
    const mask = <T>(v: T) => (reveal ? v : maskConfig(v, rules.sensitive));
    return {
      name,
      tenant,
      values: mask(values),
      validated: outcome !== undefined,
      issues: outcome && !outcome.ok ? outcome.issues : [],
      layers: { defaults: mask(layers.defaults), host: mask(layers.host), tenant: mask(layers.tenant) },
      versions: { host: currentVersion(hostDoc), tenant: currentVersion(tenantDoc) },
      masked: !reveal && rules.sensitive.length > 0,
    };
  };

  const api: TenantConfigApi = {
    // biome-ignore lint/suspicious/noExplicitAny: one body for both overloads
    async enable(name: string, options: { tenant?: string | undefined; range?: string | undefined } = {}): Promise<any> {
      const { tenant, range } = options;
      if (tenant === undefined) {
        await setAccess(name, 'host');
        return undefined;
      }
      assertTenant(tenant);
      await r.requireModuleRecord(name);
      // The first tenant makes a module tenant-gated, for good: requests with no tenant no longer reach it.
      if (range !== undefined && (typeof range !== 'string' || range.trim() === '')) {
        throw new ModhostError('INVALID_ARGUMENT', `enable("${name}"): range must be a non-empty semver range such as "^1.0.0"`, {
          details: { module: name, issues: [{ path: ['range'], message: 'must be a non-empty string' }] },
        });
      }
      await setAccess(name, 'tenants', true);
      let changed = false;
      const record = (await store.update<TenantEnablement>(store.key(...KEYS.tenant(tenant, name)), KIND.tenant, (cur) => {
        changed = !cur || cur.range !== range;
        if (!changed) return KEEP;
        return { tenant, name, enabledAt: clock.now(), ...(range === undefined ? {} : { range }) };
      })) as TenantEnablement;
      if (changed) events.emit('tenant:enabled', { tenant, name, ...(range === undefined ? {} : { range }) });
      return record;
    },

    async disable(name, options = {}) {
      const { tenant } = options;
      if (tenant === undefined) return setAccess(name, 'tenants');
      assertTenant(tenant);
      let existed = false;
      await store.update<TenantEnablement>(store.key(...KEYS.tenant(tenant, name)), KIND.tenant, (cur) => {
        existed = cur !== undefined;
        return undefined;
      });
      if (existed) events.emit('tenant:disabled', { tenant, name });
    },

    async listEnabled(tenant) {
      assertTenant(tenant);
      const keys = await store.keys('t', tenant);
      const records = await Promise.all(keys.map((k) => store.read<TenantEnablement>(k, KIND.tenant)));
      return records.filter((e): e is TenantEnablement => !!e).sort((a, b) => (a.name < b.name ? -1 : 1));
    },

    async listTenants() {
      const keys = await store.keys('t');
      return [...new Set(keys.map((k) => store.segments(k)[1] as string))].sort();
    },

    async configure(name, values, options: ConfigureOptions = {}) {
      const dataIssues = checkConfigData(values);
      if (dataIssues.length > 0) throw invalid(name, options.tenant, dataIssues, []);
      return appendVersion(
        name,
        options.tenant,
        (doc) => ({ values: options.mode === 'replace' ? mergeConfig(values) : mergeConfig(current(doc), values), reason: 'set' }),
        options.dryRun,
      );
    },

    async getConfig(name, options: ReadConfigOptions = {}) {
      const { tenant, reveal = false } = options;
      const key = `${reveal ? 'r' : 'm'}${tenant ?? ''}`;
      const hit = cache.get(name, key);
      if (hit) return hit;
      if (tenant !== undefined) assertTenant(tenant);
      const since = cache.epoch(name);
      const resolved = deepFreeze(await readConfig(name, tenant, reveal));
      cache.set(name, key, resolved, since);
      return resolved;
    },

    async configHistory(name, options: ReadConfigOptions = {}) {
      if (options.tenant !== undefined) assertTenant(options.tenant);
      const rules = await rulesFor(name);
      const doc = await readDoc(name, options.tenant);
      return doc.versions.map((v) => (options.reveal ? v : { ...v, values: maskConfig(v.values, rules.sensitive) }));
    },

    async rollbackConfig(name, { tenant, to }: ConfigScope & { to: number }) {
      return appendVersion(name, tenant, (doc) => {
        if (to === 0) return { values: {}, reason: 'rollback', restoredFrom: 0 };
        const target = doc.versions.find((v) => v.version === to);
        if (!target) {
          const scope = tenant === undefined ? 'host-wide' : `tenant "${tenant}"`;
          const known = doc.versions.map((v) => v.version);
          throw new ModhostError(
            'CONFIG_VERSION_NOT_FOUND',
            `config version ${to} of module "${name}" (${scope}) does not exist${doc.dropped > 0 ? ` or was pruned (the oldest ${doc.dropped} are gone)` : ''}; available: ${known.join(', ') || 'none'} (0 restores the empty layer)`,
            { details: { module: name, tenant, version: to, available: known } },
          );
        }
        return { values: target.values, reason: 'rollback', restoredFrom: to };
      });
    },
  };
  return { ...api, configChanged: cache.changed };
}

/** Freezes a value and the plain data in it: a cached config is shared by every reader. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  const proto = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return value;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
  return value;
}
