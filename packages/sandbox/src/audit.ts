import { type Clock, createEmitter, type StorageAdapter, summarizeCause, systemClock } from '@modhost/core';
import { createStore } from '@modhost/core/internal';

/** What an audit record is about. */
export type AuditKind = 'grant' | 'revoke' | 'denial' | 'quota' | 'crash' | 'restart' | 'error' | 'integrity';

/** One audit record. Plain data: it is stored as JSON and compared in tests. */
export interface AuditRecord {
  /** Increases by one per record in this log. */
  readonly seq: number;
  /** Milliseconds since the epoch, from the injected clock. */
  readonly time: number;
  readonly kind: AuditKind;
  readonly module: string;
  /** The tenant, or `undefined` for host-wide. */
  readonly tenant: string | undefined;
  /** The permission concerned, if any (`net:fetch:api.example.com`, `quota:call-timeout`, …). */
  readonly permission: string | undefined;
  readonly decision: 'allow' | 'deny' | 'info';
  /** One line a person can read. */
  readonly detail: string;
}

/** What {@link AuditLog.record} takes: a record without its `seq` and `time`. */
export type AuditInput = Omit<AuditRecord, 'seq' | 'time' | 'tenant' | 'permission'> & { tenant?: string | undefined; permission?: string | undefined };

/** A filter for {@link AuditLog.query} and {@link readAudit}. Every field narrows; none means all. */
export interface AuditFilter {
  module?: string;
  tenant?: string;
  kind?: AuditKind;
  /** Inclusive lower bound on `time`. */
  since?: number;
  /** Exclusive upper bound on `time`. */
  until?: number;
  /** At most this many, newest last. */
  limit?: number;
}

/**
 * Counts the allowed uses of one permission by one module (and tenant). The sandbox increments the fields in
 * place, so counting allocates nothing per call.
 */
export interface UsageCounter {
  readonly module: string;
  readonly tenant: string | undefined;
  readonly permission: string;
  /** Allowed calls so far. */
  count: number;
  /** Clock time of the first allowed call, or 0 when there was none. */
  firstUse: number;
}

/** The audit log's events by name, for {@link AuditLog.on}. */
export type AuditEvents = {
  /** Every record, as it is made. */
  record: AuditRecord;
};

/** Where records go besides the ring: {@link storageAuditSink}, or your own (a log shipper, a SIEM). */
export interface AuditSink {
  write(record: AuditRecord): void | Promise<void>;
}

/** Options for {@link createAuditLog}. */
export interface AuditLogOptions {
  /** How many records the in-memory ring keeps (default 1,000); older ones are only in the sink. */
  capacity?: number;
  clock?: Clock;
  sink?: AuditSink;
  /** Called when the sink fails; the record stays in the ring. Default: `console.error`. */
  onSinkError?: (error: unknown, record: AuditRecord) => void;
}

/** The audit trail: a bounded ring, usage counters, and an optional persistent sink. */
export interface AuditLog {
  record(input: AuditInput): AuditRecord;
  /** Records still in the ring that match, oldest first. */
  query(filter?: AuditFilter): AuditRecord[];
  /** The counter for (module, tenant, permission), made on first request and reused after. */
  counter(module: string, tenant: string | undefined, permission: string): UsageCounter;
  /** Counters with at least one use, optionally for one module. */
  usage(module?: string): UsageCounter[];
  /** Resolves when every record so far has reached the sink. */
  flush(): Promise<void>;
  /**
   * Listens to an event: `record` is every record, as it is made (for metrics or alerts). A listener that throws is
   * reported and skipped; it never breaks `record()`. Returns the function that stops listening.
   */
  on<K extends keyof AuditEvents>(event: K, listener: (payload: AuditEvents[K]) => void): () => void;
  /**
   * Listens to every record. Returns the unsubscribe function.
   * @deprecated use `on('record', fn)`.
   */
  subscribe(listener: (record: AuditRecord) => void): () => void;
}

function matches(r: AuditRecord, f: AuditFilter): boolean {
  return (
    (f.module === undefined || r.module === f.module) &&
    (f.tenant === undefined || r.tenant === f.tenant) &&
    (f.kind === undefined || r.kind === f.kind) &&
    (f.since === undefined || r.time >= f.since) &&
    (f.until === undefined || r.time < f.until)
  );
}

/** Creates an audit log. */
export function createAuditLog(options: AuditLogOptions = {}): AuditLog {
  const capacity = Math.max(1, options.capacity ?? 1000);
  const clock = options.clock ?? systemClock;
  const ring: (AuditRecord | undefined)[] = new Array(capacity);
  let seq = 0;
  const counters = new Map<string, UsageCounter>();
  const events = createEmitter<AuditEvents>();
  let pending: Promise<void> = Promise.resolve();
  const onSinkError =
    options.onSinkError ?? ((e: unknown, r: AuditRecord) => console.error(`modhost audit: sink failed for record ${r.seq}: ${summarizeCause(e)}`));

  return {
    record(input) {
      seq += 1;
      const record: AuditRecord = Object.freeze({
        seq,
        time: clock.now(),
        kind: input.kind,
        module: input.module,
        tenant: input.tenant,
        permission: input.permission,
        decision: input.decision,
        detail: input.detail,
      });
      ring[(seq - 1) % capacity] = record;
      const sink = options.sink;
      // Sink writes go one after another, so a persisted trail keeps its order.
      if (sink) pending = pending.then(() => sink.write(record)).catch((e) => onSinkError(e, record));
      events.emit('record', record);
      return record;
    },
    query(filter = {}) {
      const out: AuditRecord[] = [];
      const first = Math.max(1, seq - capacity + 1);
      for (let s = first; s <= seq; s++) {
        const r = ring[(s - 1) % capacity];
        if (r && matches(r, filter)) out.push(r);
      }
      return filter.limit !== undefined ? out.slice(-filter.limit) : out;
    },
    counter(module, tenant, permission) {
      const key = `${module}\u0000${tenant ?? ''}\u0000${permission}`;
      let c = counters.get(key);
      if (!c) {
        c = { module, tenant, permission, count: 0, firstUse: 0 };
        counters.set(key, c);
      }
      return c;
    },
    usage(module) {
      return [...counters.values()].filter((c) => c.count > 0 && (module === undefined || c.module === module)).map((c) => ({ ...c }));
    },
    flush: () => pending,
    on: (event, listener) => events.on(event, listener),
    subscribe: (listener) => events.on('record', listener),
  };
}

