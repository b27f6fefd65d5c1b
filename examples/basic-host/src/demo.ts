import {
  type AnyModuleDefinition,
  createRegistry,
  type HealthResult,
  type Logger,
  type ModuleContext,
  memoryStorage,
  type Registry,
  type RegistryEvents,
} from '@modhost/core';
import { allModules } from './modules.js';

/** Options for {@link runDemo}. */
export interface DemoOptions {
  /** Where lines go. Default: console.log. */
  print?: (line: string) => void;
  /** Time source, so tests are deterministic. */
  now?: () => number;
}

const healthy = (h: HealthResult) => h === true || (typeof h === 'object' && h.status !== 'fail');

/**
 * The example host: registers modules, enables them for two tenants with different config,
 * and starts them in dependency order while printing every lifecycle transition.
 *
 * The ordered walk here is deliberately simple (sequential, by declared dependency names);
 * @modhost/resolver and @modhost/activation replace it with semver resolution, parallel waves,
 * timeouts and rollback.
 */
export async function runDemo(options: DemoOptions = {}): Promise<Registry> {
  const print = options.print ?? ((line: string) => console.log(line));
  const start = options.now?.() ?? Date.now();
  const registry = createRegistry({ storage: memoryStorage(), ...(options.now ? { clock: { now: options.now } } : {}) });

  const stamp = (at: number) => `+${String(at - start).padStart(4)}ms`;
  registry.on('module:transition', (e: RegistryEvents['module:transition']) => {
    const why = e.error ? `  (${e.error.phase ?? '?'}: ${e.error.message})` : e.reason ? `  (${e.reason})` : '';
    print(`  ${stamp(e.at)}  ${`${e.name}@${e.version}`.padEnd(16)} ${String(e.from ?? '∅').padEnd(10)} → ${e.to}${why}`);
  });
  registry.on('config:changed', (e) =>
    print(`  config    ${e.name} ${e.tenant ? `tenant ${e.tenant}` : 'host-wide'} v${e.version}: ${JSON.stringify(e.values)}`),
  );
  registry.on('tenant:enabled', (e) => print(`  tenant    ${e.tenant} enabled ${e.name}${e.range ? ` ${e.range}` : ''}`));

  print('\n1. Register modules');
  for (const m of allModules) await registry.register(m);

  print('\n2. Enable modules for two tenants, with different config');
  for (const name of ['tasks', 'reports', 'billing', 'search', 'insights']) await registry.enable(name, { tenant: 'acme' });
  for (const name of ['tasks', 'notes']) await registry.enable(name, { tenant: 'globex' });
  await registry.configure('billing', { apiKey: 'sk_test_shared_91c2' });
  await registry.configure('billing', { currency: 'USD', apiKey: 'sk_live_acme_7f3a' }, { tenant: 'acme' });
  await registry.configure('tasks', { maxTasks: 500 }, { tenant: 'acme' });
  await registry.configure('tasks', { maxTasks: 10 }, { tenant: 'globex' });
  await registry.configure('notes', { markdown: false }, { tenant: 'globex' });

  print('\n3. Start modules in dependency order (health-gated)');
  await startAll(registry, print);

  print('\n4. Status');
  for (const r of await registry.list()) {
    const err = r.lastError ? `  ${r.lastError.code} in ${r.lastError.phase}: ${r.lastError.message}` : '';
    print(`  ${`${r.name}@${r.version}`.padEnd(18)} ${r.status.padEnd(9)} ${r.history.length} transitions${err}`);
  }

  print('\n5. Effective config per tenant (secrets masked)');
  for (const tenant of await registry.listTenants()) {
    for (const e of await registry.listEnabled(tenant)) {
      const def = registry.getDefinition(e.name, (await registry.list({ name: e.name }))[0]?.version ?? '');
      if (!def?.config) continue;
      const cfg = await registry.getConfig(e.name, { tenant });
      print(`  ${tenant.padEnd(7)} ${e.name.padEnd(8)} ${JSON.stringify(cfg.values)}`);
    }
  }

  print('\n6. Roll a config change back');
  await registry.configure('tasks', { maxTasks: 5 }, { tenant: 'globex' });
  const restored = await registry.rollbackConfig('tasks', { tenant: 'globex', to: 1 });
  print(`  globex tasks config is version ${restored.version}, restored from version ${restored.restoredFrom}: ${JSON.stringify(restored.values)}`);

  const snapshot = await registry.exportSnapshot();
  print(
    `\n7. Snapshot: ${snapshot.entries.length} records, ${JSON.stringify(snapshot).length} bytes (secrets masked; export with includeSensitive for a restorable backup)`,
  );
  return registry;
}

