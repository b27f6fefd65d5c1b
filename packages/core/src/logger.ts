// Structured logs: one `Logger` shape for the host and its modules, records in pino's `{ level, time, msg, ...fields }`
// shape. The default writes JSON lines; `fromPino` hands records to an app's pino logger instead.
import type { Logger } from './module.js';
import { runtime } from './runtime.js';

/** The levels a record may have, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Options for {@link createJsonLogger}. */
export interface JsonLoggerOptions {
  /** The lowest level written (default `info`). */
  level?: LogLevel;
  /** Where each line goes (default: `console.info`, so stdout on Node). */
  write?: (line: string) => void;
  /** Fields on every record (`child` adds more). */
  bindings?: Readonly<Record<string, unknown>>;
  /** Milliseconds since the epoch for `time` (default `Date.now`). */
  now?: () => number;
}

/**
 * A logger that writes one JSON object per line: `{"level":"info","time":…,"msg":"…",…fields,…bindings}`. A
 * binding (module, version, tenant, request id, given by the host) wins over a field of the same name, so a module
 * cannot log as another. A field that cannot be serialised (a cycle, a BigInt) is written as a string.
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * const log = createJsonLogger({ write: (l) => lines.push(l), now: () => 0 }).child({ module: 'tasks' });
 * log.info('started', { items: 3 });
 * console.log(lines[0]); // {"level":"info","time":0,"msg":"started","items":3,"module":"tasks"}
 * ```
 */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger & { child(bindings: Readonly<Record<string, unknown>>): Logger } {
  const min = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => runtime.console?.info(line));
  const now = options.now ?? Date.now;
  const make = (bindings: Readonly<Record<string, unknown>>): Logger & { child(b: Readonly<Record<string, unknown>>): Logger } => {
    const at =
      (level: LogLevel) =>
      (message: string, fields?: Record<string, unknown>): void => {
        if (RANK[level] < min) return;
        write(serialize({ level, time: now(), msg: String(message), ...(isRecord(fields) ? fields : {}), ...bindings }));
      };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return make(options.bindings ?? {});
}

/** What {@link fromPino} needs of a pino logger (pino's own type fits). */
export interface PinoLike {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(bindings: Record<string, unknown>): PinoLike;
}

/**
 * A {@link Logger} over an app's pino logger: `log.info(msg, fields)` becomes `pino.info(fields, msg)`, and
 * `child` is pino's, so records keep pino's shape, levels, transports and redaction.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const host = createHost({ version: '1.0.0', logger: fromPino(pino()) });
 * ```
 */
export function fromPino(pino: PinoLike): Logger & { child(bindings: Readonly<Record<string, unknown>>): Logger } {
  const at = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => pino[level](isRecord(fields) ? fields : {}, String(message));
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (bindings) => fromPino(pino.child({ ...bindings })),
  };
}

/**
 * `logger` with `bindings` on every record: its own `child` when it has one, else a wrapper that adds them to each
 * call's fields (the bindings win over fields of the same name).
 */
export function childLogger(logger: Logger, bindings: Readonly<Record<string, unknown>>): Logger {
  const own = (logger as { child?: (b: Readonly<Record<string, unknown>>) => Logger }).child;
  if (typeof own === 'function') return own.call(logger, bindings);
  const wrapped = {} as Logger & { child(b: Readonly<Record<string, unknown>>): Logger };
  for (const level of LEVELS) wrapped[level] = (message, fields) => logger[level](message, { ...(isRecord(fields) ? fields : {}), ...bindings });
  wrapped.child = (more) => childLogger(logger, { ...bindings, ...more });
  return wrapped;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function serialize(record: Record<string, unknown>): string {
  try {
    return JSON.stringify(record, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    // A cycle: each field on its own, the ones that fail as a string.
    const safe: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) {
      try {
        JSON.stringify(v);
        safe[k] = v;
      } catch {
        safe[k] = '[unserializable]';
      }
    }
    return JSON.stringify(safe);
  }
}
