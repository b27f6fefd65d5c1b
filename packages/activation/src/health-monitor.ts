// The health monitor: after activation, every active module's `health(ctx)` keeps being probed on a period, and
// its status moves ok → degraded → fail and back. One due list and one clock timer serve every module; a probe
// that has not answered is never started again, and its timeout is an entry in the same list, not a timer.
import { type HealthResult, isModhostError, summarizeCause } from '@modhost/core';
import { createDueList } from './health-monitor-schedule.js';
import { unroute } from './health-monitor-unroute.js';
import type {
  HealthAction,
  HealthChange,
  HealthMonitor,
  HealthMonitorOptions,
  HealthPolicy,
  HealthStatus,
  ModuleHealth,
  ModuleHealthEvent,
  RestartReport,
  UpgradeReport,
} from './types.js';
import type { Running, VersionRunner } from './version-runner.js';

const DEFAULTS = { periodMs: 10_000, timeoutMs: 5_000, successThreshold: 1, failureThreshold: 3, policy: 'none' as HealthPolicy };

/** What the monitor acts through: the activator's own restart and rollback (so what follows them runs too). @internal */
export interface HealthMonitorParts {
  readonly runner: VersionRunner;
  readonly options: HealthMonitorOptions | undefined;
  readonly emit: (event: ModuleHealthEvent) => void;
  readonly restart: (name: string) => Promise<RestartReport>;
  readonly rollback: (name: string) => Promise<UpgradeReport>;
}

/** One watched module. */
interface Watch {
  readonly name: string;
  instance: Running;
  settings: typeof DEFAULTS;
  /** Its own probes' verdict; `failing` when that verdict comes from failed probes (not its own `degraded`). */
  own: HealthStatus;
  ownDetail: string | undefined;
  failing: boolean;
  failures: number;
  passes: number;
  /** What is reported: its own verdict, or `degraded` for a failing dependency. */
  status: HealthStatus;
  detail: string | undefined;
  since: number;
  history: HealthChange[];
  probes: number;
  /** The probe scheduled next: an older entry in the due list is stale. */
  token: number;
  /** The probe under way, if any; `late` once its timeout passed (it counted as a failure). */
  inFlight: { readonly id: number; late: boolean } | undefined;
  /** A policy action under way: no probes meanwhile. */
  acting: boolean;
  /** The action to report with the next status change (set before a restart or rollback replaces the instance). */
  pendingAction: HealthAction | undefined;
  reroute: (() => void) | undefined;
}

type Due = { readonly kind: 'probe'; readonly w: Watch; readonly token: number } | { readonly kind: 'deadline'; readonly w: Watch; readonly id: number };

const depsOf = (r: Running | undefined) => Object.keys(r?.def.dependencies ?? {});
const isThenable = (x: unknown): x is PromiseLike<unknown> => typeof (x as PromiseLike<unknown> | null)?.then === 'function';

/** The monitor as the activator holds it: `sync` is told after anything that changes what runs. @internal */
export interface ActivatorHealthMonitor extends HealthMonitor {
  sync(): void;
}

