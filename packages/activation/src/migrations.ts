import { type Clock, type MigrationDefinition, ModhostError, type ModuleContext, type StorageAdapter, summarizeCause } from '@modhost/core';
import { createStore } from '@modhost/core/internal';
import { sleep } from './timeouts.js';

/** One applied migration, as recorded. */
export interface AppliedMigration {
  readonly name: string;
  /** A hash of the migration's code: an applied migration must never change. */
  readonly checksum: string;
  readonly batch: number;
  readonly version: string;
  readonly at: number;
}

/** A module's migration history. */
export interface MigrationHistory {
  readonly applied: readonly AppliedMigration[];
  /** Batches whose version went on to serve: their `down` never runs. */
  readonly served: readonly number[];
}

/** Where migration state lives and who is migrating. */
export interface MigrationStore {
  readonly storage: StorageAdapter;
  readonly namespace: string;
  readonly clock: Clock;
  /** Identifies this host in the lock. */
  readonly owner: string;
  /** How long a lock lasts before another host may take it over (a crashed host), ms. Default 10 minutes. */
  readonly lockTtlMs?: number;
  /**
   * How long to wait for another host's migration of the same module to finish before refusing, ms (default 0:
   * refuse at once). The activator waits up to its migrate timeout: in a fleet, one instance migrates, the others wait.
   */
  readonly waitMs?: number;
}

