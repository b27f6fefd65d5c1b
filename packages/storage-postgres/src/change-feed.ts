import type { Clock, StorageChange, TimerHandle } from '@modhost/core';
import type { Driver, Row } from './driver.js';
import { decodePayload, likePrefix, type Statement, type Statements } from './statements.js';

/** The watchers of one adapter, fed by one LISTEN connection while any is subscribed. */
export interface ChangeFeed {
  /** Resolves once LISTEN is active: every write committed after that is reported. */
  subscribe(prefix: string, callback: (change: StorageChange) => void): Promise<() => Promise<void>>;
  /** Stops listening and releases the connection. */
  close(): Promise<void>;
}

/** Options for {@link createChangeFeed}. */
export interface ChangeFeedOptions {
  readonly driver: Driver;
  readonly statements: Statements;
  /** Runs a statement the way the adapter does (table ready, errors wrapped). */
  readonly query: (operation: string, statement: Statement, values: readonly unknown[]) => Promise<readonly Row[]>;
  readonly clock: Clock;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly onError: (error: Error) => void;
  /** The error for a lost or failed LISTEN connection. */
  readonly lost: (cause: unknown) => Error;
}

/** How many versions back a write may commit late and still be found by a catch-up (versions are taken before commit). */
const LATE_COMMIT_WINDOW = 10_000;

/**
 * What a watcher has reported. Versions come from one sequence, taken when a statement runs, so they can commit
 * out of order: the cursor keeps the versions seen above a floor, and a catch-up reports every row above the floor
 * that it has not seen, never only "above the highest".
 */
class Cursor {
  started = false;
  private floor = 0;
  private high = 0;
  private readonly seen = new Set<number>();
  get since(): number {
    return this.floor;
  }
  start(version: number): void {
    this.started = true;
    this.floor = Math.max(this.floor, version);
  }
  /** A notification: new unless already reported (e.g. by the catch-up that raced it). */
  isNew(version: number): boolean {
    return !this.seen.has(version);
  }
  /** A row read by a catch-up. */
  isNewRow(version: number): boolean {
    return version > this.floor && !this.seen.has(version);
  }
  mark(version: number): void {
    this.seen.add(version);
    if (version > this.high) this.high = version;
    if (this.seen.size > 2 * LATE_COMMIT_WINDOW) {
      this.floor = Math.max(this.floor, this.high - LATE_COMMIT_WINDOW);
      for (const v of this.seen) if (v <= this.floor) this.seen.delete(v);
    }
  }
}

interface Subscriber {
  readonly prefix: string;
  readonly callback: (change: StorageChange) => void;
}

/** One run of the feed, from the first subscriber to the last unsubscribe (or close). */
interface Session {
  stopped: boolean;
  unlisten: (() => Promise<void>) | undefined;
  timer: TimerHandle | undefined;
  attempt: number;
  readonly cursor: Cursor;
  /** Settles when the first LISTEN is active (or could not be opened). */
  started: Promise<void>;
  /** Opens, catch-ups and prefix look-ups in flight: stopping waits for them. */
  readonly pending: Set<Promise<unknown>>;
}

