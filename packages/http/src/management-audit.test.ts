import { memoryStorage } from '@modhost/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type ManagementServer, startManagementServer } from '../test/management-server.js';

const servers: ManagementServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});
const start = async (map: Map<string, string>, auditLimit?: number) => {
  const s = await startManagementServer({ storage: memoryStorage({ map }), ...(auditLimit !== undefined ? { auditLimit } : {}) });
  servers.push(s);
  return s;
};
const trail = async (s: ManagementServer, query = '') =>
  ((await s.call('GET', `/audit${query}`, 'viewer-token')).body.records as { seq: number; action: string; principal: unknown; after: unknown }[]).map((r) => [
    r.seq,
    r.action,
    r.principal,
  ]);

describe('the audit trail in the host’s storage (auditStorage)', () => {
  it('is one trail for every instance on the storage, numbered in order, and survives a restart', async () => {
    const map = new Map<string, string>();
    const a = await start(map);
    const b = await start(map);
    expect((await a.call('PUT', '/modules/tasks/status', 'operator-token', { enabled: false })).status).toBe(200);
    expect((await b.call('PUT', '/modules/tasks/status', 'admin-token', { enabled: true })).status).toBe(200);
    const expected = [
      [1, 'modules.status', 'ops'],
      [2, 'modules.status', 'root'],
    ];
    expect(await trail(a)).toEqual(expected);
    expect(await trail(b)).toEqual(expected);
    expect(await trail(b, '?after=1')).toEqual([expected[1]]);

    await a.close();
    await b.close();
    servers.length = 0;
    const c = await start(map);
    expect(await trail(c)).toEqual(expected);
    // onAudit hears the record with the number it has in the trail.
    await c.call('PUT', '/modules/tasks/status', 'operator-token', { enabled: false });
    await trail(c);
    expect(c.audit.map((r) => r.seq)).toEqual([3]);
  });

  it('keeps at most auditLimit records: the oldest go', async () => {
    const map = new Map<string, string>();
    const s = await start(map, 2);
    for (const enabled of [false, true, false]) await s.call('PUT', '/modules/tasks/status', 'operator-token', { enabled });
    expect((await trail(s)).map(([seq]) => seq)).toEqual([2, 3]);
    expect([...map.keys()].filter((k) => k.includes('management-audit:r:'))).toHaveLength(2);
  });
});

describe('retention of a stored trail', () => {
  it('records older than maxAgeMs (default 90 days) go at the next sweep; younger ones stay', async () => {
    const { createManagementAudit } = await import('./management-audit.js');
    const map = new Map<string, string>();
    let now = 0;
    const day = 86_400_000;
    const audit = createManagementAudit({ limit: 100, now: () => now, storage: memoryStorage({ map }) });
    const change = (module: string) =>
      audit.record({ action: 'modules.status', module, tenant: undefined, principal: 'ops', requestId: 'r', outcome: 'ok', before: null, after: null });
    change('a');
    now = 30 * day;
    change('b');
    now = 91 * day;
    change('c');
    expect((await audit.query({})).map((r) => r.module)).toEqual(['b', 'c']);
    now = 200 * day;
    change('d');
    expect((await audit.query({})).map((r) => r.module)).toEqual(['d']);
  });
});