/** Options for {@link storageAuditSink} and {@link readAudit}. */
export interface StorageAuditOptions {
  /** Key namespace, as the registry's (default `modhost`). */
  namespace?: string;
  /** Tells this writer's records from other hosts' in a fleet (default: random). */
  hostId?: string;
  /**
   * How long records are kept, and how many (of every host on the storage together): older ones, and the oldest
   * beyond the count, are deleted in the background (the first write after start, then at most once an hour of
   * record time or every 1,000 writes), never on a request's path. Default 90 days and 100,000 records; `false`
   * keeps everything.
   */
  retention?: AuditRetention | false;
}

/** Retention of persisted audit records (see {@link StorageAuditOptions.retention}). */
export interface AuditRetention {
  /** Default 90 days. */
  readonly maxAgeMs?: number;
  /** Default 100,000. */
  readonly maxRecords?: number;
}

const DAY_MS = 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;
const PRUNE_EVERY_WRITES = 1_000;

const pad = (n: number, width: number) => String(n).padStart(width, '0');
/** Audit records go through core's storage helper, under `<ns>:audit:<time>:<host>:<seq>` (ordered by time). */
const auditStore = (storage: StorageAdapter, options: StorageAuditOptions) =>
  createStore(storage, { namespace: options.namespace ?? 'modhost', owner: { label: 'audit' } });

/**
 * An audit sink that writes each record through the storage port, under keys ordered by time
 * (`<ns>:audit:<time>:<host>:<seq>`), so {@link readAudit} can find a time range by key.
 */
export function storageAuditSink(storage: StorageAdapter, options: StorageAuditOptions = {}): AuditSink & { readonly swept: () => Promise<void> } {
  const store = auditStore(storage, options);
  const host = options.hostId ?? Math.random().toString(36).slice(2, 10);
  const retention = options.retention === false ? undefined : options.retention;
  const maxAgeMs = retention?.maxAgeMs ?? 90 * DAY_MS;
  const maxRecords = retention?.maxRecords ?? 100_000;
  let lastPrune: number | undefined;
  let writes = 0;
  let pruning: Promise<void> | undefined;
  const prefix = `${store.key('audit')}:`;
  /** Deletes what is past the retention: by the time in each key (no record is read), then the oldest past the count. */
  const prune = async (now: number) => {
    const keys = await store.keysFrom(prefix);
    const cutoff = now - maxAgeMs;
    const old = keys.filter((k) => Number(k.slice(prefix.length, prefix.length + 15)) < cutoff);
    const kept = keys.length - old.length;
    const extra = Math.max(0, kept - maxRecords);
    for (const key of [...old, ...keys.slice(old.length, old.length + extra)]) await store.remove(key);
  };
  return {
    async write(record) {
      await store.writeText(store.key('audit', pad(record.time, 15), host, pad(record.seq, 12)), JSON.stringify(record));
      if (options.retention === false || pruning) return;
      writes += 1;
      if (lastPrune !== undefined && record.time - lastPrune < PRUNE_EVERY_MS && writes < PRUNE_EVERY_WRITES) return;
      lastPrune = record.time;
      writes = 0;
      // Not awaited: the next records are written while old ones are deleted.
      pruning = prune(record.time)
        .catch(() => {
          // Retention is housekeeping: a failed sweep is tried again at the next one.
        })
        .finally(() => {
          pruning = undefined;
        });
    },
    /** Settles when a retention sweep under way is done (tests, and a clean stop). */
    swept: () => pruning ?? Promise.resolve(),
  };
}

/** Reads persisted audit records (from every host writing to this storage) that match, oldest first. */
export async function readAudit(storage: StorageAdapter, filter: AuditFilter = {}, options: StorageAuditOptions = {}): Promise<AuditRecord[]> {
  const store = auditStore(storage, options);
  const prefix = `${store.key('audit')}:`;
  const out: AuditRecord[] = [];
  for (const key of await store.keysFrom(prefix)) {
    const time = Number(key.slice(prefix.length, prefix.length + 15));
    if ((filter.since !== undefined && time < filter.since) || (filter.until !== undefined && time >= filter.until)) continue;
    const raw = await store.readText(key);
    if (raw === undefined) continue;
    const record = JSON.parse(raw) as AuditRecord;
    if (matches(record, filter)) out.push(record);
  }
  return filter.limit !== undefined ? out.slice(-filter.limit) : out;
}
