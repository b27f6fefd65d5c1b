import { systemClock } from './clock.js';
import { assertValidDefinition, codeFingerprintOf, fingerprintDefinition, toManifest } from './define-module.js';
import { ModhostError, summarizeCause } from './errors.js';
import { createEmitter } from './events.js';
import { createInstanceState } from './instance-state.js';
import { assertTransition, isLifecycleState, type LifecycleState } from './lifecycle.js';
import { defKey, KEYS, KIND, type RegistryInternals } from './registry-internals.js';
import type { ModuleErrorRecord, ModuleRecord, ModuleVersionRecord, Registry, RegistryEvents, RegistryOptions, TransitionOptions } from './registry-types.js';
import { compareSemver } from './semver.js';
import { exportSnapshot, importSnapshot } from './snapshot.js';
import { memoryStorage } from './storage.js';
import { createStore, KEEP } from './store.js';
import { createTenantConfig } from './tenant-config.js';

export type { Registry } from './registry-types.js';

/**
 * Creates a registry over the injected storage.
 *
 * @example
 * ```ts
 * const registry = createRegistry({ storage: memoryStorage() })
 * await registry.register(defineModule({ name: 'tasks', version: '1.0.0' }))
 * await registry.transition('tasks', '1.0.0', 'resolved')
 * ```
 */
