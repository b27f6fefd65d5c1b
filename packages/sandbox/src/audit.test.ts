import { memoryStorage, type StorageAdapter } from '@modhost/core';
import { createFakeClock } from '@modhost/testkit';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { createAuditLog, readAudit, storageAuditSink } from './audit.js';

const entry = (module: string, tenant?: string) => ({
  kind: 'denial' as const,
  module,
  tenant,
  permission: 'tasks:read',
  decision: 'deny' as const,
  detail: 'x',
});

describe('audit log', () => {
  it('keeps the newest records in a bounded ring, queryable by module, tenant, kind and time (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.record({ module: fc.constantFrom('a', 'b'), tenant: fc.constantFrom(undefined, 't1'), dt: fc.integer({ min: 0, max: 5 }) }), {
          maxLength: 60,
        }),
        fc.record({
          module: fc.constantFrom(undefined, 'a'),
          tenant: fc.constantFrom(undefined, 't1'),
          since: fc.constantFrom(undefined, 20),
          until: fc.constantFrom(undefined, 60),
        }),
        (capacity, inputs, filter) => {
          const clock = createFakeClock({ now: 0 });
          const log = createAuditLog({ capacity, clock });
          const all = inputs.map((i) => {
            clock.advance(i.dt);
            return log.record(entry(i.module, i.tenant));
          });
          const kept = all.slice(-capacity);
          const f = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined));
          const expected = kept.filter(
            (r) =>
              (f.module === undefined || r.module === f.module) &&
              (f.tenant === undefined || r.tenant === f.tenant) &&
              (f.since === undefined || r.time >= (f.since as number)) &&
              (f.until === undefined || r.time < (f.until as number)),
          );
          expect(log.query(f)).toEqual(expected);
          expect(log.query({ ...f, limit: 2 })).toEqual(expected.slice(-2));
        },
      ),
    );
  });

  it('persists through the storage port and reads back by time range, across hosts', async () => {
    const storage = memoryStorage();
    const clock = createFakeClock({ now: 1_000 });
    const one = createAuditLog({ clock, sink: storageAuditSink(storage, { hostId: 'h1' }) });
    const two = createAuditLog({ clock, sink: storageAuditSink(storage, { hostId: 'h2' }) });
    one.record(entry('a'));
    clock.advance(10);
    two.record(entry('b', 'acme'));
    clock.advance(10);
    one.record(entry('a', 'acme'));
    await Promise.all([one.flush(), two.flush()]);
    expect((await readAudit(storage)).map((r) => [r.module, r.time])).toEqual([
      ['a', 1_000],
      ['b', 1_010],
      ['a', 1_020],
    ]);
    expect((await readAudit(storage, { tenant: 'acme', since: 1_015 })).map((r) => r.module)).toEqual(['a']);
    expect(await readAudit(storage, { until: 1_000 })).toEqual([]);
  });

  it('retention: records past the age, and the oldest past the count, go in the background; false keeps all', async () => {
    const day = 86_400_000;
    const count = async (storage: StorageAdapter) => (await readAudit(storage)).length;
    const storage = memoryStorage();
    const clock = createFakeClock({ now: 0 });
    const sink = storageAuditSink(storage, { hostId: 'h', retention: { maxAgeMs: 10 * day, maxRecords: 5 } });
    const log = createAuditLog({ clock, sink });
    for (let i = 0; i < 3; i++) log.record(entry(`old${i}`));
    await log.flush();
    await sink.swept();
    clock.advance(11 * day);
    for (let i = 0; i < 8; i++) log.record(entry(`new${i}`));
    await log.flush();
    await sink.swept();
    // The sweep at the first of them took the three past 10 days; the next sweep (an hour later) the count.
    expect(await count(storage)).toBe(8);
    clock.advance(3_600_000);
    log.record(entry('new8'));
    await log.flush();
    await sink.swept();
    expect((await readAudit(storage)).map((r) => r.module)).toEqual(['new4', 'new5', 'new6', 'new7', 'new8']);

    const keepAll = memoryStorage();
    const all = storageAuditSink(keepAll, { retention: false });
    const log2 = createAuditLog({ clock, sink: all });
    for (let i = 0; i < 8; i++) log2.record(entry(`r${i}`));
    await log2.flush();
    await all.swept();
    expect(await count(keepAll)).toBe(8);
  });

  it('by default keeps 90 days', async () => {
    const storage = memoryStorage();
    const clock = createFakeClock({ now: 0 });
    const sink = storageAuditSink(storage, { hostId: 'h' });
    const log = createAuditLog({ clock, sink });
    log.record(entry('first'));
    await log.flush();
    clock.advance(89 * 86_400_000);
    log.record(entry('within'));
    await log.flush();
    await sink.swept();
    clock.advance(2 * 86_400_000);
    log.record(entry('later'));
    await log.flush();
    await sink.swept();
    expect((await readAudit(storage)).map((r) => r.module)).toEqual(['within', 'later']);
  });

  it('a failing sink loses nothing from the ring and reports the failure', async () => {
    const failing: StorageAdapter = { ...memoryStorage(), set: () => Promise.reject(new Error('disk full')) };
    const errors: string[] = [];
    const log = createAuditLog({ sink: storageAuditSink(failing), onSinkError: (e) => void errors.push(String((e as Error).message)) });
    log.record(entry('a'));
    await log.flush();
    expect(errors).toEqual([expect.stringContaining('disk full')]);
    expect(log.query()).toHaveLength(1);
  });

  it('counters are one object per (module, tenant, permission), reused', () => {
    const log = createAuditLog();
    const c = log.counter('a', undefined, 'tasks:read');
    expect(log.counter('a', undefined, 'tasks:read')).toBe(c);
    expect(log.usage()).toEqual([]);
    c.count += 1;
    expect(log.usage('a')).toEqual([{ module: 'a', tenant: undefined, permission: 'tasks:read', count: 1, firstUse: 0 }]);
  });

  it("on('record') hears every record until its off function is called", () => {
    const log = createAuditLog();
    const heard: number[] = [];
    const off = log.on('record', (r) => void heard.push(r.seq));
    log.record(entry('a'));
    log.record(entry('b'));
    off();
    log.record(entry('c'));
    expect(heard).toEqual([1, 2]);
  });

  it('a listener that throws is reported and skipped: record() still returns, the other listeners still hear it', () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const log = createAuditLog();
      const heard: string[] = [];
      log.on('record', () => {
        throw new Error('a listener bug');
      });
      log.on('record', (r) => void heard.push(r.module));
      expect(log.record(entry('a')).seq).toBe(1);
      expect(heard).toEqual(['a']);
      expect(log.query()).toHaveLength(1);
      expect(errors).toHaveBeenCalledWith(expect.stringContaining('"record"'), expect.objectContaining({ message: 'a listener bug' }));
    } finally {
      errors.mockRestore();
    }
  });

  it('subscribe (deprecated) still works: it is on("record")', () => {
    const log = createAuditLog();
    const heard: number[] = [];
    const off = log.subscribe((r) => void heard.push(r.seq));
    log.record(entry('a'));
    off();
    log.record(entry('a'));
    expect(heard).toEqual([1]);
  });
});