/** FNV-1a over the code's text, as hex: enough to notice an edited migration. */
export function checksumOf(m: MigrationDefinition): string {
  const text = `${String(m.up)}\n${String(m.down ?? '')}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** The module's migration records through core's storage helper (keys `<ns>:migrations:<module>`, `<ns>:migration-lock:<module>`). */
const storeOf = (s: MigrationStore, module: string) => createStore(s.storage, { namespace: s.namespace, owner: { label: module, details: { module } } });
const EMPTY: MigrationHistory = { applied: [], served: [] };

/** Reads a module's migration history (empty when none ran). */
export async function readHistory(s: MigrationStore, module: string): Promise<MigrationHistory> {
  const store = storeOf(s, module);
  const raw = await store.readText(store.key('migrations', module));
  return raw ? (JSON.parse(raw) as MigrationHistory) : EMPTY;
}

async function writeHistory(s: MigrationStore, module: string, update: (h: MigrationHistory) => MigrationHistory): Promise<void> {
  const store = storeOf(s, module);
  await store.updateText(store.key('migrations', module), (raw) => JSON.stringify(update(raw ? (JSON.parse(raw) as MigrationHistory) : EMPTY)));
}

const heldByOther = (s: MigrationStore, raw: string) => {
  const held = JSON.parse(raw) as { owner: string; expiresAt: number };
  return held.expiresAt > s.clock.now() && held.owner !== s.owner;
};

/** Takes the module's migration lock (compare-and-set), or says who holds it. Returns the release function. */
async function lock(s: MigrationStore, module: string): Promise<() => Promise<void>> {
  const store = storeOf(s, module);
  const key = store.key('migration-lock', module);
  const mine = JSON.stringify({ owner: s.owner, expiresAt: s.clock.now() + (s.lockTtlMs ?? 600_000) });
  const waitUntil = s.clock.now() + (s.waitMs ?? 0);
  let current = (await store.readText(key)) ?? null;
  // Another host migrating this module: wait for it (bounded), then take the lock, or find nothing left to do.
  while (current !== null && s.clock.now() < waitUntil && heldByOther(s, current)) {
    await sleep(s.clock, Math.min(100, Math.max(1, waitUntil - s.clock.now())));
    current = (await store.readText(key)) ?? null;
  }
  if (current !== null) {
    const held = JSON.parse(current) as { owner: string; expiresAt: number };
    if (held.expiresAt > s.clock.now() && held.owner !== s.owner) {
      throw new ModhostError(
        'STORAGE_CONFLICT',
        `${module}: host "${held.owner}" is migrating it now (lock until ${new Date(held.expiresAt).toISOString()}); try again when it is done`,
        {
          details: { module, owner: held.owner, expiresAt: held.expiresAt },
        },
      );
    }
  }
  // Exactly one of two racing hosts wins this compare-and-set (an expired lock is taken over the same way).
  if (!(await store.swap(key, current, mine))) {
    throw new ModhostError('STORAGE_CONFLICT', `${module}: another host took the migration lock first; try again when it is done`, { details: { module } });
  }
  return async () => {
    await store.swap(key, mine, null);
  };
}

/** What {@link migrate} did. */
export interface MigrationResult {
  /** The batch number of what ran now, or undefined when nothing was pending. */
  readonly batch?: number;
  readonly ran: readonly string[];
}

/**
 * Runs a version's pending migrations in order, under the module's lock, as one batch. If one fails, the ones this
 * batch already ran are undone (`down`, newest first) before the error is thrown. An applied migration whose code
 * changed is `INTEGRITY_MISMATCH`.
 */
export async function migrate(
  s: MigrationStore,
  module: string,
  version: string,
  migrations: readonly MigrationDefinition[],
  ctx: ModuleContext,
): Promise<MigrationResult> {
  if (migrations.length === 0) return { ran: [] };
  const release = await lock(s, module);
  try {
    const history = await readHistory(s, module);
    const applied = new Map(history.applied.map((a) => [a.name, a]));
    for (const m of migrations) {
      const a = applied.get(m.name);
      if (a && a.checksum !== checksumOf(m)) {
        throw new ModhostError(
          'INTEGRITY_MISMATCH',
          `${module}: migration "${m.name}" was applied (batch ${a.batch}, by ${a.version}) but its code has changed since; never edit an applied migration, add a new one`,
          { details: { module, migration: m.name, recorded: a.checksum, now: checksumOf(m) } },
        );
      }
    }
    const pending = migrations.filter((m) => !applied.has(m.name));
    if (pending.length === 0) return { ran: [] };
    const batch = Math.max(0, ...history.applied.map((a) => a.batch)) + 1;
    const done: MigrationDefinition[] = [];
    for (const m of pending) {
      try {
        await m.up(ctx);
      } catch (e) {
        const undo = await undoMigrations(done, ctx);
        await writeHistory(s, module, (h) => ({ ...h, applied: h.applied.filter((x) => x.batch !== batch) }));
        throw new ModhostError(
          undo ? 'ROLLBACK_FAILED' : 'MIGRATION_FAILED',
          `${module}: migration "${m.name}" failed: ${summarizeCause(e)}${undo ? `; undoing the batch also failed: ${undo}` : '; the batch was undone'}`,
          {
            cause: e,
            details: { module, migration: m.name, batch },
          },
        );
      }
      done.push(m);
      const entry: AppliedMigration = { name: m.name, checksum: checksumOf(m), batch, version, at: s.clock.now() };
      await writeHistory(s, module, (h) => ({ ...h, applied: [...h.applied, entry] }));
    }
    return { batch, ran: pending.map((m) => m.name) };
  } finally {
    await release();
  }
}

/** Runs `down` newest first; returns a description of the first failure (the rest still run), or undefined. */
async function undoMigrations(done: readonly MigrationDefinition[], ctx: ModuleContext): Promise<string | undefined> {
  let failure: string | undefined;
  for (const m of [...done].reverse()) {
    try {
      if (!m.down) throw new Error(`migration "${m.name}" has no down`);
      await m.down(ctx);
    } catch (e) {
      failure ??= summarizeCause(e);
    }
  }
  return failure;
}

/** Records that the version which ran `batch` now serves: its migrations are permanent. */
export async function markServed(s: MigrationStore, module: string, batch: number): Promise<void> {
  await writeHistory(s, module, (h) => (h.served.includes(batch) ? h : { ...h, served: [...h.served, batch] }));
}

/**
 * Undoes a batch whose version never served (it failed its health gate, or its upgrade was discarded).
 * Refuses for a batch that served: its data may already be relied on.
 */
export async function undoBatch(
  s: MigrationStore,
  module: string,
  batch: number,
  migrations: readonly MigrationDefinition[],
  ctx: ModuleContext,
): Promise<void> {
  const release = await lock(s, module);
  try {
    const history = await readHistory(s, module);
    if (history.served.includes(batch)) {
      throw new ModhostError('ROLLBACK_FAILED', `${module}: batch ${batch} served traffic, so its migrations are not undone`, { details: { module, batch } });
    }
    const names = new Set(history.applied.filter((a) => a.batch === batch).map((a) => a.name));
    const failure = await undoMigrations(
      migrations.filter((m) => names.has(m.name)),
      ctx,
    );
    await writeHistory(s, module, (h) => ({ ...h, applied: h.applied.filter((a) => a.batch !== batch) }));
    if (failure) throw new ModhostError('ROLLBACK_FAILED', `${module}: undoing migration batch ${batch} failed: ${failure}`, { details: { module, batch } });
  } finally {
    await release();
  }
}