/** Creates the change feed behind an adapter's `watch`. */
export function createChangeFeed(options: ChangeFeedOptions): ChangeFeed {
  const { driver, statements, query, clock, onError } = options;
  const subscribers = new Set<Subscriber>();
  let session: Session | undefined;

  const track = <T>(s: Session, work: Promise<T>): Promise<T> => {
    s.pending.add(work);
    const forget = () => s.pending.delete(work);
    work.then(forget, forget);
    return work;
  };

  const deliver = (change: StorageChange) => {
    for (const sub of [...subscribers]) {
      if (!change.key.startsWith(sub.prefix)) continue;
      try {
        sub.callback(change);
      } catch (error) {
        onError(new Error(`storage-postgres: a watch callback threw on ${change.type} of ${JSON.stringify(change.key)}`, { cause: error }));
      }
    }
  };

  const deliverRows = (s: Session, rows: readonly Row[], fresh: (version: number) => boolean) => {
    for (const row of rows) {
      const version = Number(row.version);
      if (!fresh(version)) continue;
      s.cursor.mark(version);
      deliver({ type: row.deleted === true ? 'delete' : 'set', key: String(row.key) });
    }
  };

  const onPayload = (s: Session, raw: string) => {
    if (s.stopped) return;
    const payload = decodePayload(raw);
    if (!payload || !s.cursor.isNew(payload.version)) return;
    if (payload.type !== 'prefix') {
      s.cursor.mark(payload.version);
      deliver({ type: payload.type, key: payload.key });
      return;
    }
    // A key too long for NOTIFY: read what changed under its first characters since that version.
    const lookUp = query('watch', statements.changedUnder, [likePrefix(payload.prefix), String(payload.version)]).then(
      (rows) => {
        if (s.stopped) return;
        deliverRows(s, rows, (v) => s.cursor.isNew(v));
        s.cursor.mark(payload.version);
      },
      // Not marked as seen: the catch-up after the reconnect that follows a lost connection reports it.
      (error: unknown) => onError(error instanceof Error ? error : new Error(String(error))),
    );
    void track(s, lookUp);
  };

  const schedule = (s: Session) => {
    if (s.stopped || !driver.reconnectable) return;
    if (s.timer !== undefined) clock.clearTimeout(s.timer);
    const delay = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** s.attempt);
    s.attempt++;
    s.timer = clock.setTimeout(() => {
      s.timer = undefined;
      void track(s, open(s)).catch((error: unknown) => {
        onError(options.lost(error));
        schedule(s);
      });
    }, delay);
  };

  const onLost = (s: Session, error: Error) => {
    if (s.stopped) return;
    s.unlisten = undefined;
    onError(options.lost(error));
    if (!driver.reconnectable) {
      onError(new Error('storage-postgres: watch stopped: a pg.Client passed as `client` cannot be reconnected; pass a pool or a connection string'));
      return;
    }
    schedule(s);
  };

  /** LISTENs, then either reads the starting version (first time) or reports what changed while disconnected. */
  async function open(s: Session): Promise<void> {
    const unlisten = await driver.listen(
      (payload) => onPayload(s, payload),
      (error) => onLost(s, error),
    );
    if (s.stopped) {
      await unlisten();
      return;
    }
    s.unlisten = unlisten;
    if (!s.cursor.started) {
      const [row] = await query('watch', statements.lastVersion, []);
      if (s.unlisten !== unlisten) throw new Error('the LISTEN connection was lost while the watch started');
      s.cursor.start(Number(row?.version ?? 0));
    } else {
      const rows = await query('watch', statements.changedSince, [String(s.cursor.since)]);
      if (!s.stopped) deliverRows(s, rows, (v) => s.cursor.isNewRow(v));
    }
    s.attempt = 0;
  }

  const stop = async (s: Session) => {
    s.stopped = true;
    if (s.timer !== undefined) clock.clearTimeout(s.timer);
    s.timer = undefined;
    while (s.pending.size > 0) await Promise.allSettled([...s.pending]);
    const unlisten = s.unlisten;
    s.unlisten = undefined;
    await unlisten?.();
  };

  const start = (): Session => {
    const s: Session = {
      stopped: false,
      unlisten: undefined,
      timer: undefined,
      attempt: 0,
      cursor: new Cursor(),
      pending: new Set(),
      started: Promise.resolve(),
    };
    s.started = track(s, open(s)).catch(async (error: unknown) => {
      if (session === s) session = undefined;
      await stop(s);
      throw options.lost(error);
    });
    return s;
  };

  return {
    async subscribe(prefix, callback) {
      const sub: Subscriber = { prefix, callback };
      session ??= start();
      const s = session;
      subscribers.add(sub);
      try {
        await s.started;
      } catch (error) {
        subscribers.delete(sub);
        throw error;
      }
      return async () => {
        if (!subscribers.delete(sub) || subscribers.size > 0 || session !== s) return;
        session = undefined;
        await stop(s);
      };
    },
    async close() {
      subscribers.clear();
      const s = session;
      session = undefined;
      if (s) await stop(s);
    },
  };
}
