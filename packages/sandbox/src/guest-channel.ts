import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { Worker } from 'node:worker_threads';

/**
 * Why a guest stopped when nobody asked it to. `protocol`: it sent something that is not a modhost guest
 * message (or bytes that do not decode), so the host stopped trusting it.
 */
export type CrashKind = 'heap' | 'exit' | 'uncaught' | 'timeout' | 'spawn' | 'protocol';

/** What the host learns when a guest dies. */
export interface GuestExit {
  /** `undefined` when the host stopped it on purpose. */
  readonly crash: CrashKind | undefined;
  readonly detail: string;
  readonly code: number | null;
}

/** One running guest (a worker thread or a child process), as the supervisor sees it. */
export interface GuestChannel {
  post(message: unknown): void;
  /** Whatever the guest sent, unchecked: the supervisor validates it (see `validateGuestMessage`). */
  onMessage(listener: (message: unknown) => void): void;
  onExit(listener: (exit: GuestExit) => void): void;
  /** Stops it; the exit that follows is not a crash. */
  kill(): Promise<void>;
  readonly pid: number | undefined;
}

/** Messages a guest sends. */
export type GuestMessage =
  | { t: 'up' }
  | { t: 'result'; id: number; ok: boolean; value?: unknown; error?: SerializedError }
  | { t: 'ctx'; id: number; path: string; args: unknown[]; scope?: number; trace?: string }
  | { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown> };

/** An error as it crosses from a guest. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  details?: Record<string, unknown>;
  permission?: string;
  resource?: string;
}

/** The guest runtime: plain JS shipped in the package's `runtime/` folder (one level above `src/` and `dist/`). */
export const GUEST_PATH = fileURLToPath(new URL('../runtime/guest.mjs', import.meta.url));

/** Resource limits of a worker guest (see `worker_threads` `resourceLimits`). */
export interface WorkerLimits {
  /** Old-generation heap, MB (default 64). */
  maxOldGenerationSizeMb?: number;
  /** Young-generation heap, MB (default 16). */
  maxYoungGenerationSizeMb?: number;
  /** Stack, MB (default 4). */
  stackSizeMb?: number;
}

const tail = (text: string) => (text.length > 2000 ? text.slice(-2000) : text);

/** What a worker guest runs as. */
interface WorkerGuestOptions {
  /** The sandboxed tier: `lockdown()` first, then the module in a Hardened JavaScript Compartment (default false). */
  sandboxed?: boolean;
}

/** Starts a worker-thread guest with heap and stack limits and an empty environment. */
export function spawnWorkerGuest(limits: WorkerLimits = {}, options: WorkerGuestOptions = {}): GuestChannel {
  const worker = new Worker(GUEST_PATH, {
    ...(options.sandboxed ? { workerData: { tier: 'sandboxed' } } : {}),
    resourceLimits: {
      maxOldGenerationSizeMb: limits.maxOldGenerationSizeMb ?? 64,
      maxYoungGenerationSizeMb: limits.maxYoungGenerationSizeMb ?? 16,
      stackSizeMb: limits.stackSizeMb ?? 4,
    },
    env: {},
    // Not the host's flags: its loaders (tsx, --import) and --inspect have no business in a guest.
    execArgv: [],
    stdout: false,
    stderr: false,
  });
  let killed = false;
  let lastError: (Error & { code?: string }) | undefined;
  let protocolError: string | undefined;
  worker.on('error', (e: Error & { code?: string }) => {
    lastError = e;
  });
  // A message the host cannot even deserialize is a protocol breach like any other: stop the guest.
  worker.on('messageerror', (e: Error) => {
    protocolError ??= `sent a message the host could not deserialize: ${e?.message ?? String(e)}`;
    void worker.terminate();
  });
  return {
    pid: undefined,
    post: (m) => worker.postMessage(m),
    onMessage: (l) => void worker.on('message', l),
    onExit(listener) {
      worker.on('exit', (code) => {
        if (killed) return listener({ crash: undefined, detail: 'stopped by the host', code });
        if (protocolError !== undefined) return listener({ crash: 'protocol', detail: protocolError, code });
        if (lastError?.code === 'ERR_WORKER_OUT_OF_MEMORY') return listener({ crash: 'heap', detail: `ran out of heap: ${lastError.message}`, code });
        if (lastError) return listener({ crash: 'uncaught', detail: `${lastError.name}: ${lastError.message}`, code });
        listener({ crash: 'exit', detail: `exited with code ${code} (process.exit in module code?)`, code });
      });
    },
    async kill() {
      killed = true;
      await worker.terminate();
    },
  };
}

/** What a process guest is started with. */
export interface ProcessGuestOptions {
  /** Node flags, e.g. the permission model's (see {@link nodePermissionFlags}). Without `--max-old-space-size`, 64 MB is added. */
  execArgv: string[];
  /** Its environment (default empty: the permission model of Node 20 does not guard env). */
  env?: Record<string, string>;
}

