import type { EventEmitter } from 'node:events';
import { isModhostError, ModhostError } from '@modhost/core';
import { createFakeClock } from '@modhost/testkit';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { createAuditLog } from './audit.js';
import { type GuestChannel, type GuestExit, spawnWorkerGuest } from './guest-channel.js';
import { createSupervisor, type SupervisorEvent, type SupervisorEvents, type SupervisorOptions } from './supervisor.js';

// The worker-tier `messageerror` test needs a worker whose events it can fire; nothing else here starts one.
const workers = vi.hoisted(() => [] as (EventEmitter & { terminated: boolean })[]);
vi.mock('node:worker_threads', async (importOriginal) => {
  const { EventEmitter } = await import('node:events');
  class FakeWorker extends EventEmitter {
    terminated = false;
    constructor() {
      super();
      workers.push(this);
    }
    postMessage() {}
    async terminate() {
      this.terminated = true;
      queueMicrotask(() => this.emit('exit', 1));
      return 1;
    }
  }
  return { ...(await importOriginal<typeof import('node:worker_threads')>()), Worker: FakeWorker };
});

/** A guest that answers calls as the runtime does (except "hang"), and lets a test send anything in its name. */
function fakeGuest(options: { up?: boolean } = {}) {
  const messages: ((m: unknown) => void)[] = [];
  const exits: ((e: GuestExit) => void)[] = [];
  const fake = {
    killed: false,
    /** Delivers a message synchronously, as a channel listener would: a throw here is a throw in the host. */
    send: (m: unknown) => {
      for (const l of messages) l(m);
    },
    exit: (e: GuestExit) => {
      for (const l of exits) l(e);
    },
    channel: {
      pid: undefined,
      post(m: unknown) {
        const c = m as { t: string; id: number; op: string };
        if (c.t === 'call' && c.op !== 'hang') queueMicrotask(() => fake.send({ t: 'result', id: c.id, ok: true, value: c.op === 'ping' ? 'pong' : null }));
      },
      onMessage(l: (m: unknown) => void) {
        messages.push(l);
        if (options.up !== false) queueMicrotask(() => fake.send({ t: 'up' }));
      },
      onExit: (l: (e: GuestExit) => void) => void exits.push(l),
      async kill() {
        if (fake.killed) return;
        fake.killed = true;
        fake.exit({ crash: undefined, detail: 'stopped by the host', code: null });
      },
    } satisfies GuestChannel,
  };
  return fake;
}

function supervised(extra: Partial<SupervisorOptions> = {}, guestOptions: { up?: boolean } = {}) {
  const clock = createFakeClock({ now: 1_000 });
  const audit = createAuditLog({ clock });
  const guests: ReturnType<typeof fakeGuest>[] = [];
  const events: SupervisorEvent[] = [];
  const waiters: { type: string; done: (e: SupervisorEvent) => void }[] = [];
  const s = createSupervisor({
    module: 'm',
    clock,
    audit,
    restart: { maxRestarts: 3, withinMs: 60_000, backoffMs: 100 },
    spawn: () => {
      const g = fakeGuest(guestOptions);
      guests.push(g);
      return g.channel;
    },
    boot: async (call) => {
      await call('init');
    },
    onCtxCall: () => 'ctx answer',
    ...extra,
  });
  s.subscribe((e) => {
    events.push(e);
    for (const w of waiters.filter((x) => x.type === e.type)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.done(e);
    }
  });
  const next = (type: SupervisorEvent['type']) => new Promise<SupervisorEvent>((done) => waiters.push({ type, done }));
  return { s, clock, audit, guests, events, next };
}

const outcome = (p: Promise<unknown>): Promise<{ value?: unknown; error?: Error & { code?: string } }> =>
  p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error: error as Error & { code?: string } }),
  );
const BREACH = 'sent a message that is not a modhost guest message: ';

