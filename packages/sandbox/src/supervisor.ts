import { type Clock, createEmitter, type ErrorDetails, ModhostError, systemClock, type TimerHandle } from '@modhost/core';
import type { AuditInput, AuditLog } from './audit.js';
import { createCallQueue } from './call-queue.js';
import type { CrashKind, GuestChannel, GuestExit, GuestMessage } from './guest-channel.js';
import { reviveGuestError } from './guest-error.js';
import { validateGuestMessage } from './guest-message.js';
import { planRestart, type RestartPolicy, resolveRestartPolicy } from './restart-policy.js';

export type { RestartPolicy } from './restart-policy.js';

/** Limits on calls into an isolated module. */
export interface CallLimits {
  /** A call that takes longer terminates the guest (default 5,000 ms). */
  callTimeoutMs?: number;
  /** Calls in flight at once (default 64). */
  maxConcurrent?: number;
  /** Calls waiting beyond that (default 1,000); more are refused with `QUOTA_EXCEEDED`. */
  maxQueued?: number;
}

/** Where an isolated module stands. */
export type SupervisorState = 'idle' | 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';

/** What happened to an isolated module, for listeners. */
export type SupervisorEvent =
  | { type: 'running'; restarts: number }
  | { type: 'crash'; kind: CrashKind; detail: string; willRestart: boolean; delayMs: number }
  | { type: 'gave-up'; error: ModhostError }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown> };

/** The supervisor's events by name (`on(event, fn)`): each payload is the {@link SupervisorEvent} of that `type`. */
export type SupervisorEvents = { [K in SupervisorEvent['type']]: Extract<SupervisorEvent, { type: K }> };

/** A snapshot of an isolated module's health. */
export interface SupervisorStatus {
  readonly state: SupervisorState;
  /** Restarts inside the current window. */
  readonly restarts: number;
  readonly inFlight: number;
  readonly queued: number;
  readonly lastCrash?: { readonly kind: CrashKind; readonly detail: string; readonly at: number };
}

/** Options for {@link createSupervisor}. */
export interface SupervisorOptions {
  module: string;
  tenant?: string | undefined;
  spawn: () => GuestChannel | Promise<GuestChannel>;
  /** Brings a fresh guest up to serving (load code, bind ctx, activate); `call` bypasses the queue. */
  boot: (call: (op: string, args?: unknown[]) => Promise<unknown>) => Promise<void>;
  /** Answers the guest's ctx calls. */
  /** A ctx call from the guest; `trace` is the traceparent of the request it serves, when the host traces. */
  onCtxCall: (path: string, args: unknown[], scope: number | undefined, trace: string | undefined) => unknown;
  clock?: Clock;
  audit?: AuditLog;
  limits?: CallLimits;
  restart?: RestartPolicy;
}

/** Runs an isolated module's guest: calls with a watchdog and caps, crash detection, and restarts. */
export interface Supervisor {
  /** Starts the guest and boots it. Rejects (and stays `failed`) when the first boot fails. */
  start(): Promise<void>;
  /** Calls into the module. Rejects with `QUOTA_EXCEEDED` (timeout, caps) or `MODULE_CRASHED`. */
  call(op: string, args?: unknown[]): Promise<unknown>;
  /** Stops the guest for good; queued and in-flight calls are refused. */
  stop(): Promise<void>;
  status(): SupervisorStatus;
  /** Listens to one event: `running`, `crash`, `gave-up` or `log`. Returns the function that stops listening. */
  on<K extends keyof SupervisorEvents>(event: K, listener: (payload: SupervisorEvents[K]) => void): () => void;
  /** Listens to every event. Returns the function that stops listening. */
  onAny(listener: (event: keyof SupervisorEvents, payload: SupervisorEvent) => void): () => void;
  /**
   * Listens to every event. Returns the function that stops listening.
   * @deprecated use `on(event, fn)`, or `onAny(fn)` for every event.
   */
  subscribe(listener: (event: SupervisorEvent) => void): () => void;
}