/** The old-generation heap of a process guest when its flags set none, as for a worker. */
const DEFAULT_PROCESS_HEAP_MB = 64;
/** The largest frame a process guest may send (its length prefix is read before its bytes are buffered). */
const MAX_GUEST_FRAME_BYTES = 64 * 1024 * 1024;
/** The guest's end of its channel: a socket pair on this file descriptor (see runtime/guest.mjs). */
const CHANNEL_FD = 3;

/** One message on a process guest's channel: a 4-byte big-endian length, then the V8-serialized value. */
function encodeFrame(message: unknown): Buffer {
  const body = serialize(message);
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/**
 * Reads frames from a byte stream. Anything that does not decode goes to `onBad` and ends the reader: Node's own
 * IPC throws a bad frame into the event loop (the host process dies), so the process tier does its own framing.
 */
function frameReader(onMessage: (m: unknown) => void, onBad: (detail: string) => void): (chunk: Buffer) => void {
  let chunks: Buffer[] = [];
  let length = 0;
  let broken = false;
  return (chunk) => {
    if (broken) return;
    chunks.push(chunk);
    length += chunk.length;
    while (length >= 4) {
      let head = chunks[0] as Buffer;
      if (head.length < 4) {
        head = Buffer.concat(chunks, length);
        chunks = [head];
      }
      const size = head.readUInt32BE(0);
      if (size > MAX_GUEST_FRAME_BYTES) {
        broken = true;
        return onBad(`sent a frame of ${size} bytes, more than the ${MAX_GUEST_FRAME_BYTES} a guest may send`);
      }
      if (length < 4 + size) return;
      const all = chunks.length === 1 ? head : Buffer.concat(chunks, length);
      const rest = all.subarray(4 + size);
      chunks = rest.length > 0 ? [rest] : [];
      length = rest.length;
      let message: unknown;
      try {
        message = deserialize(all.subarray(4, 4 + size));
      } catch (e) {
        broken = true;
        return onBad(`sent bytes the host could not deserialize: ${e instanceof Error ? e.message : String(e)}`);
      }
      onMessage(message);
    }
  };
}

/**
 * Starts a child-process guest. Messages travel as V8-serialized frames on a socket pair (fd 3), not Node's IPC:
 * a guest can write any bytes to an inherited descriptor, and Node's IPC parser throws them into the host's
 * event loop, while this reader turns them into a `protocol` crash.
 */
export function spawnProcessGuest(options: ProcessGuestOptions): GuestChannel {
  let child: ChildProcess;
  let killed = false;
  let stderr = '';
  const exits: ((e: GuestExit) => void)[] = [];
  const listeners: ((m: unknown) => void)[] = [];
  let spawnError: Error | undefined;
  let protocolError: string | undefined;
  const execArgv = options.execArgv.some((f) => f.startsWith('--max-old-space-size'))
    ? options.execArgv
    : [...options.execArgv, `--max-old-space-size=${DEFAULT_PROCESS_HEAP_MB}`];
  try {
    child = spawn(process.execPath, [...execArgv, GUEST_PATH], { env: options.env ?? {}, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  } catch (e) {
    spawnError = e as Error;
    child = undefined as unknown as ChildProcess;
  }
  const channel = child?.stdio[CHANNEL_FD] as Socket | undefined;
  const breach = (detail: string) => {
    protocolError ??= detail;
    child?.kill('SIGKILL');
  };
  channel?.on(
    'data',
    frameReader((m) => {
      for (const l of listeners) l(m);
    }, breach),
  );
  // A write after the child died (EPIPE) or a reset: its exit tells the supervisor what happened.
  channel?.on('error', () => {});
  child?.stderr?.on('data', (d: Buffer) => {
    stderr = tail(stderr + d.toString('utf8'));
  });
  child?.on('error', (e) => {
    spawnError = e;
  });
  child?.on('exit', (code, signal) => {
    const exit: GuestExit = killed
      ? { crash: undefined, detail: 'stopped by the host', code }
      : protocolError !== undefined
        ? { crash: 'protocol', detail: protocolError, code }
        : spawnError
          ? { crash: 'spawn', detail: spawnError.message, code }
          : /heap out of memory|Allocation failed/i.test(stderr)
            ? { crash: 'heap', detail: 'ran out of heap', code }
            : /Uncaught|Error|unhandled/i.test(stderr) && code !== 0
              ? { crash: 'uncaught', detail: lastLine(stderr), code }
              : { crash: 'exit', detail: `exited with code ${code}${signal ? ` (${signal})` : ''}`, code };
    for (const l of exits) l(exit);
  });
  return {
    pid: child?.pid,
    post: (m) => {
      // Serialize first: a value that cannot cross throws here, to the caller, as Node's IPC did.
      const frame = encodeFrame(m);
      channel?.write(frame);
    },
    onMessage: (l) => void listeners.push(l),
    onExit: (l) => void exits.push(l),
    async kill() {
      killed = true;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGKILL');
      });
    },
  };
}

/** The most telling line of a dead process's stderr: the error line, not the stack. */
function lastLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim());
  return lines.find((l) => /^[A-Za-z]*Error\b|^Uncaught/.test(l)) ?? lines.filter(Boolean).pop() ?? 'crashed';
}
