import type { Activator, HealthChange, ModuleHealth } from '@modhost/activation';
import { type LifecycleState, type ModuleMetadata, type ModuleRecord, type ModuleVersionRecord, type Registry, recoveryHint } from '@modhost/core';
import type { SupervisorStatus } from '@modhost/sandbox';
import type { IsolationTier } from './isolation-policy.js';
import type { FolderModule } from './load-folder.js';

/** One module in `host.status()`. */
export interface ModuleStatus {
  readonly name: string;
  /** The version serving now; when none serves, the one that served last (or the newest registered one). */
  readonly version: string;
  /** The shown version's human-readable name (`displayName` in its manifest), when it has one. */
  readonly displayName?: string;
  /** The shown version's catalogue data (homepage, repository, tags, category), when it has any. */
  readonly metadata?: ModuleMetadata;
  readonly state: LifecycleState | 'not-loaded';
  readonly active: boolean;
  readonly isolation: IsolationTier;
  /**
   * `ok`: it passed its health gate and (when isolated) its guest runs. `degraded`: its guest crashed and is
   * restarting. `fail`: it does not serve, or its guest failed for good (see `lastError`). `unknown`: not started.
   * While the health monitor runs, a serving module's `health()` verdict counts too (`degraded` after a failed probe
   * or for a failing dependency, `fail` after `failureThreshold`): the worse of the two is shown (see `monitor`).
   */
  readonly health: { readonly status: 'ok' | 'degraded' | 'fail' | 'unknown'; readonly detail?: string };
  /**
   * What the health monitor says of the serving version, while it watches it: its status and detail, `since` (clock
   * time of the last change), `history` (the last changes, oldest first) and `unrouted` (its routes answer 503).
   */
  readonly monitor?: {
    readonly status: 'ok' | 'degraded' | 'fail';
    readonly detail?: string;
    readonly since: number;
    readonly history: readonly HealthChange[];
    readonly unrouted: boolean;
  };
  readonly dir?: string;
  /** Why the version shown failed, with what to do. */
  readonly lastError?: { readonly code: string; readonly message: string; readonly phase?: string; readonly hint: string | undefined };
  /** The latest other version that was refused or failed (a broken upgrade), kept apart from what serves. */
  readonly refused?: { readonly version: string; readonly code: string; readonly message: string; readonly hint: string | undefined };
}

/** What {@link moduleStatus} projects. */
export interface StatusInput {
  readonly name: string;
  readonly record: ModuleRecord | undefined;
  /** Every registered version's record. */
  readonly versions: readonly ModuleVersionRecord[];
  /** The version serving now, if one does. */
  readonly serving: string | undefined;
  /** Where the shown version's code runs, and its folder, when it came from one. */
  readonly isolation: IsolationTier;
  readonly dir?: string | undefined;
  readonly guest?: SupervisorStatus | undefined;
  /** What the health monitor says of the serving version, when it watches it. */
  readonly monitored?: ModuleHealth | undefined;
}

const FAILED: ReadonlySet<LifecycleState> = new Set(['failed', 'blocked', 'rolled-back']);

/** Health, first matching row wins: a table rather than nested conditions. */
const HEALTH: readonly {
  readonly when: (i: { serving: boolean; state: LifecycleState | undefined; guest: SupervisorStatus | undefined }) => boolean;
  readonly is: (i: { guest: SupervisorStatus | undefined; detail: string | undefined; state: LifecycleState | undefined }) => ModuleStatus['health'];
}[] = [
  {
    when: (i) => i.serving && i.guest?.state === 'failed',
    is: (i) => ({ status: 'fail', detail: `its guest failed for good (${i.guest?.lastCrash?.kind}: ${i.guest?.lastCrash?.detail})` }),
  },
  {
    when: (i) => i.serving && i.guest?.state === 'restarting',
    is: (i) => ({ status: 'degraded', detail: `restarting after ${i.guest?.lastCrash?.kind}: ${i.guest?.lastCrash?.detail}` }),
  },
  { when: (i) => i.serving && i.state === 'failed', is: (i) => ({ status: 'fail', detail: i.detail ?? 'failed while serving' }) },
  { when: (i) => i.serving, is: () => ({ status: 'ok' }) },
  { when: (i) => i.state !== undefined && FAILED.has(i.state), is: (i) => ({ status: 'fail', detail: i.detail ?? String(i.state) }) },
  { when: () => true, is: () => ({ status: 'unknown' }) },
];