/** A call waiting for a free slot. */
interface Waiting {
  op: string;
  args: unknown[];
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** A call sent to the guest, waiting for its result. */
interface Pending extends Omit<Waiting, 'args'> {
  id: number;
  deadline: number;
}

/** Creates a supervisor. Nothing runs until `start()`. */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  const clock = options.clock ?? systemClock;
  const { module, tenant, audit } = options;
  const timeoutMs = options.limits?.callTimeoutMs ?? 5_000;
  const maxConcurrent = options.limits?.maxConcurrent ?? 64;
  const maxQueued = options.limits?.maxQueued ?? 1_000;
  const restartPolicy = resolveRestartPolicy(options.restart);
  const { maxRestarts, withinMs } = restartPolicy;

  let state: SupervisorState = 'idle';
  let guest: GuestChannel | undefined;
  let generation = 0;
  let nextId = 0;
  // Calls leave in the order they were sent and share one timeout, so deadlines ascend in insertion order:
  // one timer for the oldest call watches them all.
  const inFlight = new Map<number, Pending>();
  const queue = createCallQueue<Waiting>(maxQueued);
  let watchdog: TimerHandle | undefined;
  let restartTimes: number[] = [];
  let lastCrash: SupervisorStatus['lastCrash'];
  // A listener is host code: its bug must not be pinned on the guest, nor reach the event loop from a message.
  const events = createEmitter<SupervisorEvents>();

  const note = (input: Omit<AuditInput, 'module' | 'tenant'>) => audit?.record({ ...input, module, tenant });
  const crashed = (detail: string, restarts: boolean) =>
    new ModhostError('MODULE_CRASHED', `${module}: ${detail}${restarts ? '; it is being restarted, retry the call' : ''}`, {
      details: { module, tenant, restarts },
    });
  const quotaExceeded = (message: string, details: ErrorDetails['QUOTA_EXCEEDED']) =>
    new ModhostError('QUOTA_EXCEEDED', `${module}: ${message}`, { details: { module, tenant, ...details } });

  const armWatchdog = () => {
    if (watchdog !== undefined) return;
    const oldest = inFlight.values().next().value as Pending | undefined;
    if (!oldest) return;
    watchdog = clock.setTimeout(onWatchdog, Math.max(0, oldest.deadline - clock.now()));
  };
  const onWatchdog = () => {
    watchdog = undefined;
    const oldest = inFlight.values().next().value as Pending | undefined;
    if (!oldest) return;
    if (oldest.deadline > clock.now()) return armWatchdog();
    inFlight.delete(oldest.id);
    const detail = `call "${oldest.op}" ran past ${timeoutMs} ms; the guest was terminated`;
    note({ kind: 'quota', permission: 'quota:call-timeout', decision: 'deny', detail });
    const message = `call "${oldest.op}" ran past its ${timeoutMs} ms timeout, so its worker was terminated (an endless loop?)`;
    oldest.reject(quotaExceeded(message, { quota: 'call-timeout', limitMs: timeoutMs }));
    const g = guest;
    void g?.kill().then(() => onCrash(g, { crash: 'timeout', detail: `call "${oldest.op}" timed out after ${timeoutMs} ms`, code: null }));
  };

  const dispatch = (op: string, args: unknown[], resolve: (v: unknown) => void, reject: (e: unknown) => void) => {
    nextId += 1;
    const p: Pending = { id: nextId, op, deadline: clock.now() + timeoutMs, resolve, reject };
    inFlight.set(p.id, p);
    try {
      guest?.post({ t: 'call', id: p.id, op, args });
    } catch (e) {
      inFlight.delete(p.id);
      reject(
        new ModhostError('INVALID_ARGUMENT', `${module}: the arguments of "${op}" cannot cross to an isolated module (plain data only)`, {
          cause: e,
          details: { module },
        }),
      );
      return;
    }
    armWatchdog();
  };
  const pump = () => {
    while (state === 'running' && inFlight.size < maxConcurrent && queue.size > 0) {
      const w = queue.shift() as Waiting;
      dispatch(w.op, w.args, w.resolve, w.reject);
    }
  };

