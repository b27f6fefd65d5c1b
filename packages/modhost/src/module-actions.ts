import type { ActivationReport, Activator, UpgradeOptions, UpgradeReport } from '@modhost/activation';
import type { Registry } from '@modhost/core';
import { resolveRunnable } from './activation-policy.js';
import type { HostEvents } from './host-types.js';
import type { ModuleCatalog } from './module-catalog.js';

/** What the host does to modules, each turned into its events. */
export interface ModuleActions {
  /** Resolves what can run (setting aside what cannot) and starts it. */
  activateAll(): Promise<ActivationReport>;
  /** Hot-swaps a serving module to a registered version. */
  swap(name: string, version: string, options?: UpgradeOptions): Promise<UpgradeReport>;
  /** Points a module back at its warm previous version. */
  rollback(name: string): Promise<UpgradeReport>;
}

/** Wires the activator's reports to the host's events. */
export function createModuleActions(input: {
  hostVersion: string;
  registry: Registry;
  activator: Activator;
  catalog: ModuleCatalog;
  emit: <K extends keyof HostEvents>(event: K, payload: HostEvents[K]) => void;
}): ModuleActions {
  const { activator, catalog, emit } = input;
  const activatorServes = (name: string) => activator.versionOf(name);
  // Every rollback, by hand or after failed health probes, becomes a host event.
  activator.on('rolled-back', (r) => emit('module:rolled-back', { name: r.module, from: r.from, to: r.to }));
  activator.on('rollback-refused', (r) =>
    emit('module:rollback-refused', {
      name: r.module,
      from: r.from,
      to: r.to,
      code: r.error?.code ?? 'ROLLBACK_FAILED',
      message: r.error?.message ?? r.reason,
    }),
  );
  return {
    async activateAll() {
      // The desired state rules: a rejected version never starts again (also after a restart), and the desired
      // version is preferred for a module that does not serve yet.
      const entries = catalog.entries();
      // A version that serves stays in the plan even if its code came in through the registry (a version registered
      // there and upgraded to): without it the resolver would pick an older one and try to start it again.
      for (const [name, version] of Object.entries(catalog.serving())) {
        const def = catalog.has(name, version) ? undefined : input.registry.getDefinition(name, version);
        if (def) entries.push(def);
      }
      const records = new Map(await Promise.all(catalog.names().map(async (n) => [n, await input.registry.getModule(n)] as const)));
      const rejected = (name: string, version: string) => records.get(name)?.rejected.some((r) => r.version === version) ?? false;
      const preferred: Record<string, string> = {};
      for (const [name, record] of records) {
        const want = record?.desiredVersion;
        if (want && catalog.has(name, want) && !rejected(name, want)) preferred[name] = want;
      }
      Object.assign(preferred, catalog.serving());
      const allowed = entries.filter((e) => !rejected(e.name, e.version));
      // A set, not a scan of every entry per name: with 100,000 modules that scan was quadratic.
      const allowedNames = new Set(allowed.map((e) => e.name));
      for (const name of catalog.names()) {
        if (!allowedNames.has(name) && activatorServes(name) === undefined) {
          const versions = entries.filter((e) => e.name === name).map((e) => e.version);
          emit('module:failed', {
            name,
            version: versions.at(-1) ?? '',
            code: 'VERSION_REJECTED',
            message: `${name}: every loaded version (${versions.join(', ')}) was rejected earlier; install a fixed version`,
          });
        }
      }
      const runnable = resolveRunnable({ host: input.hostVersion, catalog: allowed, preferred });
      for (const s of runnable.setAside) emit('module:failed', { name: s.name, version: '', code: s.code, message: s.message });
      if (!runnable.ok) return { ok: false, modules: [], peakConcurrency: 0 };
      const report = await activator.activate(runnable.plan);
      for (const m of report.modules) {
        if (m.state === 'active') emit('module:activated', { name: m.name, version: m.version });
        else if (m.state === 'failed' || m.state === 'blocked') {
          const { code, message } = m.error ?? { code: m.state.toUpperCase(), message: `blocked by ${m.blockedBy}` };
          emit('module:failed', { name: m.name, version: m.version, code, message });
        }
      }
      return report;
    },
    async swap(name, version, options) {
      const from = activator.versionOf(name) ?? '';
      const report = await activator.upgrade(name, version, options);
      if (report.outcome === 'switched') emit('module:upgraded', { name, from, to: version });
      else if (!report.ok) {
        const { code, message } = report.error ?? { code: report.outcome.toUpperCase(), message: report.explanation ?? report.outcome };
        emit('module:upgrade-failed', { name, from, to: version, code, message });
      }
      return report;
    },
    // Its events come from the activator's, like those of automatic rollbacks (see createModuleActions).
    rollback: (name) => activator.rollback(name),
  };
}
