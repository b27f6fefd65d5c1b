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

/** The management API's audit trail: a bounded ring in memory, every record also handed to `onRecord`. */
export function createManagementAudit(options: { limit: number; now: () => number; onRecord?: ((r: ManagementAuditRecord) => void) | undefined }) {
  const records: ManagementAuditRecord[] = [];
  let seq = 0;
  return {
    record(input: Omit<ManagementAuditRecord, 'seq' | 'at'>): ManagementAuditRecord {
      seq += 1;
      const record = Object.freeze({ seq, at: options.now(), ...input });
      records.push(record);
      if (records.length > options.limit) records.splice(0, records.length - options.limit);
      try {
        options.onRecord?.(record);
      } catch {
        // A sink that throws never undoes the change it records.
      }
      return record;
    },
    query(q: AuditQuery): ManagementAuditRecord[] {
      const out = records.filter(
        (r) =>
          (q.module === undefined || r.module === q.module) &&
          (q.tenant === undefined || r.tenant === q.tenant) &&
          (q.action === undefined || r.action === q.action) &&
          (q.after === undefined || r.seq > q.after),
      );
      const limit = Math.max(1, Math.min(q.limit ?? 100, 1000));
      return out.slice(-limit);
    },
  };
}
