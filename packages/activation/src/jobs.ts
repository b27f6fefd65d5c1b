import { type Clock, type JobDefinition, ModhostError, type ModuleContext, summarizeCause } from '@modhost/core';
import { type Cron, parseCron } from './cron.js';
import { timeoutError, withTimeout } from './timeouts.js';

/** What happened to a job, as its runner reports it. */
export type JobEvent =
  | { readonly type: 'run'; readonly job: string; readonly attempt: number; readonly ok: boolean; readonly error?: string; readonly durationMs: number }
  | { readonly type: 'skipped'; readonly job: string; readonly reason: 'still running' };

/** The jobs of one running module version. */
export interface JobRunner {
  start(): void;
  /** Stops scheduling and waits for a run in progress (bounded by `stopTimeoutMs`). Idempotent. */
  stop(): Promise<void>;
  /** Whether a run of `job` is in progress. */
  running(job: string): boolean;
}

/** Options for the job runner each active version gets (`createJobRunner`, internal). */
export interface JobRunnerOptions {
  readonly module: string;
  readonly clock: Clock;
  readonly ctx: ModuleContext;
  readonly jobs: readonly JobDefinition[];
  /** Per-run timeout when a job declares none, ms. Default 60 s. */
  readonly defaultTimeoutMs?: number;
  /** Wait before retry n (1-based), ms. Default 1000 × n. */
  readonly retryDelayMs?: (attempt: number) => number;
  readonly stopTimeoutMs?: number;
  readonly onEvent?: (event: JobEvent) => void;
}

/** Validates schedules up front, so a bad cron fails the module at start rather than never running. */
export function compileSchedules(module: string, jobs: readonly JobDefinition[]): Map<string, Cron | number> {
  const out = new Map<string, Cron | number>();
  for (const job of jobs) {
    if (typeof job.schedule === 'string') out.set(job.name, parseCron(job.schedule));
    else if (job.schedule.everyMs > 0) out.set(job.name, job.schedule.everyMs);
    else throw new ModhostError('MANIFEST_INVALID', `${module}: job ${job.name} needs everyMs > 0`, { details: { module, job: job.name } });
  }
  return out;
}

/**
 * Runs a module version's jobs on the injected clock. An interval job waits `everyMs` after a run ends (so runs
 * never overlap); a cron job fires on matching minutes and skips a tick while its previous run is still going.
 * A run that throws or passes its timeout is retried up to `retries` times.
 */
export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const { clock, ctx, jobs } = options;
  const schedules = compileSchedules(options.module, jobs);
  const timers = new Map<string, unknown>();
  const inFlight = new Map<string, Promise<void>>();
  const retryWaits = new Set<() => void>();
  let stopped = true;
  const emit = (e: JobEvent) => {
    try {
      options.onEvent?.(e);
    } catch {
      // A listener's failure is not the job's.
    }
  };
  const arm = (job: JobDefinition, ms: number) => {
    if (stopped) return;
    timers.set(
      job.name,
      clock.setTimeout(() => fire(job), Math.max(0, ms)),
    );
  };
  const scheduleNext = (job: JobDefinition) => {
    const s = schedules.get(job.name);
    if (typeof s === 'number') arm(job, s);
    else if (s) {
      const at = s.next(clock.now());
      if (at !== undefined) arm(job, at - clock.now());
    }
  };
  const runWithRetries = async (job: JobDefinition) => {
    const attempts = 1 + Math.max(0, job.retries ?? 0);
    for (let attempt = 1; attempt <= attempts && !stopped; attempt++) {
      const started = clock.now();
      try {
        await withTimeout(
          clock,
          job.timeout ?? options.defaultTimeoutMs ?? 60_000,
          () => job.run(ctx),
          () => timeoutError(options.module, `job ${job.name}`, job.timeout ?? options.defaultTimeoutMs ?? 60_000, `the job's timeout`),
        );
        emit({ type: 'run', job: job.name, attempt, ok: true, durationMs: clock.now() - started });
        return;
      } catch (e) {
        emit({ type: 'run', job: job.name, attempt, ok: false, error: summarizeCause(e), durationMs: clock.now() - started });
        if (attempt < attempts && !stopped) {
          const wait = options.retryDelayMs?.(attempt) ?? 1000 * attempt;
          // stop() wakes this wait, so a stopped runner never leaves a run hanging.
          await new Promise<void>((r) => {
            retryWaits.add(r);
            timers.set(`${job.name}#retry`, clock.setTimeout(r, wait));
          }).finally(() => timers.delete(`${job.name}#retry`));
        }
      }
    }
  };
  const fire = (job: JobDefinition) => {
    timers.delete(job.name);
    if (stopped) return;
    if (inFlight.has(job.name)) {
      emit({ type: 'skipped', job: job.name, reason: 'still running' });
      scheduleNext(job);
      return;
    }
    const cron = typeof schedules.get(job.name) !== 'number';
    // A cron job's next tick is planned now (and skipped if this run is still going); an interval job's after the run.
    if (cron) scheduleNext(job);
    const run = runWithRetries(job).finally(() => {
      inFlight.delete(job.name);
      if (!cron) scheduleNext(job);
    });
    inFlight.set(job.name, run);
  };
  return {
    start() {
      if (!stopped) return;
      stopped = false;
      for (const job of jobs) scheduleNext(job);
    },
    async stop() {
      stopped = true;
      for (const t of timers.values()) clock.clearTimeout(t);
      timers.clear();
      for (const wake of retryWaits) wake();
      retryWaits.clear();
      const running = [...inFlight.values()];
      if (running.length > 0) {
        await withTimeout(
          clock,
          options.stopTimeoutMs ?? 30_000,
          () => Promise.allSettled(running),
          () => timeoutError(options.module, 'stop', options.stopTimeoutMs ?? 30_000),
        ).catch(() => {});
      }
    },
    running: (job) => inFlight.has(job),
  };
}