  const handle = (g: GuestChannel, m: GuestMessage) => {
    if (g !== guest) return;
    if (m.t === 'result') {
      const p = inFlight.get(m.id);
      if (!p) return;
      inFlight.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else {
        const error = reviveGuestError(module, m.error ?? { name: 'Error', message: 'failed' });
        if (m.error?.code === 'ERR_ACCESS_DENIED') {
          const permission = `fs:${m.error.permission === 'FileSystemWrite' ? 'write' : 'read'}:${m.error.resource ?? '?'}`;
          note({ kind: 'denial', permission, decision: 'deny', detail: `ERR_ACCESS_DENIED (${m.error.permission}) from the OS-level permission model` });
        } else note({ kind: 'error', decision: 'info', detail: `call "${p.op}" threw ${error.name}: ${error.message}` });
        p.reject(error);
      }
      pump();
    } else if (m.t === 'ctx') {
      Promise.resolve()
        .then(() => options.onCtxCall(m.path, m.args, m.scope, m.trace))
        .then(
          (value) => g === guest && g.post({ t: 'ctx-result', id: m.id, ok: true, value }),
          (e: Error & { code?: string; details?: Record<string, unknown> }) =>
            g === guest &&
            g.post({
              t: 'ctx-result',
              id: m.id,
              ok: false,
              error: { name: e?.name ?? 'Error', message: e?.message ?? String(e), code: e?.code, details: e?.details },
            }),
        )
        .catch(() => {});
    } else if (m.t === 'log') events.emit('log', { type: 'log', level: m.level, message: m.message, ...(m.fields ? { fields: m.fields } : {}) });
  };

  // A guest that breaks the protocol is not trusted again: it crashes (audited, restarted by policy) and is killed.
  const protocolCrash = (g: GuestChannel, detail: string) => {
    if (g !== guest) return;
    onCrash(g, { crash: 'protocol', detail, code: null });
    void g.kill().catch(() => {});
  };

  // Every message from a guest passes here: checked against the protocol first, and nothing it causes may throw
  // into the event loop (a throw in a channel listener would end the host process).
  const receive = (g: GuestChannel, raw: unknown, up: () => void, fail: (e: Error) => void) => {
    try {
      const problem = validateGuestMessage(raw);
      if (problem !== undefined) {
        const detail = `sent a message that is not a modhost guest message: ${problem}`;
        fail(crashed(`its guest ${detail}`, false));
        return protocolCrash(g, detail);
      }
      const m = raw as GuestMessage;
      if (m.t === 'up') up();
      else handle(g, m);
    } catch (e) {
      try {
        const detail = `its message could not be handled: ${e instanceof Error ? e.message : String(e)}`;
        fail(crashed(detail, false));
        protocolCrash(g, detail);
      } catch {}
    }
  };

  const onCrash = (g: GuestChannel | undefined, exit: GuestExit) => {
    if (g !== guest || exit.crash === undefined || state === 'stopped' || state === 'failed') return;
    guest = undefined;
    const now = clock.now();
    lastCrash = { kind: exit.crash, detail: exit.detail, at: now };
    const plan = planRestart(restartTimes, now, restartPolicy);
    restartTimes = plan.history;
    // A guest that dies during its first start is not restarted: start() rejects and activation reports it.
    const firstStart = state === 'starting';
    const willRestart = !firstStart && plan.willRestart;
    const delayMs = willRestart ? plan.delayMs : 0;
    const next = firstStart
      ? 'during its first start'
      : willRestart
        ? `restart ${restartTimes.length + 1} of ${maxRestarts} in ${delayMs} ms`
        : `gave up after ${maxRestarts} restarts within ${withinMs} ms`;
    note({ kind: 'crash', permission: exit.crash === 'heap' ? 'quota:heap' : undefined, decision: 'info', detail: `${exit.crash}: ${exit.detail}; ${next}` });
    for (const p of inFlight.values()) p.reject(crashed(`its guest died during call "${p.op}" (${exit.crash}: ${exit.detail})`, willRestart));
    inFlight.clear();
    events.emit('crash', { type: 'crash', kind: exit.crash, detail: exit.detail, willRestart, delayMs });
    if (firstStart) return;
    if (!willRestart)
      return giveUp(
        crashed(
          `crashed ${restartTimes.length + 1} times within ${withinMs} ms (last: ${exit.crash}: ${exit.detail}); it failed for good. Fix the module and activate it again`,
          false,
        ),
      );
    state = 'restarting';
    restartTimes.push(now);
    clock.setTimeout(() => {
      if (state !== 'restarting') return;
      note({ kind: 'restart', decision: 'info', detail: `restarting (restart ${restartTimes.length} of ${maxRestarts})` });
      void launch().catch(() => {});
    }, delayMs);
  };