export function createRegistry(options: RegistryOptions = {}): Registry {
  // Config read from a module record or a config layer this registry writes is served from memory no longer.
  let configChanged = (_name: string) => {};
  const store = createStore(options.storage ?? memoryStorage(), {
    namespace: options.namespace ?? 'modhost',
    maxAttempts: options.casMaxAttempts ?? 100,
    onWrite(key) {
      if (!key.startsWith(configKeys.m) && !key.startsWith(configKeys.c)) return;
      const name = store.segments(key)[1];
      if (name !== undefined) configChanged(name);
    },
  });
  const configKeys = { m: store.key('m', ''), c: store.key('c', '') };
  const clock = options.clock ?? systemClock;
  const events = createEmitter<RegistryEvents>(options.onListenerError ? { onListenerError: options.onListenerError } : {});
  // The module record lists its versions, so this is one read plus one per version (no key scan).
  const versionsOf = async (name: string) => {
    const m = await store.read<ModuleRecord>(store.key(...KEYS.module(name)), KIND.module);
    const records = await Promise.all(
      (m?.versions ?? []).map(async (v) => withObserved(await store.read<ModuleVersionRecord>(store.key(...KEYS.version(name, v)), KIND.version))),
    );
    return records.filter((r): r is ModuleVersionRecord => r !== undefined).sort((a, b) => compareSemver(a.version, b.version));
  };
  const withVersion = (versions: readonly string[], v: string) => (versions.includes(v) ? versions : [...versions, v].sort(compareSemver));
  const instance = options.instanceId;
  // Per-instance lifecycle state and leases (see instance-state.ts); absent without an instanceId.
  const own = createInstanceState({ store, clock, instance, historyLimit: options.historyLimit ?? 50 });
  const withObserved = own.withObserved;
  const internals: RegistryInternals = {
    store,
    clock,
    events,
    definitions: new TrackedMap((key) => configChanged(key.slice(0, key.lastIndexOf('@')))),
    historyLimit: options.historyLimit ?? 50,
    configHistoryLimit: options.configHistoryLimit ?? 100,
    satisfies: options.satisfies ?? (() => true),
    readVersion: async (name, version) => withObserved(await store.read<ModuleVersionRecord>(store.key(...KEYS.version(name, version)), KIND.version)),
    async requireVersion(name, version) {
      const r = await internals.readVersion(name, version);
      if (!r)
        throw notFound(
          name,
          version,
          (await versionsOf(name)).map((v) => v.version),
        );
      return r;
    },
    versionsOf,
    async requireModuleRecord(name) {
      const m = await store.read<ModuleRecord>(store.key(...KEYS.module(name)), KIND.module);
      if (!m || m.versions.length === 0) throw notFound(name);
      return m;
    },
  };
  const { configChanged: forgetConfig, ...tenantConfig } = createTenantConfig(internals);
  configChanged = forgetConfig;
  const updateModule = (name: string, fn: (m: ModuleRecord) => ModuleRecord | typeof KEEP) =>
    store.update<ModuleRecord>(store.key(...KEYS.module(name)), KIND.module, (m) =>
      fn(m ?? { name, desiredVersion: null, previousDesiredVersion: null, rejected: [], versions: [], sensitive: [], hasConfig: false }),
    ) as Promise<ModuleRecord>;

  const registry: Registry = {
    on: events.on,
    once: events.once,
    off: events.off,
    onAny: events.onAny,
    instanceId: instance,

    resetObserved: own.resetObserved,
    observedBy: own.observedBy,
    forgetObserved: own.forgetObserved,
    renewLease: own.renewLease,
    endLease: own.endLease,
    instances: own.instances,
    pruneInstances: own.pruneInstances,

    async register(input) {
      const def = assertValidDefinition(input);
      const fingerprint = fingerprintDefinition(def);
      const now = clock.now();
      let created = false;
      const record = (await store.update<ModuleVersionRecord>(store.key(...KEYS.version(def.name, def.version)), KIND.version, (existing) => {
        created = false;
        if (existing) {
          if (existing.fingerprint === fingerprint) return KEEP;
          // Code loaded from files is identified by their hash: a record made before it carried one (an older
          // modhost fingerprinted its own wrapper code) takes the new fingerprint; the files' integrity guards content.
          const files = codeFingerprintOf(def);
          if (files !== undefined && (existing.codeFingerprint === undefined || existing.codeFingerprint === files))
            return { ...existing, fingerprint, codeFingerprint: files };
          throw new ModhostError(
            'MODULE_VERSION_CONFLICT',
            `${def.name}@${def.version} is already registered with different content; publish the change as a new version (e.g. bump to a patch release) instead of reusing ${def.version}`,
            { details: { module: def.name, version: def.version, registered: existing.fingerprint, attempted: fingerprint } },
          );
        }
        created = true;
        const files = codeFingerprintOf(def);
        return {
          name: def.name,
          version: def.version,
          fingerprint,
          ...(files !== undefined ? { codeFingerprint: files } : {}),
          manifest: toManifest(def),
          status: 'registered',
          history: [{ from: null, to: 'registered', at: now }],
          historyDropped: 0,
          registeredAt: now,
          updatedAt: now,
        };
      })) as ModuleVersionRecord;
      await store.update<ModuleRecord>(store.key(...KEYS.module(def.name)), KIND.module, (m) =>
        m
          ? m.versions.includes(def.version)
            ? KEEP
            : {
                ...m,
                versions: withVersion(m.versions, def.version),
                sensitive: [...new Set([...m.sensitive, ...(def.config?.sensitive ?? [])])],
                hasConfig: m.hasConfig || def.config !== undefined,
              }
          : {
              name: def.name,
              desiredVersion: null,
              previousDesiredVersion: null,
              rejected: [],
              versions: [def.version],
              sensitive: [...(def.config?.sensitive ?? [])],
              hasConfig: def.config !== undefined,
            },
      );
      internals.definitions.set(defKey(def.name, def.version), def);
      if (created) {
        events.emit('module:registered', { name: def.name, version: def.version, fingerprint });
        events.emit('module:transition', { name: def.name, version: def.version, from: null, to: 'registered', at: now });
      }
      return record;
    },

    async unregister(name, version, opts = {}) {
      const all = await registry.list();
      const removing = new Set(all.filter((r) => r.name === name && (version === undefined || r.version === version)).map((r) => defKey(r.name, r.version)));
      if (removing.size === 0)
        throw notFound(
          name,
          version,
          all.filter((r) => r.name === name).map((r) => r.version),
        );
      // Grow the removal set until no remaining dependent loses its last matching version.
      for (;;) {
        const broken = findBrokenDependents(all, removing, internals.satisfies);
        if (broken.length === 0) break;
        if (!opts.cascade) {
          const list = broken.map((b) => `${b.dependent} needs ${b.dependency} ${b.range}`).join('; ');
          throw new ModhostError(
            'MODULE_IN_USE',
            `cannot unregister ${version ? `${name}@${version}` : name}: ${list}. Unregister those first, or pass { cascade: true } to remove them too`,
            { details: { module: name, version, dependents: broken } },
          );
        }
        for (const b of broken) removing.add(b.dependent);
      }
      const removed: string[] = [];
      for (const r of all) {
        if (!removing.has(defKey(r.name, r.version))) continue;
        await store.update(store.key(...KEYS.version(r.name, r.version)), KIND.version, () => undefined);
        internals.definitions.delete(defKey(r.name, r.version));
        removed.push(defKey(r.name, r.version));
        events.emit('module:unregistered', { name: r.name, version: r.version });
      }
      for (const n of new Set(all.filter((r) => removing.has(defKey(r.name, r.version))).map((r) => r.name))) {
        let whole = false;
        await store.update<ModuleRecord>(store.key(...KEYS.module(n)), KIND.module, (m) => {
          if (!m) return KEEP;
          const versions = m.versions.filter((v) => !removing.has(defKey(n, v)));
          whole = versions.length === 0;
          return whole ? undefined : { ...m, versions };
        });
        // A module gone whole is remembered as uninstalled (desired state): an instance that starts with its code
        // does not bring it back unless it is installed again.
        if (whole) await store.write(store.key(...KEYS.uninstalled(n)), KIND.uninstalled, { name: n, at: clock.now() });
      }
      return removed;
    },

    async wasUninstalled(name) {
      return (await store.read(store.key(...KEYS.uninstalled(name)), KIND.uninstalled)) !== undefined;
    },

    async clearUninstalled(name) {
      await store.remove(store.key(...KEYS.uninstalled(name)));
    },

    get: (name, version) => internals.readVersion(name, version),
    getDefinition: (name, version) => internals.definitions.get(defKey(name, version)),

    async list(filter = {}) {
      const wanted = filter.status === undefined ? undefined : new Set<string>(typeof filter.status === 'string' ? [filter.status] : filter.status);
      const enabled = filter.tenant === undefined ? undefined : new Set((await registry.listEnabled(filter.tenant)).map((e) => e.name));
      // Ordered by name then version from the keys alone, so a page reads only the records it returns.
      let ids: { key: string; name: string; version: string }[];
      if (filter.name !== undefined) {
        const m = await store.read<ModuleRecord>(store.key(...KEYS.module(filter.name)), KIND.module);
        ids = (m?.versions ?? []).map((v) => ({ key: store.key(...KEYS.version(filter.name as string, v)), name: filter.name as string, version: v }));
      } else {
        ids = (await store.scan('v')).map((key) => {
          const [, name = '', version = ''] = store.segments(key);
          return { key, name, version };
        });
      }
      ids.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : compareSemver(a.version, b.version)));
      if (enabled) ids = ids.filter((i) => enabled.has(i.name));
      let start = 0;
      if (filter.after !== undefined) {
        const at = filter.after.lastIndexOf('@');
        const name = filter.after.slice(0, at);
        const version = filter.after.slice(at + 1);
        while (start < ids.length) {
          const i = ids[start] as (typeof ids)[number];
          if (i.name > name || (i.name === name && compareSemver(i.version, version) > 0)) break;
          start++;
        }
      }
      const limit = filter.limit ?? Number.POSITIVE_INFINITY;
      const out: ModuleVersionRecord[] = [];
      while (out.length < limit && start < ids.length) {
        const chunk = ids.slice(start, start + (limit === Number.POSITIVE_INFINITY ? ids.length : Math.max(limit - out.length, 64)));
        start += chunk.length;
        const records = await Promise.all(chunk.map(async (i) => withObserved(await store.read<ModuleVersionRecord>(i.key, KIND.version))));
        for (const r of records) if (r && (!wanted || wanted.has(r.status)) && out.length < limit) out.push(r);
      }
      return out;
    },

    async moduleNames(page = {}) {
      const names = (await store.scan('m')).map((k) => store.segments(k)[1] as string).sort();
      const from = page.after === undefined ? 0 : names.findIndex((n) => n > (page.after as string));
      return from < 0 ? [] : names.slice(from, page.limit === undefined ? undefined : from + page.limit);
    },

    async transition(name, version, to, opts = {}) {
      if (!isLifecycleState(to)) assertTransition('registered', to, `${name}@${version}`);
      const at = clock.now();
      let from: LifecycleState | undefined;
      const error = to === 'failed' || opts.error !== undefined ? toErrorRecord(opts, at) : undefined;
      const extra = { ...(opts.reason === undefined ? {} : { reason: opts.reason }), ...(error ? { error } : {}) };
      if (instance !== undefined) {
        // Observed state: this instance's own record, so no other instance's states can make this move illegal.
        const shared = await internals.requireVersion(name, version);
        const moved = await own.transition(shared, to, at, opts.reason, error, opts.timings);
        from = moved.from;
        events.emit('module:transition', { name, version, from, to, at, ...extra });
        return moved.record;
      }
      let missing = false;
      const record = (await store.update<ModuleVersionRecord>(store.key(...KEYS.version(name, version)), KIND.version, (current) => {
        missing = !current;
        if (!current) return KEEP;
        assertTransition(current.status, to, `${name}@${version}`);
        from = current.status;
        const entry = opts.reason === undefined ? { from: current.status, to, at } : { from: current.status, to, at, reason: opts.reason };
        const history = [...current.history, entry];
        const overflow = Math.max(0, history.length - internals.historyLimit);
        const next: ModuleVersionRecord = {
          ...current,
          status: to,
          history: history.slice(overflow),
          historyDropped: current.historyDropped + overflow,
          updatedAt: at,
        };
        return error ? { ...next, lastError: error } : next;
      })) as ModuleVersionRecord;
      // Not registered: the error names the versions that are (one more read, only on this path).
      if (missing) await internals.requireVersion(name, version);
      events.emit('module:transition', { name, version, from: from ?? null, to, at, ...extra });
      return record;
    },

    getModule: (name) => store.read<ModuleRecord>(store.key(...KEYS.module(name)), KIND.module),

    async setDesiredVersion(name, version) {
      const record = await internals.requireModuleRecord(name);
      if (version !== null && !record.versions.includes(version)) throw notFound(name, version, [...record.versions]);
      let previous: string | null = null;
      const m = await updateModule(name, (cur) => {
        previous = cur.desiredVersion;
        if (cur.desiredVersion === version) return KEEP;
        return { ...cur, desiredVersion: version, previousDesiredVersion: cur.desiredVersion };
      });
      if (previous !== version) events.emit('module:desired', { name, desiredVersion: version, previous });
      return m;
    },

    async rejectVersion(name, version, reason) {
      await internals.requireVersion(name, version);
      const at = clock.now();
      let fellBack: { from: string; to: string | null } | undefined;
      const m = await updateModule(name, (cur) => {
        fellBack = undefined;
        const rejected = [...cur.rejected.filter((r) => r.version !== version), { version, reason, at }];
        if (cur.desiredVersion !== version) return { ...cur, rejected };
        const fallback = cur.previousDesiredVersion === version ? null : cur.previousDesiredVersion;
        fellBack = { from: version, to: fallback };
        return { ...cur, rejected, desiredVersion: fallback, previousDesiredVersion: version };
      });
      events.emit('module:rejected', { name, version, reason });
      if (fellBack) events.emit('module:desired', { name, desiredVersion: fellBack.to, previous: fellBack.from });
      return m;
    },

    async clearRejection(name, version) {
      await internals.requireModuleRecord(name);
      return updateModule(name, (cur) =>
        cur.rejected.some((r) => r.version === version) ? { ...cur, rejected: cur.rejected.filter((r) => r.version !== version) } : KEEP,
      );
    },

    ...tenantConfig,
    exportSnapshot: (o) => exportSnapshot(internals, o),
    importSnapshot: (s) => importSnapshot(internals, s),
  };
  return registry;
}