/** Creates the health monitor of an activator (stopped until `start()`). @internal */
export function createHealthMonitor(parts: HealthMonitorParts): ActivatorHealthMonitor {
  const e = parts.runner;
  const { clock } = e;
  let options: HealthMonitorOptions = parts.options ?? {};
  let running = false;
  const watched = new Map<string, Watch>();
  let nextProbeId = 1;
  const counters = { probes: 0, skipped: 0, timedOut: 0 };
  let timersBefore = 0;

  const settingsOf = (name: string): typeof DEFAULTS => {
    const own = options.modules?.[name] ?? {};
    const pick = <K extends keyof typeof DEFAULTS>(k: K) => (own[k] ?? options[k] ?? DEFAULTS[k]) as (typeof DEFAULTS)[K];
    return {
      periodMs: Math.max(1, pick('periodMs')),
      timeoutMs: pick('timeoutMs'),
      successThreshold: Math.max(1, pick('successThreshold')),
      failureThreshold: Math.max(1, pick('failureThreshold')),
      policy: pick('policy'),
    };
  };

  let due = createDueList<Due>(clock, options.resolutionMs ?? 100, (items) => {
    for (const item of items) serve(item);
  });

  const current = (w: Watch) => watched.get(w.name) === w;
  const scheduleProbe = (w: Watch, at: number) => {
    if (!w.instance.def.health) return;
    w.token++;
    due.add(at, { kind: 'probe', w, token: w.token });
  };

  // ---- verdicts ----

  /** The first module in `w`'s dependency closure that fails, fails its probes, or no longer runs. */
  const failingDependency = (w: Watch): string | undefined => {
    if (w.instance.def.dependencies === undefined) return undefined;
    const seen = new Set<string>([w.name]);
    const stack = depsOf(w.instance).reverse();
    while (stack.length > 0) {
      const d = stack.pop() as string;
      if (seen.has(d)) continue;
      seen.add(d);
      const r = e.running.get(d);
      if (!r) return d;
      const dw = watched.get(d);
      if (dw && (dw.own === 'fail' || dw.failing)) return d;
      stack.push(...depsOf(r).reverse());
    }
    return undefined;
  };

  // Who depends on whom among watched modules (declared `dependencies`), kept as modules come and go.
  const dependents = new Map<string, Set<string>>();
  const link = (w: Watch, on: boolean) => {
    for (const d of depsOf(w.instance)) {
      const set = dependents.get(d) ?? new Set<string>();
      dependents.set(d, set);
      if (on) set.add(w.name);
      else set.delete(w.name);
    }
  };
  /** `names` and everything that (transitively) depends on them. */
  const withDependents = (names: Iterable<string>): Set<string> => {
    const out = new Set(names);
    for (const n of out) for (const d of dependents.get(n) ?? []) out.add(d);
    return out;
  };
  /** Whether `w` makes its dependents degraded. */
  const blames = (w: Watch) => w.own === 'fail' || w.failing;

  const recordChange = (w: Watch, status: HealthStatus, detail: string | undefined, action: HealthAction | undefined) => {
    const previous = w.status;
    w.status = status;
    w.detail = detail;
    if (previous === status && action === undefined) return;
    const at = clock.now();
    if (previous !== status) w.since = at;
    const change: HealthChange = { at, status, previous, ...(detail !== undefined ? { detail } : {}), ...(action !== undefined ? { action } : {}) };
    w.history.push(change);
    const limit = Math.max(1, options.historyLimit ?? 10);
    if (w.history.length > limit) w.history.splice(0, w.history.length - limit);
    parts.emit({
      name: w.name,
      version: w.instance.version,
      status,
      previous,
      ...(detail !== undefined ? { detail } : {}),
      ...(action !== undefined ? { action } : {}),
    });
  };

  /** Recomputes what `names` (and, with `propagate`, their dependents) report, emitting each change. */
  const refresh = (names: Iterable<string>, actions: ReadonlyMap<string, HealthAction> = new Map(), propagate = true) => {
    for (const name of propagate ? withDependents(names) : names) {
      const w = watched.get(name);
      if (!w) continue;
      const dep = w.own === 'ok' ? failingDependency(w) : undefined;
      const [status, detail] = dep !== undefined ? (['degraded', `dependency ${dep}`] as const) : ([w.own, w.ownDetail] as const);
      const action = actions.get(name) ?? (w.status !== status ? takePending(w) : undefined);
      if (w.status !== status || action !== undefined) recordChange(w, status, detail, action);
      else w.detail = detail;
    }
  };
  const takePending = (w: Watch) => {
    const a = w.pendingAction;
    w.pendingAction = undefined;
    return a;
  };

  /** Applies one probe's verdict to `w`'s own status; on entering `fail`, its policy acts. */
  const verdict = (w: Watch, passed: boolean, reported: 'ok' | 'degraded', detail: string | undefined) => {
    const { successThreshold, failureThreshold } = w.settings;
    const wasFail = w.own === 'fail';
    const blamed = blames(w);
    const before = { own: w.own, detail: w.ownDetail };
    if (!passed) {
      w.passes = 0;
      w.failures++;
      w.failing = true;
      w.own = wasFail || w.failures >= failureThreshold ? 'fail' : 'degraded';
      w.ownDetail = `${w.failures} health probe${w.failures === 1 ? '' : 's'} failed in a row: ${detail}`;
      if (!wasFail && w.own === 'fail') e.loggerFor(w.name).warn(`failed ${w.failures} health probes in a row: ${detail}`);
    } else {
      w.failures = 0;
      w.passes++;
      // Failing probes are left behind only after `successThreshold` passes in a row.
      if (!w.failing || w.passes >= successThreshold) {
        w.failing = false;
        w.own = reported;
        w.ownDetail = reported === 'degraded' ? (detail ?? 'degraded') : undefined;
      }
    }
    const actions = new Map<string, HealthAction>();
    if (!wasFail && w.own === 'fail') {
      const action = act(w);
      if (action) actions.set(w.name, action);
    } else if (wasFail && w.own !== 'fail' && w.reroute) {
      w.reroute();
      w.reroute = undefined;
      actions.set(w.name, 'rerouted');
    }
    // Most probes change nothing: then nothing is recomputed. Dependents are looked at only when what they see changed.
    if (actions.size === 0 && w.own === before.own && w.ownDetail === before.detail && blames(w) === blamed) return;
    refresh([w.name], actions, blames(w) !== blamed);
  };

  // ---- policies ----

  /** What `w`'s policy does as it enters `fail`; the action to report with the change. */
  const act = (w: Watch): HealthAction | undefined => {
    switch (w.settings.policy) {
      case 'unroute': {
        w.reroute = unroute(e, w.instance);
        return 'unrouted';
      }
      case 'rollback': {
        if (!e.warm.has(w.name)) {
          w.ownDetail = `${w.ownDetail}; no upgrade's rollback window is open, so nothing was rolled back`;
          return 'rollback-unavailable';
        }
        void runAction(w, 'rolled-back', 'rollback-refused', async () => (await parts.rollback(w.name)).ok);
        return 'rollback';
      }
      case 'restart': {
        void runAction(w, 'restarted', 'restart-failed', async () => (await parts.restart(w.name)).ok);
        return 'restart';
      }
      default:
        return undefined;
    }
  };

  /** Runs a restart or a rollback; a new instance resets the watch (reported with `done`), else `failed` is reported. */
  const runAction = async (w: Watch, done: HealthAction, failed: HealthAction, work: () => Promise<boolean>) => {
    w.acting = true;
    w.pendingAction = done;
    let ok = false;
    try {
      ok = await work();
    } catch (error) {
      e.loggerFor(w.name).error(`health policy "${w.settings.policy}" failed: ${summarizeCause(error)}`);
    }
    w.acting = false;
    if (!running) return;
    if (!ok && current(w)) {
      w.pendingAction = undefined;
      recordChange(w, w.status, w.detail, failed);
    }
    // A new instance starts afresh; a module that no longer runs is dropped (its dependents see it missing).
    sync();
  };

  // ---- probing ----

  const serve = (item: Due) => {
    const w = item.w;
    if (!running || !current(w)) return;
    if (item.kind === 'deadline') {
      if (w.inFlight?.id !== item.id || w.inFlight.late) return;
      w.inFlight.late = true;
      counters.timedOut++;
      scheduleProbe(w, clock.now() + w.settings.periodMs);
      verdict(w, false, 'ok', `the probe did not answer within ${w.settings.timeoutMs} ms`);
      return;
    }
    if (item.token !== w.token) return;
    const r = e.running.get(w.name);
    if (r !== w.instance) {
      sync();
      return;
    }
    scheduleProbe(w, clock.now() + w.settings.periodMs);
    // A restart or rollback under way is not disturbed; a probe still out is never started again (no pile-up).
    if (w.acting) return;
    if (w.inFlight) {
      counters.skipped++;
      // Within its timeout it may still answer; past it, every period it stays silent is one more failure.
      if (w.inFlight.late) verdict(w, false, 'ok', `the probe has not answered for over ${w.settings.timeoutMs} ms`);
      return;
    }
    probe(w);
  };

  const probe = (w: Watch) => {
    const health = w.instance.def.health;
    if (!health) return;
    w.probes++;
    counters.probes++;
    let result: HealthResult | PromiseLike<HealthResult>;
    try {
      result = health(w.instance.ctx);
    } catch (error) {
      onProbeError(w, error);
      return;
    }
    // Most health() answer synchronously: no deadline, no promise.
    if (!isThenable(result)) {
      onResult(w, result);
      return;
    }
    const id = nextProbeId++;
    w.inFlight = { id, late: false };
    if (Number.isFinite(w.settings.timeoutMs)) due.add(clock.now() + w.settings.timeoutMs, { kind: 'deadline', w, id });
    Promise.resolve(result).then(
      (value) => settle(w, id, () => onResult(w, value)),
      (error: unknown) => settle(w, id, () => onProbeError(w, error)),
    );
  };

  const settle = (w: Watch, id: number, apply: () => void) => {
    if (w.inFlight?.id !== id) return;
    const late = w.inFlight.late;
    w.inFlight = undefined;
    // A late answer is not a verdict: its timeout already counted, and the next probe is already scheduled.
    if (late || !running || !current(w)) return;
    apply();
  };

  const onResult = (w: Watch, result: HealthResult) => {
    if (result === true) verdict(w, true, 'ok', undefined);
    else if (result === false || result === null || typeof result !== 'object') verdict(w, false, 'ok', 'health() returned false');
    else {
      // The module's own detail string is shown as it is, kept short; nothing else of the module's is.
      const detail = typeof result.detail === 'string' ? result.detail.slice(0, 200) : undefined;
      if (result.status === 'fail') verdict(w, false, 'ok', detail ?? 'health() returned fail');
      else verdict(w, true, result.status === 'degraded' ? 'degraded' : 'ok', detail);
    }
  };
  const onProbeError = (w: Watch, error: unknown) => {
    // An exception's text may hold secrets: the status says only that it threw (and its code); the log has the rest.
    if (w.failures === 0) e.loggerFor(w.name).warn(`health() threw: ${summarizeCause(error)}`);
    verdict(w, false, 'ok', isModhostError(error) ? `health() threw ${error.code}` : 'health() threw');
  };

  // ---- what is watched ----

  const fresh = (r: Running, now: number): Watch => ({
    name: r.name,
    instance: r,
    settings: settingsOf(r.name),
    own: 'ok',
    ownDetail: undefined,
    failing: false,
    failures: 0,
    passes: 0,
    status: 'ok',
    detail: undefined,
    since: now,
    history: [],
    probes: 0,
    token: 0,
    inFlight: undefined,
    acting: false,
    pendingAction: undefined,
    reroute: undefined,
  });

  /** Takes in what became active, drops what stopped, and starts afresh on a replaced instance. */
  const sync = () => {
    if (!running) return;
    const now = clock.now();
    const changed: string[] = [];
    const added: Watch[] = [];
    for (const name of [...watched.keys()]) {
      if (e.running.has(name)) continue;
      const w = watched.get(name) as Watch;
      w.reroute?.();
      link(w, false);
      watched.delete(name);
      changed.push(name);
    }
    for (const name of e.activeOrder) {
      const r = e.running.get(name);
      if (!r) continue;
      const w = watched.get(name);
      if (!w) {
        const nw = fresh(r, now);
        watched.set(name, nw);
        link(nw, true);
        added.push(nw);
        changed.push(name);
      } else if (w.instance !== r) {
        // A new instance (upgrade, rollback, restart) passed its gate: its verdict starts afresh.
        w.reroute = undefined;
        link(w, false);
        Object.assign(w, { instance: r, own: 'ok', ownDetail: undefined, failing: false, failures: 0, passes: 0, probes: 0, inFlight: undefined });
        link(w, true);
        w.settings = settingsOf(name);
        scheduleProbe(w, now + w.settings.periodMs);
        changed.push(name);
      }
    }
    // The first probes of modules taken in together are spread over one period, not all at the same instant.
    added.forEach((w, i) => {
      scheduleProbe(w, now + Math.ceil((w.settings.periodMs * (i + 1)) / added.length));
    });
    if (changed.length > 0) refresh(changed);
  };

  const view = (w: Watch): ModuleHealth => ({
    name: w.name,
    version: w.instance.version,
    status: w.status,
    ...(w.detail !== undefined ? { detail: w.detail } : {}),
    since: w.since,
    history: [...w.history],
    policy: w.settings.policy,
    unrouted: w.reroute !== undefined,
    probes: w.probes,
  });

  return {
    start(next) {
      if (next) options = next;
      if (running) {
        // New options: what is watched stays, its settings follow.
        for (const w of watched.values()) w.settings = settingsOf(w.name);
        return;
      }
      running = true;
      const before = due.stats().timersCreated + timersBefore;
      due = createDueList<Due>(clock, options.resolutionMs ?? 100, (items) => {
        for (const item of items) serve(item);
      });
      timersBefore = before;
      sync();
    },
    stop() {
      running = false;
      due.clear();
      for (const w of watched.values()) w.reroute?.();
      watched.clear();
      dependents.clear();
    },
    get running() {
      return running;
    },
    health: (name) => {
      const w = watched.get(name);
      return w ? view(w) : undefined;
    },
    all: () => [...watched.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(view),
    stats: () => {
      const s = due.stats();
      return { monitored: watched.size, ...counters, timersCreated: timersBefore + s.timersCreated, pendingTimers: s.pendingTimers };
    },
    sync,
  };
}
