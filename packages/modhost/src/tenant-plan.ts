import { isDeepStrictEqual } from 'node:util';
import { isModhostError, type ModuleRecord, maskConfig, mergeConfig, REDACTED, type TenantEnablement } from '@modhost/core';
import { isPlainObject } from '@modhost/core/internal';
import type { WantedModule, WantedTenant } from './tenant-changes.js';
import { enablementState, type TenantDeps, tenantCounts } from './tenant-state.js';
import type { TenantProblem, TenantStep } from './tenant-types.js';

/** One step to take, with what writing it needs. */
interface PlannedStep {
  /** Replaced once, when the whole run is known, to add a note. */
  step: TenantStep;
  readonly path: readonly (string | number)[];
  /** For `configure`: the whole tenant layer to write, sensitive values in clear (never reported). */
  readonly values?: Record<string, unknown>;
}

/** One tenant's steps, and its state before them (what the snapshot keeps). */
interface PlannedTenant {
  readonly tenant: string;
  readonly steps: readonly PlannedStep[];
  readonly enabled: readonly TenantEnablement[];
  /** The current version of the tenant's config layer of each module the steps configure. */
  readonly configVersions: Readonly<Record<string, number>>;
}

/** Who a module served before its enablement changed: its record's `access` (null: unset) and whether a tenant had it. */
export interface AccessBefore {
  readonly access: 'host' | 'tenants' | null;
  readonly hadTenants: boolean;
}

/** Every step of a run and every problem that stops it, read from the registry; nothing is written. */
export interface TenantPlan {
  readonly tenants: readonly PlannedTenant[];
  readonly problems: readonly TenantProblem[];
  /** For each module whose enablement changes. */
  readonly access: Readonly<Record<string, AccessBefore>>;
}

/** `"[redacted]"` at a sensitive path means "keep what is stored" (a masked export applies as it is). */
function keepRedacted(candidate: Record<string, unknown>, stored: Record<string, unknown>, sensitive: readonly string[]) {
  for (const path of sensitive) {
    const segs = path.split('.');
    const last = segs.pop() as string;
    let node: unknown = candidate;
    let from: unknown = stored;
    for (const seg of segs) {
      node = isPlainObject(node) ? node[seg] : undefined;
      from = isPlainObject(from) ? from[seg] : undefined;
    }
    if (!isPlainObject(node) || node[last] !== REDACTED) continue;
    if (isPlainObject(from) && Object.hasOwn(from, last)) node[last] = from[last];
    else delete node[last];
  }
  return candidate;
}

/**
 * Reads each tenant's state and works out the steps that take it to what `wanted` asks, and every problem: a module
 * not registered, a range no registered version satisfies, a config its schema rejects (checked by the registry's
 * `configure` with `dryRun`). Steps per tenant: disables, then enables, then config, each by module name.
 */
