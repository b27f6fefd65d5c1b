import { ModhostError } from '@modhost/core';

/** NOTIFY payloads must stay under 8000 bytes: keys up to this many UTF-8 bytes travel whole. */
const MAX_KEY_BYTES_IN_PAYLOAD = 7000;
/** A longer key travels as its first characters (at most 4 bytes each): "something changed under this prefix". */
const PREFIX_CHARS_IN_PAYLOAD = 1000;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Checks a schema, table or channel name: letters, digits and `_`, at most 63 characters (PostgreSQL's limit). */
export function identifier(value: string, option: string): string {
  if (!IDENTIFIER.test(value)) {
    throw new ModhostError(
      'INVALID_ARGUMENT',
      `postgresStorage: ${option} ${JSON.stringify(value)} is not a plain identifier. Use letters, digits and _ (not first), at most 63 characters.`,
      { details: { argument: option } },
    );
  }
  return value;
}

/** `'text'` as an SQL literal. */
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
/** `"name"` as an SQL identifier (names are validated, so quoting only keeps their case). */
const quote = (name: string) => `"${name}"`;

/** `prefix%` for `LIKE … ESCAPE '\'`, with `%`, `_` and `\` in the prefix matched literally. */
export const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, '\\$&')}%`;

/** A small stable hash, for advisory-lock keys and prepared-statement names. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** One statement: its SQL and a name to prepare it under (stable for the same SQL). */
export interface Statement {
  readonly text: string;
  readonly name: string;
}

const statement = (text: string): Statement => ({ text, name: `modhost_${(hash32(text) >>> 0).toString(36)}_${text.length.toString(36)}` });

/** A write in two forms: its NOTIFY carries the key, or (for a key too long for NOTIFY) its first characters. */
export interface Write {
  readonly short: Statement;
  readonly long: Statement;
}

/** The form of `write` for `key`. */
export function forKey(write: Write, key: string): Statement {
  // A UTF-16 code unit is at most 3 bytes of UTF-8: most keys are decided by their length alone.
  const fits = key.length * 3 <= MAX_KEY_BYTES_IN_PAYLOAD || new TextEncoder().encode(key).length <= MAX_KEY_BYTES_IN_PAYLOAD;
  return fits ? write.short : write.long;
}

/** Every statement the adapter runs, for one table and channel. */
export interface Statements {
  /** `"schema"."table"`. */
  readonly table: string;
  readonly channel: string;
  /** Creates the schema and the table when missing, under a transaction-scoped advisory lock. */
  readonly setup: string;
  readonly listen: string;
  readonly unlisten: string;
  readonly get: Statement;
  readonly keys: Statement;
  readonly set: Write;
  readonly insertIfAbsent: Write;
  readonly replace: Write;
  readonly remove: Write;
  readonly removeIf: Write;
  readonly present: Statement;
  /** The last version handed out (the watch starts after it). */
  readonly lastVersion: Statement;
  /** Rows (tombstones too) written after a version: the catch-up after a reconnect. */
  readonly changedSince: Statement;
  /** Rows under a prefix written at or after a version: resolves a "changed under this prefix" notification. */
  readonly changedUnder: Statement;
  readonly prune: Statement;
}

/**
 * Builds the statements. Values live in `value` (NULL marks a tombstone: a deleted key kept, with the version of
 * its delete, until pruned, so that a watcher that reconnects can report the delete). `version` comes from the
 * identity sequence on every write. Each write is one statement whose `RETURNING` queues its notification, so the
 * change and its NOTIFY commit together, and a write that changed nothing notifies nothing. The payload is
 * `s:<version>:<key>` (set), `d:<version>:<key>` (delete), or `p:<version>:<first characters>` for a key too long
 * for NOTIFY: the value never travels.
 */
export function createStatements(schema: string, tableName: string, channel: string): Statements {
  const table = `${quote(schema)}.${quote(tableName)}`;
  const write = (sql: string, type: 's' | 'd', row = ''): Write => ({
    short: statement(`${sql} RETURNING pg_notify(${literal(channel)}, '${type}:' || ${row}version || ':' || ${row}key)`),
    long: statement(`${sql} RETURNING pg_notify(${literal(channel)}, 'p:' || ${row}version || ':' || left(${row}key, ${PREFIX_CHARS_IN_PAYLOAD}))`),
  });
  const upsert = (onlyOverTombstone: boolean) =>
    write(
      `INSERT INTO ${table} AS t (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE ` +
        `SET value = EXCLUDED.value, version = DEFAULT, deleted_at = NULL${onlyOverTombstone ? ' WHERE t.value IS NULL' : ''}`,
      's',
      't.',
    );
  const lock = hash32(`modhost-storage:${schema}.${tableName}`);
  return {
    table,
    channel,
    setup: [
      'DO $modhost_setup$ BEGIN',
      `PERFORM pg_advisory_xact_lock(${lock});`,
      `IF to_regnamespace(${literal(quote(schema))}) IS NULL THEN CREATE SCHEMA ${quote(schema)}; END IF;`,
      `IF to_regclass(${literal(table)}) IS NULL THEN CREATE TABLE ${table} (`,
      '  key text COLLATE "C" PRIMARY KEY,',
      '  value text,',
      '  version bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL,',
      '  deleted_at timestamptz',
      `); COMMENT ON TABLE ${table} IS ${literal('modhost storage (@modhost/storage-postgres), format 1: value NULL is a tombstone')}; END IF;`,
      'END $modhost_setup$;',
    ].join('\n'),
    listen: `LISTEN ${quote(channel)}`,
    unlisten: `UNLISTEN ${quote(channel)}`,
    get: statement(`SELECT value FROM ${table} WHERE key = $1`),
    keys: statement(`SELECT key FROM ${table} WHERE key LIKE $1 ESCAPE '\\' AND value IS NOT NULL ORDER BY key`),
    set: upsert(false),
    insertIfAbsent: upsert(true),
    replace: write(`UPDATE ${table} SET value = $3, version = DEFAULT WHERE key = $1 AND value = $2`, 's'),
    remove: write(`UPDATE ${table} SET value = NULL, version = DEFAULT, deleted_at = now() WHERE key = $1 AND value IS NOT NULL`, 'd'),
    removeIf: write(`UPDATE ${table} SET value = NULL, version = DEFAULT, deleted_at = now() WHERE key = $1 AND value = $2`, 'd'),
    present: statement(`SELECT 1 AS present FROM ${table} WHERE key = $1 AND value IS NOT NULL`),
    lastVersion: statement(`SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence(${literal(table)}, 'version')), 0)::text AS version`),
    changedSince: statement(`SELECT key, value IS NULL AS deleted, version::text AS version FROM ${table} WHERE version > $1::bigint ORDER BY version`),
    changedUnder: statement(
      `SELECT key, value IS NULL AS deleted, version::text AS version FROM ${table} WHERE key LIKE $1 ESCAPE '\\' AND version >= $2::bigint ORDER BY version`,
    ),
    prune: statement(`DELETE FROM ${table} WHERE value IS NULL AND deleted_at <= now() - $1::double precision * interval '1 millisecond'`),
  };
}

/** A decoded NOTIFY payload. */
export type Payload =
  | { readonly type: 'set' | 'delete'; readonly version: number; readonly key: string }
  | { readonly type: 'prefix'; readonly version: number; readonly prefix: string };

/** Decodes a payload written by the statements above; undefined for anything else on the channel. */
export function decodePayload(payload: string): Payload | undefined {
  const m = /^([sdp]):(\d+):/.exec(payload);
  if (!m) return undefined;
  const version = Number(m[2]);
  const rest = payload.slice(m[0].length);
  if (m[1] === 'p') return { type: 'prefix', version, prefix: rest };
  return { type: m[1] === 's' ? 'set' : 'delete', version, key: rest };
}
