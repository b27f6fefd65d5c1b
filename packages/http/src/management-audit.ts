import type { StorageAdapter } from '@modhost/core';
import type { ManagementAuditRecord } from './management-types.js';

/** A filter for `GET /audit`. */
export interface AuditQuery {
  readonly module?: string | undefined;
  readonly tenant?: string | undefined;
  readonly action?: string | undefined;
  /** Only records after this sequence number (for paging). */
  readonly after?: number | undefined;
  readonly limit?: number | undefined;
}

type Input = Omit<ManagementAuditRecord, 'seq' | 'at'>;

interface AuditOptions {
  /** How many records are kept (in memory, or in storage: older ones are deleted). */
  readonly limit: number;
  readonly now: () => number;
  readonly onRecord?: ((r: ManagementAuditRecord) => void) | undefined;
  /** When given, the trail lives here: shared by every instance on it, and kept across restarts. */
  readonly storage?: StorageAdapter | undefined;
  readonly namespace?: string | undefined;
  /** Told when a record could not be stored (the change it records stands). */
  readonly onStoreError?: ((error: unknown) => void) | undefined;
  /** Stored records older than this go (default 90 days), swept in the background at most once an hour. */
  readonly maxAgeMs?: number | undefined;
}

const DAY_MS = 86_400_000;

const matches = (r: ManagementAuditRecord, q: AuditQuery) =>
  (q.module === undefined || r.module === q.module) &&
  (q.tenant === undefined || r.tenant === q.tenant) &&
  (q.action === undefined || r.action === q.action) &&
  (q.after === undefined || r.seq > q.after);
const limitOf = (q: AuditQuery) => Math.max(1, Math.min(q.limit ?? 100, 1000));

/**
 * The management API's audit trail: a bounded ring in memory, or (with `storage`) records in the host's storage
 * numbered by a counter every instance shares. Every record is also handed to `onRecord`.
 */
export function createManagementAudit(options: AuditOptions) {
  return options.storage ? storedAudit(options, options.storage) : memoryAudit(options);
}

function notify(options: AuditOptions, record: ManagementAuditRecord) {
  try {
    options.onRecord?.(record);
  } catch {
    // A sink that throws never undoes the change it records.
  }
}

function memoryAudit(options: AuditOptions) {
  const records: ManagementAuditRecord[] = [];
  let seq = 0;
  return {
    record(input: Input): void {
      seq += 1;
      const record = Object.freeze({ seq, at: options.now(), ...input });
      records.push(record);
      if (records.length > options.limit) records.splice(0, records.length - options.limit);
      notify(options, record);
    },
    async query(q: AuditQuery): Promise<ManagementAuditRecord[]> {
      return records.filter((r) => matches(r, q)).slice(-limitOf(q));
    },
  };
}

function storedAudit(options: AuditOptions, storage: StorageAdapter) {
  const base = `${options.namespace ?? 'modhost'}:management-audit`;
  const counter = `${base}:seq`;
  const prefix = `${base}:r:`;
  const keyOf = (seq: number) => `${prefix}${String(seq).padStart(15, '0')}`;
  // Writes go one after another, so this instance's records keep their order and a query sees them all.
  let pending: Promise<void> = Promise.resolve();
  const nextSeq = async (): Promise<number> => {
    for (;;) {
      const raw = (await storage.get(counter)) ?? null;
      const next = (Number(raw) || 0) + 1;
      if (await storage.compareAndSet(counter, raw, String(next))) return next;
    }
  };
  const parse = (raw: string | null | undefined): ManagementAuditRecord | undefined => {
    try {
      const r = typeof raw === 'string' ? (JSON.parse(raw) as ManagementAuditRecord) : undefined;
      return r && typeof r.seq === 'number' && typeof r.action === 'string' ? r : undefined;
    } catch {
      return undefined;
    }
  };
  const maxAgeMs = options.maxAgeMs ?? 90 * DAY_MS;
  let lastSweep: number | undefined;
  /** Deletes stored records older than the age, oldest first (their numbers follow time), until a younger one. */
  const sweep = async (now: number) => {
    for (const key of (await storage.keys(prefix)).sort()) {
      const r = parse(await storage.get(key));
      if (r !== undefined && r.at >= now - maxAgeMs) return;
      await storage.delete(key);
    }
  };
  return {
    record(input: Input): void {
      const at = options.now();
      pending = pending
        .then(async () => {
          const seq = await nextSeq();
          const record = Object.freeze({ seq, at, ...input });
          await storage.set(keyOf(seq), JSON.stringify(record));
          if (seq > options.limit) await storage.delete(keyOf(seq - options.limit));
          notify(options, record);
          if (lastSweep === undefined || at - lastSweep >= 3_600_000) {
            lastSweep = at;
            await sweep(at);
          }
        })
        .catch((e: unknown) => options.onStoreError?.(e));
    },
    async query(q: AuditQuery): Promise<ManagementAuditRecord[]> {
      await pending;
      const keys = (await storage.keys(prefix)).sort();
      const out: ManagementAuditRecord[] = [];
      const limit = limitOf(q);
      // Newest first until the page is full; the page is returned oldest first.
      for (let i = keys.length - 1; i >= 0 && out.length < limit; i--) {
        const key = keys[i] as string;
        if (q.after !== undefined && Number(key.slice(prefix.length)) <= q.after) break;
        const r = parse(await storage.get(key));
        if (r && matches(r, q)) out.push(r);
      }
      return out.reverse();
    },
  };
}
