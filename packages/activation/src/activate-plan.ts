// The plan scheduler: starts every module of a plan, dependencies first, up to `slots` at once, within a progress
// deadline; a failure blocks only its dependents, unless the module is required: then the activation aborts and
// rolls back what it started.
import { type LifecycleState, ModhostError, type Registry, type TelemetrySpan } from '@modhost/core';
import type { Plan } from '@modhost/resolver';
import { createReadyQueue } from './ready-queue.js';
import { recordIfAllowed } from './record-state.js';
import type { ActivationReport, ModuleOutcome } from './types.js';
import type { StartFailure, VersionRunner } from './version-runner.js';

/** How a plan is scheduled (the activator's options, defaults applied). @internal */
export interface PlanOptions {
  /** How many modules may be loading or starting at once (at least 1). */
  readonly slots: number;
  /** Modules whose failure aborts the whole activation. */
  readonly required: ReadonlySet<string>;
  /** The whole activation must finish within this (ms), else it aborts; `Infinity` disables it. */
  readonly progressDeadlineMs: number;
}

/** Walks the lifecycle table from wherever the version is to `to`, through the states in `via`. */
async function moveTo(registry: Registry, name: string, version: string, via: readonly LifecycleState[]): Promise<void> {
  const current = (await registry.get(name, version))?.status;
  const start = current === undefined ? 0 : via.indexOf(current) + 1;
  for (const s of via.slice(start)) await registry.transition(name, version, s);
}

/**
 * Activates every module of `plan` through `runner`. Scheduling is event-driven: a module enters the ready queue
 * when its last dependency becomes active, and a slot is filled the moment one frees up; no timer polls. The queue
 * serves the module with the longest chain of modules waiting on it first (the plan's `longestPath`). @internal
 */
export async function activatePlan(runner: VersionRunner, plan: Plan, opts: PlanOptions): Promise<ActivationReport> {
  const span = runner.telemetry.startSpan('modhost.activation', { modules: plan.order.length });
  try {
    const report = await runPlan(runner, plan, opts, span);
    const count = (state: string) => report.modules.filter((m) => m.state === state).length;
    span.setAttributes({ activated: count('active'), failed: count('failed'), blocked: count('blocked') });
    span.end(report.aborted ? { error: { code: 'ACTIVATION_ABORTED', message: report.aborted.reason } } : undefined);
    return report;
  } catch (e) {
    span.end({ error: { code: (e as { code?: string }).code ?? 'Error', message: e instanceof Error ? e.message : String(e) } });
    throw e;
  }
}