function contextFor(def: AnyModuleDefinition, config: Record<string, unknown>, deps: Record<string, unknown>, print: (l: string) => void): ModuleContext {
  const log = (level: string) => (message: string) => print(`            [${def.name}] ${level}: ${message}`);
  const logger: Logger = { debug: () => {}, info: log('info'), warn: log('warn'), error: log('error') };
  const data = new Map<string, unknown>();
  return {
    module: { name: def.name, version: def.version },
    tenant: undefined,
    config,
    logger,
    storage: {
      get: async <T>(k: string) => data.get(k) as T | undefined,
      set: async (k, v) => void data.set(k, v),
      delete: async (k) => void data.delete(k),
      keys: async (p = '') => [...data.keys()].filter((k) => k.startsWith(p)),
    },
    deps,
    services: {},
  };
}

async function startAll(registry: Registry, print: (l: string) => void): Promise<void> {
  const records = await registry.list();
  const apis = new Map<string, unknown>();
  const failed = new Set<string>();
  const done = new Set<string>();
  while (done.size < records.length) {
    const next = records.find((r) => !done.has(r.name) && Object.keys(r.manifest.dependencies).every((d) => done.has(d)));
    if (!next) throw new Error('the example modules have a dependency cycle');
    done.add(next.name);
    const { name, version } = next;
    const def = registry.getDefinition(name, version) as AnyModuleDefinition;
    await registry.transition(name, version, 'resolved');
    const badDep = Object.keys(next.manifest.dependencies).find((d) => failed.has(d));
    if (badDep) {
      failed.add(name);
      await registry.transition(name, version, 'blocked', { reason: `dependency ${badDep} failed` });
      continue;
    }
    await registry.transition(name, version, 'queued');
    await registry.transition(name, version, 'loading');
    await registry.transition(name, version, 'starting');
    const resolved = await registry.getConfig(name, { reveal: true });
    if (resolved.issues.length > 0) {
      failed.add(name);
      const list = resolved.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      await registry.transition(name, version, 'failed', {
        phase: 'start',
        error: Object.assign(new Error(`config rejected: ${list}`), { code: 'CONFIG_INVALID' }),
      });
      continue;
    }
    const config = resolved.values;
    const deps = Object.fromEntries(Object.keys(next.manifest.dependencies).map((d) => [d, apis.get(d)]));
    const ctx = contextFor(def, config, deps, print);
    try {
      const api = await def.activate?.(ctx);
      await registry.transition(name, version, 'verifying');
      const health = (await def.health?.(ctx)) ?? true;
      if (!healthy(health)) {
        const detail = typeof health === 'object' && health.detail ? health.detail : 'health() returned false';
        throw Object.assign(new Error(`health check failed: ${detail}`), { code: 'HEALTH_CHECK_FAILED' });
      }
      apis.set(name, api);
      await registry.transition(name, version, 'ready');
      await registry.transition(name, version, 'active');
    } catch (error) {
      failed.add(name);
      const phase = (await registry.get(name, version))?.status === 'verifying' ? 'verify' : 'start';
      await registry.transition(name, version, 'failed', { phase, error });
      await def.deactivate?.(ctx);
    }
  }
}
