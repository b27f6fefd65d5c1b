import { ModhostError } from '@modhost/core';

/** Where an adapter connects, said without the password: `host:port/database`, or `PGlite`. */
export interface Target {
  readonly label: string;
  /** The password, when one was given, so that no message ever repeats it. */
  readonly secret?: string;
}

interface Settings {
  readonly host?: string | undefined;
  readonly port?: number | string | undefined;
  readonly database?: string | undefined;
  readonly user?: string | undefined;
}

const env = (name: string): string | undefined => (typeof process === 'undefined' ? undefined : process.env[name]) || undefined;

function label(s: Settings): string {
  const host = s.host || env('PGHOST') || 'localhost';
  const port = s.port || env('PGPORT') || 5432;
  const database = s.database || env('PGDATABASE') || s.user || env('PGUSER') || env('USER');
  return `${host.includes(':') && !host.startsWith('/') ? `[${host}]` : host}:${port}${database ? `/${database}` : ''}`;
}

/** Reads host, port and database out of a connection URL, dropping the password. */
export function describeConnectionString(connectionString: string): Target {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return { label: 'the server of the connection string (it is not a URL)' };
  }
  const q = url.searchParams;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  return {
    label: label({
      host: q.get('host') ?? (url.hostname ? decodeURIComponent(url.hostname) : undefined),
      port: q.get('port') ?? url.port,
      database: url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined,
      user: url.username ? decodeURIComponent(url.username) : undefined,
    }),
    ...(password ? { secret: password } : {}),
  };
}

/** Describes a pool or a client from its settings. */
export function describeSettings(settings: (Settings & { readonly connectionString?: string | undefined }) | undefined): Target {
  if (settings?.connectionString) return describeConnectionString(settings.connectionString);
  return { label: label(settings ?? {}) };
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOENT']);
const CONNECTION_MESSAGES =
  /connection terminated|connection timeout|timeout expired|connection error|not queryable|client was closed|cannot use a pool after calling end/i;

/** Whether an error means "could not talk to the server" (as opposed to a statement the server refused). */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (CONNECTION_CODES.has(code)) return true;
    // SQLSTATE: connection exception, admin/crash shutdown, cannot connect now, auth, no such database, too many connections.
    if (/^(08|28)/.test(code) || ['57P01', '57P02', '57P03', '3D000', '53300'].includes(code)) return true;
  }
  if (error instanceof AggregateError) return error.errors.some(isConnectionError);
  return CONNECTION_MESSAGES.test(error.message);
}

/** The message of `error` (or of its parts, for Node's AggregateError), with the password masked. */
function reason(error: unknown, target: Target): string {
  let text =
    error instanceof AggregateError && !error.message
      ? error.errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')
      : error instanceof Error
        ? error.message || ((error as { code?: unknown }).code as string | undefined) || error.name
        : String(error);
  if (target.secret) text = text.split(target.secret).join('***');
  return text;
}

/** The error an operation rejects with when the server cannot be reached: it names where, never the password. */
export function unreachable(target: Target, operation: string, cause: unknown): ModhostError<'STORAGE_ADAPTER_FAILED'> {
  return new ModhostError(
    'STORAGE_ADAPTER_FAILED',
    `storage-postgres: cannot reach PostgreSQL at ${target.label} (${operation}): ${reason(cause, target)}. Check that the server is running and accepts this connection.`,
    { cause, details: { adapter: 'postgres', operation } },
  );
}

/** The error for a statement the server refused, naming the table. */
export function refused(target: Target, table: string, operation: string, cause: unknown): ModhostError<'STORAGE_ADAPTER_FAILED'> {
  return new ModhostError('STORAGE_ADAPTER_FAILED', `storage-postgres: ${operation} on ${table} at ${target.label} failed: ${reason(cause, target)}`, {
    cause,
    details: { adapter: 'postgres', operation },
  });
}