describe('supervisor: what a guest sends', () => {
  it('a null message is a protocol crash: audited, the guest killed and restarted by policy; nothing throws in the host', async () => {
    const { s, clock, audit, guests, events, next } = supervised();
    await s.start();
    const inFlight = outcome(s.call('hang'));
    expect(() => guests[0]?.send(null)).not.toThrow();
    const r = await inFlight;
    expect(isModhostError(r.error, 'MODULE_CRASHED')).toBe(true);
    expect(events.at(-1)).toEqual({
      type: 'crash',
      kind: 'protocol',
      detail: `${BREACH}expected an object with "t", got null`,
      willRestart: true,
      delayMs: 100,
    });
    expect(guests[0]?.killed).toBe(true);
    expect(s.status()).toMatchObject({ state: 'restarting', lastCrash: { kind: 'protocol' } });
    expect(audit.query({ kind: 'crash' })).toMatchObject([
      { module: 'm', detail: expect.stringMatching(/^protocol: sent a message that is not .*restart 1 of 3/) },
    ]);
    // The old guest is not listened to any more.
    guests[0]?.send({ t: 'log', level: 'info', message: 'late' });
    expect(events.some((e) => e.type === 'log')).toBe(false);
    const running = next('running');
    clock.advance(100);
    await running;
    expect(await s.call('ping')).toBe('pong');
    expect(guests).toHaveLength(2);
  });

  it('a log line with a level the host does not know never reaches a logger: it is a protocol crash', async () => {
    const { s, guests, events } = supervised();
    const lines: string[] = [];
    const logger: Record<string, (m: string) => void> = {
      debug: (m) => lines.push(m),
      info: (m) => lines.push(m),
      warn: (m) => lines.push(m),
      error: (m) => lines.push(m),
    };
    // What isolated-module does with a log event: index the host logger by level.
    s.subscribe((e) => {
      if (e.type === 'log') (logger[e.level] as (m: string) => void)(e.message);
    });
    await s.start();
    guests[0]?.send({ t: 'log', level: 'info', message: 'fine', fields: { a: 1 } });
    expect(lines).toEqual(['fine']);
    expect(() => guests[0]?.send({ t: 'log', level: 'evil', message: 'x' })).not.toThrow();
    expect(lines).toEqual(['fine']);
    expect(events.at(-1)).toMatchObject({ type: 'crash', kind: 'protocol', detail: `${BREACH}"level" must be one of debug, info, warn, error, got "evil"` });
  });

  it('every malformed shape is a protocol crash naming what was wrong', async () => {
    const cases: [unknown, string][] = [
      [undefined, 'expected an object with "t", got undefined'],
      [42, 'expected an object with "t", got 42'],
      ['up', 'expected an object with "t", got "up"'],
      [[{ t: 'up' }], 'expected an object with "t", got an array'],
      [{}, 'expected an object with "t", got an object'],
      [{ t: 'call', id: 1, op: 'x', args: [] }, 'unknown "t": "call"'],
      [{ t: 'result', id: '1', ok: true }, '"id" must be a positive integer, got "1"'],
      [{ t: 'result', id: 1, ok: false, error: 'boom' }, '"error" must be a plain object, got "boom"'],
      [{ t: 'ctx', id: 1, path: 'storage.get', args: null }, '"args" must be an array, got null'],
      [{ t: 'ctx', id: 1, path: ['storage', 'get'], args: [] }, '"path" must be a string of at most 256 characters, got an array'],
      [{ t: 'log', level: 'info', message: 'x', fields: [1] }, '"fields" must be a plain object or absent, got an array'],
      [JSON.parse('{"t":"up","__proto__":{"polluted":1}}'), 'unexpected key "__proto__" in a "up" message'],
    ];
    for (const [message, problem] of cases) {
      const { s, guests, events } = supervised();
      await s.start();
      expect(() => guests[0]?.send(message), problem).not.toThrow();
      expect(events.at(-1), problem).toMatchObject({ type: 'crash', kind: 'protocol', detail: `${BREACH}${problem}` });
      expect(guests[0]?.killed, problem).toBe(true);
      await s.stop();
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a breach before "up" fails the first start instead of hanging it', async () => {
    const { s, audit, guests } = supervised({}, { up: false });
    const started = outcome(s.start());
    await new Promise((r) => setImmediate(r));
    guests[0]?.send(null);
    const r = await started;
    expect(isModhostError(r.error, 'MODULE_CRASHED')).toBe(true);
    expect(r.error?.message).toContain(`its guest ${BREACH}expected an object with "t"`);
    expect(s.status().state).toBe('failed');
    expect(audit.query({ kind: 'crash' })[0]?.detail).toMatch(/^protocol: .*during its first start$/);
  });

  it('a result for an unknown id is ignored, a throwing ctx handler answers an error, a throwing listener stays host-side', async () => {
    const { s, guests, events } = supervised({
      onCtxCall: () => {
        throw new Error('no such thing');
      },
    });
    s.subscribe(() => {
      throw new Error('a listener bug');
    });
    await s.start();
    const posted: unknown[] = [];
    const post = guests[0]?.channel.post;
    if (guests[0]) guests[0].channel.post = (m) => void posted.push(m);
    expect(() => guests[0]?.send({ t: 'result', id: 999, ok: true, value: 1 })).not.toThrow();
    expect(() => guests[0]?.send({ t: 'ctx', id: 1, path: 'storage.get', args: ['k'] })).not.toThrow();
    expect(() => guests[0]?.send({ t: 'log', level: 'warn', message: 'still fine' })).not.toThrow();
    await new Promise((r) => setImmediate(r));
    expect(posted).toEqual([{ t: 'ctx-result', id: 1, ok: false, error: expect.objectContaining({ message: 'no such thing' }) }]);
    expect(s.status().state).toBe('running');
    expect(events.filter((e) => e.type === 'crash')).toEqual([]);
    if (guests[0] && post) guests[0].channel.post = post;
    expect(await s.call('ping')).toBe('pong');
  });
});

describe('supervisor: spawning', () => {
  it('a spawn failure on the first start rejects start() with that error and leaves the module failed', async () => {
    for (const spawn of [
      () => {
        throw new ModhostError('INTEGRITY_MISMATCH', 'm: its files changed since they were admitted');
      },
      async (): Promise<GuestChannel> => {
        throw new ModhostError('INTEGRITY_MISMATCH', 'm: its files changed since they were admitted');
      },
    ]) {
      const { s, audit } = supervised({ spawn });
      const r = await outcome(s.start());
      expect(isModhostError(r.error, 'INTEGRITY_MISMATCH')).toBe(true);
      expect(s.status()).toMatchObject({ state: 'failed', lastCrash: { kind: 'spawn' } });
      expect(audit.query({ kind: 'crash' })[0]?.detail).toMatch(/^spawn: .*files changed.*during its first start$/);
      // A later call is refused at once instead of waiting in the queue forever.
      const call = await outcome(s.call('ping'));
      expect(isModhostError(call.error, 'MODULE_CRASHED')).toBe(true);
    }
  });

  it('a spawn failure on a restart counts as one more crash under the restart policy', async () => {
    const clock = createFakeClock({ now: 1_000 });
    let spawns = 0;
    const guests: ReturnType<typeof fakeGuest>[] = [];
    const events: SupervisorEvent[] = [];
    const s = createSupervisor({
      module: 'm',
      clock,
      restart: { maxRestarts: 3, backoffMs: 100 },
      spawn: () => {
        spawns += 1;
        if (spawns === 2) throw new Error('fork failed');
        const g = fakeGuest();
        guests.push(g);
        return g.channel;
      },
      boot: async (call) => void (await call('init')),
      onCtxCall: () => undefined,
    });
    s.subscribe((e) => void events.push(e));
    await s.start();
    guests[0]?.exit({ crash: 'exit', detail: 'exited with code 3', code: 3 });
    clock.advance(100);
    await new Promise((r) => setImmediate(r));
    expect(events.filter((e) => e.type === 'crash')).toMatchObject([
      { kind: 'exit', willRestart: true, delayMs: 100 },
      { kind: 'spawn', detail: 'fork failed', willRestart: true, delayMs: 200 },
    ]);
    clock.advance(200);
    await new Promise((r) => setImmediate(r));
    expect(s.status().state).toBe('running');
    expect(await s.call('ping')).toBe('pong');
  });
});

describe('supervisor: events', () => {
  it('on(event, fn) hears that event only, typed by event, until its off function is called; onAny hears every event', async () => {
    const { s, clock, guests, next } = supervised();
    const crashes: SupervisorEvents['crash'][] = [];
    const offCrash = s.on('crash', (e) => {
      expectTypeOf(e).toEqualTypeOf<SupervisorEvents['crash']>();
      crashes.push(e);
    });
    const running: number[] = [];
    s.on('running', (e) => void running.push(e.restarts));
    const all: string[] = [];
    s.onAny((type, e) => void all.push(`${type}=${e.type}`));
    await s.start();
    guests[0]?.exit({ crash: 'exit', detail: 'exited with code 3', code: 3 });
    expect(crashes).toEqual([{ type: 'crash', kind: 'exit', detail: 'exited with code 3', willRestart: true, delayMs: 100 }]);
    offCrash();
    const restarted = next('running');
    clock.advance(100);
    await restarted;
    guests[1]?.send({ t: 'log', level: 'info', message: 'hi' });
    guests[1]?.exit({ crash: 'exit', detail: 'again', code: 3 });
    expect(crashes).toHaveLength(1);
    expect(running).toEqual([0, 1]);
    expect(all).toEqual(['running=running', 'crash=crash', 'running=running', 'log=log', 'crash=crash']);
  });

  it('a listener that throws is reported and skipped: the other listeners still hear the event, the guest keeps running', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const { s, guests } = supervised();
      s.on('log', () => {
        throw new Error('a listener bug');
      });
      const lines: string[] = [];
      s.on('log', (e) => void lines.push(e.message));
      await s.start();
      expect(() => guests[0]?.send({ t: 'log', level: 'warn', message: 'still fine' })).not.toThrow();
      expect(lines).toEqual(['still fine']);
      expect(errors).toHaveBeenCalledWith(expect.stringContaining('"log"'), expect.objectContaining({ message: 'a listener bug' }));
      expect(s.status().state).toBe('running');
      expect(await s.call('ping')).toBe('pong');
    } finally {
      errors.mockRestore();
    }
  });
});

describe('worker guest channel', () => {
  it('a message the host cannot deserialize (messageerror) ends the worker as a protocol crash', async () => {
    const g = spawnWorkerGuest();
    const worker = workers.at(-1);
    const exits: GuestExit[] = [];
    g.onExit((e) => void exits.push(e));
    worker?.emit('messageerror', new Error('Unable to deserialize cloned data.'));
    await new Promise((r) => setImmediate(r));
    expect(worker?.terminated).toBe(true);
    expect(exits).toEqual([{ crash: 'protocol', detail: 'sent a message the host could not deserialize: Unable to deserialize cloned data.', code: 1 }]);
  });
});