/** A Map that says which key changed: a definition (with its schema) registered or dropped changes its config. */
class TrackedMap<V> extends Map<string, V> {
  constructor(private readonly onChange: (key: string) => void) {
    super();
  }
  override set(key: string, value: V): this {
    this.onChange(key);
    return super.set(key, value);
  }
  override delete(key: string): boolean {
    this.onChange(key);
    return super.delete(key);
  }
}

function notFound(name: string, version?: string, known: string[] = []): ModhostError {
  const what = version === undefined ? `module "${name}"` : `${name}@${version}`;
  const hint = known.length > 0 ? `registered versions: ${known.join(', ')}` : 'register it first with registry.register(definition)';
  return new ModhostError('MODULE_NOT_FOUND', `${what} is not registered; ${hint}`, { details: { module: name, version, known } });
}

function toErrorRecord(opts: TransitionOptions, at: number): ModuleErrorRecord {
  const e = opts.error;
  const code = e instanceof ModhostError ? e.code : e instanceof Error ? (((e as { code?: unknown }).code as string | undefined) ?? e.name) : 'UNKNOWN_ERROR';
  const message = e instanceof Error ? e.message : e === undefined ? (opts.reason ?? 'failed') : summarizeCause(e);
  const cause = e instanceof Error && e.cause !== undefined ? summarizeCause(e.cause) : undefined;
  return {
    code: typeof code === 'string' ? code : 'UNKNOWN_ERROR',
    message,
    timedOut: opts.timedOut ?? (e instanceof ModhostError && e.code === 'ACTIVATION_TIMEOUT'),
    at,
    ...(opts.phase ? { phase: opts.phase } : {}),
    ...(cause ? { cause } : {}),
  };
}

interface BrokenDependency {
  readonly dependent: string;
  readonly dependency: string;
  readonly range: string;
}

/** Dependents (not being removed) whose required range matched before the removal and would match nothing after. */
function findBrokenDependents(
  all: readonly ModuleVersionRecord[],
  removing: ReadonlySet<string>,
  satisfies: (version: string, range: string) => boolean,
): BrokenDependency[] {
  const byName = new Map<string, ModuleVersionRecord[]>();
  for (const r of all) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  const broken: BrokenDependency[] = [];
  for (const r of all) {
    const id = defKey(r.name, r.version);
    if (removing.has(id)) continue;
    for (const [dep, range] of Object.entries(r.manifest.dependencies)) {
      const candidates = byName.get(dep) ?? [];
      const matches = candidates.filter((c) => safeSatisfies(satisfies, c.version, range));
      if (matches.length > 0 && matches.every((c) => removing.has(defKey(c.name, c.version)))) {
        broken.push({ dependent: id, dependency: dep, range });
      }
    }
  }
  return broken;
}

function safeSatisfies(satisfies: (v: string, r: string) => boolean, version: string, range: string): boolean {
  try {
    return satisfies(version, range);
  } catch {
    return false;
  }
}