  const giveUp = (error: ModhostError) => {
    state = 'failed';
    queue.drain((w) => w.reject(error));
    events.emit('gave-up', { type: 'gave-up', error });
  };

  // Spawns a guest and boots it; on a failed boot, the failure counts as a crash.
  const launch = async (): Promise<void> => {
    generation += 1;
    const mine = generation;
    let g: GuestChannel;
    try {
      g = await options.spawn();
    } catch (e) {
      // On the first start, start() rejects with the spawn error itself (INTEGRITY_MISMATCH, say); on a
      // restart it is one more crash under the restart policy.
      const firstStart = state === 'starting';
      onCrash(guest, { crash: 'spawn', detail: e instanceof Error ? e.message : String(e), code: null });
      if (firstStart) throw e;
      return;
    }
    if (mine !== generation || state === 'stopped') {
      await g.kill();
      return;
    }
    guest = g;
    const up = new Promise<void>((resolve, reject) => {
      g.onMessage((m) => receive(g, m, resolve, reject));
      g.onExit((exit) => {
        reject(new Error(exit.detail));
        try {
          onCrash(g, exit);
        } catch {}
      });
    });
    await up;
    const bootCall = (op: string, args: unknown[] = []) => new Promise<unknown>((resolve, reject) => dispatch(op, args, resolve, reject));
    try {
      await options.boot(bootCall);
    } catch (e) {
      if (g === guest) {
        await g.kill();
        // On a restart, a boot that fails counts as another crash; on the first start, start() reports it.
        if (state !== 'starting') onCrash(g, { crash: 'uncaught', detail: `booting failed: ${e instanceof Error ? e.message : String(e)}`, code: null });
      }
      throw e;
    }
    if (g !== guest) return;
    state = 'running';
    events.emit('running', { type: 'running', restarts: restartTimes.length });
    pump();
  };

  return {
    async start() {
      if (state !== 'idle' && state !== 'stopped')
        throw new ModhostError('ILLEGAL_TRANSITION', `${module}: its isolated guest is already ${state}`, { details: { module } });
      state = 'starting';
      restartTimes = [];
      try {
        await launch();
      } catch (e) {
        // A first start that fails is not restarted: activation reports it and rolls back.
        if ((state as SupervisorState) !== 'stopped') state = 'failed';
        const g = guest;
        guest = undefined;
        await g?.kill();
        throw e;
      }
    },
    call(op, args = []) {
      return new Promise((resolve, reject) => {
        if (state === 'failed' || state === 'stopped' || state === 'idle') {
          reject(
            crashed(
              state === 'failed' ? `it failed for good after crashing (${lastCrash?.kind}: ${lastCrash?.detail})` : `it is not running (${state})`,
              false,
            ),
          );
        } else if (state === 'running' && inFlight.size < maxConcurrent) dispatch(op, args, resolve, reject);
        else if (!queue.push({ op, args, resolve, reject })) {
          const detail = `call "${op}" refused: ${maxConcurrent} in flight and ${maxQueued} queued`;
          note({ kind: 'quota', permission: 'quota:queue', decision: 'deny', detail });
          const message = `call "${op}" refused: ${maxConcurrent} calls in flight and ${maxQueued} queued already; slow down or raise limits.maxQueued`;
          reject(quotaExceeded(message, { quota: 'queue', maxConcurrent, maxQueued }));
        }
      });
    },
    async stop() {
      state = 'stopped';
      if (watchdog !== undefined) clock.clearTimeout(watchdog);
      watchdog = undefined;
      const error = crashed('it was stopped', false);
      for (const p of inFlight.values()) p.reject(error);
      inFlight.clear();
      queue.drain((w) => w.reject(error));
      const g = guest;
      guest = undefined;
      await g?.kill();
    },
    status: () => ({ state, restarts: restartTimes.length, inFlight: inFlight.size, queued: queue.size, ...(lastCrash ? { lastCrash } : {}) }),
    on: (event, listener) => events.on(event, listener),
    onAny: (listener) => events.onAny(listener),
    subscribe: (listener) => events.onAny((_, payload) => listener(payload)),
  };
}