export async function planTenants(deps: Pick<TenantDeps, 'registry' | 'satisfies'>, wanted: readonly WantedTenant[]): Promise<TenantPlan> {
  const { registry } = deps;
  const records = new Map<string, ModuleRecord | undefined>();
  const recordOf = async (name: string) => {
    if (!records.has(name)) records.set(name, await registry.getModule(name));
    return records.get(name);
  };
  // Tenants per module before the run and after it, to note the step that gates a module (its first tenant) or
  // leaves it with none.
  const counts = await tenantCounts(registry);
  const after = new Map(counts);
  const access: Record<string, AccessBefore> = {};
  const problems: TenantProblem[] = [];
  const tenants: PlannedTenant[] = [];
  const count = async (name: string, delta: 1 | -1) => {
    access[name] ??= { access: (await recordOf(name))?.access ?? null, hadTenants: (counts.get(name) ?? 0) > 0 };
    after.set(name, (after.get(name) ?? 0) + delta);
  };

  for (const t of wanted) {
    const { tenant } = t;
    const current = new Map((await registry.listEnabled(tenant)).map((e) => [e.name, e]));
    const disables: PlannedStep[] = [];
    const enables: PlannedStep[] = [];
    const configures: PlannedStep[] = [];
    const configVersions: Record<string, number> = {};
    const problem = (m: Pick<WantedModule, 'name' | 'path'>, code: string, message: string, at: readonly string[] = []) =>
      problems.push({ tenant, module: m.name, path: [...m.path, ...at], code, message });
    const disable = async (name: string, path: readonly (string | number)[]) => {
      await count(name, -1);
      disables.push({ path, step: { tenant, module: name, action: 'disable', before: enablementState(current.get(name)), after: { enabled: false } } });
    };

    for (const m of t.modules) {
      const record = await recordOf(m.name);
      if (!record || record.versions.length === 0) {
        const known = [...new Set((await registry.list()).map((r) => r.name))];
        problem(
          m,
          'MODULE_NOT_FOUND',
          `module "${m.name}" is not registered on this host (registered: ${known.join(', ') || 'none'}); install it first, or remove it from tenant "${tenant}"`,
        );
        continue;
      }
      const cur = current.get(m.name);
      if (m.enabled) {
        const range = t.mode === 'replace' ? m.range : (m.range ?? cur?.range);
        if (range !== undefined && range !== cur?.range) {
          const matching = record.versions.filter((v) => deps.satisfies(v, range));
          if (matching.length === 0)
            problem(
              m,
              'DEPENDENCY_UNSATISFIED',
              `no registered version of "${m.name}" satisfies "${range}" (registered: ${record.versions.join(', ')}); install one, or change the range`,
              ['range'],
            );
          else if (matching.every((v) => record.rejected.some((r) => r.version === v)))
            problem(
              m,
              'VERSION_REJECTED',
              `every version of "${m.name}" that satisfies "${range}" (${matching.join(', ')}) was rejected; install a fixed version`,
              ['range'],
            );
        }
        if (!cur || cur.range !== range) {
          if (!cur) await count(m.name, 1);
          enables.push({ path: m.path, step: { tenant, module: m.name, action: 'enable', before: enablementState(cur), after: enablementState({ range }) } });
        }
      } else if (cur) await disable(m.name, m.path);

      if (m.config) {
        const layer = await registry.getConfig(m.name, { tenant, reveal: true });
        const stored = layer.layers.tenant;
        const merged = t.mode === 'replace' ? mergeConfig(m.config) : mergeConfig(stored, m.config);
        const values = keepRedacted(merged, stored, record.sensitive);
        if (isDeepStrictEqual(values, stored)) continue;
        try {
          await registry.configure(m.name, values, { tenant, mode: 'replace', dryRun: true });
          configVersions[m.name] = layer.versions.tenant;
          const mask = (v: Record<string, unknown>) => maskConfig(v, record.sensitive);
          configures.push({ path: m.path, values, step: { tenant, module: m.name, action: 'configure', before: mask(stored), after: mask(values) } });
        } catch (e) {
          if (!isModhostError(e)) throw e;
          problem(m, e.code, e.message, ['config']);
        }
      }
    }
    if (t.mode === 'replace') {
      const listed = new Set(t.modules.map((m) => m.name));
      for (const name of current.keys()) if (!listed.has(name)) await disable(name, ['tenants', tenant, 'modules']);
    }
    const byName = (a: PlannedStep, b: PlannedStep) => (a.step.module < b.step.module ? -1 : a.step.module > b.step.module ? 1 : 0);
    tenants.push({
      tenant,
      steps: [...disables.sort(byName), ...enables.sort(byName), ...configures.sort(byName)],
      enabled: [...current.values()],
      configVersions,
    });
  }
  noteAccess(
    tenants.flatMap((t) => t.steps),
    access,
    after,
  );
  return { tenants, problems, access };
}

/** Notes the step that gives a module (host-wide until then) its first tenant, and the one that takes its last. */
function noteAccess(steps: readonly PlannedStep[], access: Readonly<Record<string, AccessBefore>>, after: ReadonlyMap<string, number>) {
  const gated = new Set<string>();
  const emptied = new Set<string>();
  for (const s of steps) {
    const { module: name, action } = s.step;
    const a = access[name];
    if (action !== 'enable' || s.step.before.enabled || !a || a.access !== null || a.hadTenants || gated.has(name)) continue;
    gated.add(name);
    s.step = {
      ...s.step,
      note: `${name}'s first tenant: from now on it serves only the tenants it is enabled for, and requests with no tenant no longer reach it`,
    };
  }
  for (const s of [...steps].reverse()) {
    const { module: name, action } = s.step;
    if (action !== 'disable' || access[name]?.access === 'host' || after.get(name) !== 0 || emptied.has(name)) continue;
    emptied.add(name);
    s.step = { ...s.step, note: `${name}'s last tenant: it then serves no request until a tenant is enabled, or enable("${name}") makes it host-wide` };
  }
}
