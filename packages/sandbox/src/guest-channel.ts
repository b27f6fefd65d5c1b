import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** Why a guest stopped when nobody asked it to. */
export type CrashKind = 'heap' | 'exit' | 'uncaught' | 'timeout' | 'spawn';

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
  onMessage(listener: (message: GuestMessage) => void): void;
  onExit(listener: (exit: GuestExit) => void): void;
  /** Stops it; the exit that follows is not a crash. */
  kill(): Promise<void>;
  readonly pid: number | undefined;
}

/** Messages a guest sends. */
export type GuestMessage =
  | { t: 'up' }
  | { t: 'result'; id: number; ok: boolean; value?: unknown; error?: SerializedError }
  | { t: 'ctx'; id: number; path: string; args: unknown[] }
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

/** Starts a worker-thread guest with heap and stack limits and an empty environment. */
export function spawnWorkerGuest(limits: WorkerLimits = {}): GuestChannel {
  const worker = new Worker(GUEST_PATH, {
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
  worker.on('error', (e: Error & { code?: string }) => {
    lastError = e;
  });
  return {
    pid: undefined,
    post: (m) => worker.postMessage(m),
    onMessage: (l) => void worker.on('message', l),
    onExit(listener) {
      worker.on('exit', (code) => {
        if (killed) return listener({ crash: undefined, detail: 'stopped by the host', code });
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
  /** Node flags, e.g. the permission model's (see {@link nodePermissionFlags}). */
  execArgv: string[];
  /** Its environment (default empty: the permission model of Node 20 does not guard env). */
  env?: Record<string, string>;
}

/** Starts a child-process guest over an IPC channel with structured-clone serialization. */
export function spawnProcessGuest(options: ProcessGuestOptions): GuestChannel {
  let child: ChildProcess;
  let killed = false;
  let stderr = '';
  const exits: ((e: GuestExit) => void)[] = [];
  let spawnError: Error | undefined;
  try {
    child = fork(GUEST_PATH, [], { execArgv: options.execArgv, env: options.env ?? {}, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  } catch (e) {
    spawnError = e as Error;
    child = undefined as unknown as ChildProcess;
  }
  child?.stderr?.on('data', (d: Buffer) => {
    stderr = tail(stderr + d.toString('utf8'));
  });
  child?.on('error', (e) => {
    spawnError = e;
  });
  child?.on('exit', (code, signal) => {
    const exit: GuestExit = killed
      ? { crash: undefined, detail: 'stopped by the host', code }
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
    post: (m) => void child.send(m as never),
    onMessage: (l) => void child?.on('message', l as (m: unknown) => void),
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