async function runPlan(runner: VersionRunner, plan: Plan, opts: PlanOptions, span: TelemetrySpan): Promise<ActivationReport> {
  const { registry, clock, running, activeOrder } = runner;
  const outcomes = new Map<string, ModuleOutcome>();
  const order = [...plan.order];
  const index = new Map(order.map((n, i) => [n, i]));
  const waitingOn = new Map(order.map((n) => [n, plan.dependenciesOf(n).length]));
  const started: string[] = [];
  let aborted: string | undefined;
  let inFlight = 0;
  let peak = 0;

  // Longest remaining path first, then plan order.
  const ready = createReadyQueue<string>((a, b) => {
    const d = (plan.longestPath(b) ?? 0) - (plan.longestPath(a) ?? 0);
    return d !== 0 ? d < 0 : (index.get(a) as number) < (index.get(b) as number);
  });

  // Plan everything first, so the registry shows what is coming.
  for (const name of order) {
    const version = plan.versionOf(name) as string;
    if (running.get(name)?.version === version) {
      outcomes.set(name, { name, version, state: 'already-active', timings: {} });
      continue;
    }
    if (!registry.getDefinition(name, version) && !(await registry.get(name, version))) {
      throw new ModhostError('MODULE_NOT_FOUND', `${name}@${version} is in the plan but not registered; register it before activating`, {
        details: { module: name, version },
      });
    }
    await moveTo(registry, name, version, ['resolved']);
  }

  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const deadline = Number.isFinite(opts.progressDeadlineMs)
    ? clock.setTimeout(() => {
        aborted ??= `the progress deadline of ${opts.progressDeadlineMs} ms passed`;
        settle();
      }, opts.progressDeadlineMs)
    : undefined;

  /** Blocks everything that (transitively) depends on `failed`, so independent modules go on. */
  const blockDependents = async (failed: string) => {
    const queue = plan.dependentsOf(failed);
    for (let i = 0; i < queue.length; i++) {
      const d = queue[i] as string;
      if (outcomes.has(d)) continue;
      const version = plan.versionOf(d) as string;
      outcomes.set(d, { name: d, version, state: 'blocked', blockedBy: failed, timings: {} });
      await registry.transition(d, version, 'blocked', { reason: `dependency ${failed} failed` });
      queue.push(...plan.dependentsOf(d));
    }
  };

  const runOne = async (name: string): Promise<void> => {
    const version = plan.versionOf(name) as string;
    let failure: StartFailure;
    try {
      const result = await runner.startVersion(name, version, plan.dependenciesOf(name), { parent: span, reason: 'activate' });
      if (result.ok) {
        const { instance, timings } = result;
        await registry.transition(name, version, 'active');
        // The desired state says what should run, so an upgrade that is rolled back has a version to fall back to.
        // Only a module's first activation sets it: an instance that starts on another version (its code lacks the
        // desired one) must not move the whole fleet to what it happens to have.
        if ((await registry.getModule(name))?.desiredVersion == null) await registry.setDesiredVersion(name, version);
        running.set(name, instance);
        runner.switchRoutes(instance);
        runner.startJobs(instance);
        await runner.markServed(instance);
        activeOrder.delete(name);
        activeOrder.add(name);
        started.push(name);
        outcomes.set(name, { name, version, state: 'active', timings });
        return;
      }
      failure = result.failure;
    } catch (e) {
      // Not a failure the start recorded (a storage error while recording one, or after the version was ready):
      // the module fails all the same, with no phase, error or timings to report.
      failure = e as StartFailure;
    }
    outcomes.set(name, { name, version, state: 'failed', phase: failure.phase, error: failure.summary, timings: failure.timings });
    if (opts.required.has(name)) aborted ??= `required module ${name} failed in ${failure.phase}`;
    else await blockDependents(name);
  };

  let settled = false;
  const settle = () => {
    if (!settled && inFlight === 0 && (ready.size === 0 || aborted !== undefined)) {
      settled = true;
      finish();
    }
  };
  const launch = () => {
    while (aborted === undefined && inFlight < opts.slots && ready.size > 0) {
      const name = ready.pop() as string;
      inFlight++;
      peak = Math.max(peak, inFlight);
      void runOne(name).then(async () => {
        inFlight--;
        if (outcomes.get(name)?.state === 'active') {
          for (const d of plan.dependentsOf(name)) {
            const left = (waitingOn.get(d) as number) - 1;
            waitingOn.set(d, left);
            if (left === 0 && !outcomes.has(d)) ready.push(d);
          }
        }
        launch();
        settle();
      });
    }
  };
  for (const name of order) {
    if (outcomes.get(name)?.state === 'already-active') {
      for (const d of plan.dependentsOf(name)) waitingOn.set(d, (waitingOn.get(d) as number) - 1);
    }
  }
  for (const name of order) if (!outcomes.has(name) && waitingOn.get(name) === 0) ready.push(name);
  launch();
  settle();
  await done;
  if (deadline !== undefined) clock.clearTimeout(deadline);

  if (aborted !== undefined) {
    // Roll back everything this activation started, dependents first; skip what never ran.
    for (const name of [...started].reverse()) {
      const r = running.get(name);
      if (!r) continue;
      await recordIfAllowed(registry, name, r.version, 'draining', { reason: aborted });
      await runner.retire(r, true);
      running.delete(name);
      activeOrder.delete(name);
      await recordIfAllowed(registry, name, r.version, 'stopped', { reason: aborted });
      outcomes.set(name, { ...(outcomes.get(name) as ModuleOutcome), state: 'stopped', blockedBy: aborted });
    }
    for (const name of order) {
      if (outcomes.has(name)) continue;
      const version = plan.versionOf(name) as string;
      outcomes.set(name, { name, version, state: 'blocked', blockedBy: aborted, timings: {} });
      await registry.transition(name, version, 'blocked', { reason: aborted });
    }
  }
  const modules = order.map((n) => outcomes.get(n) as ModuleOutcome);
  return {
    ok: aborted === undefined && modules.every((m) => m.state === 'active' || m.state === 'already-active'),
    ...(aborted === undefined ? {} : { aborted: { reason: aborted } }),
    modules,
    peakConcurrency: peak,
  };
}