/** Projects one module's records into its status. Pure: everything it needs is passed in. */
export function moduleStatus(input: StatusInput): ModuleStatus {
  const { name, record, versions, serving } = input;
  const byVersion = new Map(versions.map((v) => [v.version, v]));
  const version = serving ?? record?.desiredVersion ?? lastServed(versions) ?? versions.at(-1)?.version ?? '';
  const shown = byVersion.get(version);
  const state = shown?.status;
  const last = shown?.lastError;
  const recorded = (HEALTH.find((row) => row.when({ serving: serving !== undefined, state, guest: input.guest })) as (typeof HEALTH)[number]).is({
    guest: input.guest,
    detail: last?.message,
    state,
  });
  const monitored = serving !== undefined && input.monitored?.version === version ? input.monitored : undefined;
  const health = withMonitored(recorded, monitored);
  const showError = last !== undefined && (serving === undefined || state === 'failed');
  const refused = latestRefusal(versions, version, record);
  const manifest = shown?.manifest;
  return {
    name,
    version,
    ...(manifest?.displayName !== undefined ? { displayName: manifest.displayName } : {}),
    ...(manifest?.metadata !== undefined ? { metadata: manifest.metadata } : {}),
    state: state ?? 'not-loaded',
    active: serving !== undefined,
    isolation: input.isolation,
    health,
    ...(monitored
      ? {
          monitor: {
            status: monitored.status,
            ...(monitored.detail !== undefined ? { detail: monitored.detail } : {}),
            since: monitored.since,
            history: monitored.history,
            unrouted: monitored.unrouted,
          },
        }
      : {}),
    ...(input.dir !== undefined ? { dir: input.dir } : {}),
    ...(showError
      ? { lastError: { code: last.code, message: last.message, ...(last.phase ? { phase: last.phase } : {}), hint: recoveryHint(last.code) } }
      : {}),
    ...(refused ? { refused } : {}),
  };
}

const RANK = { ok: 0, unknown: 0, degraded: 1, fail: 2 } as const;

/** The worse of the recorded health and the monitor's verdict. */
function withMonitored(recorded: ModuleStatus['health'], monitored: ModuleHealth | undefined): ModuleStatus['health'] {
  if (!monitored || RANK[monitored.status] <= RANK[recorded.status]) return recorded;
  return { status: monitored.status, ...(monitored.detail !== undefined ? { detail: monitored.detail } : {}) };
}

/** The version that reached `active` most recently, from the records' histories. */
function lastServed(versions: readonly ModuleVersionRecord[]): string | undefined {
  let best: { version: string; at: number } | undefined;
  for (const v of versions) {
    const at = v.history.filter((h) => h.to === 'active').at(-1)?.at;
    if (at !== undefined && (best === undefined || at >= best.at)) best = { version: v.version, at };
  }
  return best?.version;
}

/** The most recently failed or rejected version other than the one shown. */
function latestRefusal(versions: readonly ModuleVersionRecord[], shown: string, record: ModuleRecord | undefined): ModuleStatus['refused'] {
  const rejected = new Map((record?.rejected ?? []).map((r) => [r.version, r.reason]));
  const candidates = versions.filter((v) => v.version !== shown && (FAILED.has(v.status) || rejected.has(v.version)));
  const latest = candidates.sort((a, b) => a.updatedAt - b.updatedAt).at(-1);
  if (!latest) return undefined;
  const code = latest.lastError?.code ?? 'VERSION_REJECTED';
  const message = latest.lastError?.message ?? rejected.get(latest.version) ?? latest.status;
  return { version: latest.version, code, message, hint: recoveryHint(code) };
}

/** Reads one module's records and projects its status. */
export async function readModuleStatus(
  from: {
    registry: Registry;
    activator: Pick<Activator, 'versionOf'> & Partial<Pick<Activator, 'health'>>;
    folderOf: (name: string, version: string | undefined) => FolderModule | undefined;
  },
  name: string,
): Promise<ModuleStatus> {
  const record = await from.registry.getModule(name);
  const versions = await Promise.all((record?.versions ?? []).map((v) => from.registry.get(name, v)));
  const serving = from.activator.versionOf(name);
  const folder = from.folderOf(name, serving ?? record?.desiredVersion ?? undefined);
  return moduleStatus({
    name,
    record,
    versions: versions.filter((v) => v !== undefined),
    serving,
    isolation: folder?.isolation ?? 'in-process',
    dir: folder?.dir,
    guest: folder?.guest?.(),
    monitored: serving !== undefined ? from.activator.health?.(name) : undefined,
  });
}
