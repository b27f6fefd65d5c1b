import { createHost } from 'modhost';
import { describe, expect, it } from 'vitest';
import { createAdminConsole } from './admin-console.js';
import type { HttpRequest } from './types.js';

const events = (after: string): HttpRequest => ({
  method: 'GET',
  path: '/events',
  search: `?after=${after}`,
  headers: {},
  body: { kind: 'none' },
  native: undefined,
});

describe('the live stream under many open connections', () => {
  it('holds at most maxLiveConnections responses; past it one answers at once with a longer retry', async () => {
    const host = createHost({ version: '1.0.0', healthMonitor: false, logger: () => ({ debug() {}, info() {}, warn() {}, error() {} }) });
    await host.start();
    const admin = createAdminConsole(host, {
      authenticate: () => ({ id: 'eve' }),
      roles: () => [{ role: 'viewer' }],
      maxLiveConnections: 1,
      holdMs: 60_000,
      onWarning: () => {},
    });
    let firstDone = false;
    const first = admin.handle(events('0')).then((r) => {
      firstDone = true;
      return r;
    });
    const second = await admin.handle(events('0'));
    expect(firstDone).toBe(false);
    expect(second?.status).toBe(200);
    expect(String(second?.body)).toContain('retry: 5000');
    admin.close();
    expect((await first)?.status).toBe(200);
    await host.stop();
  });
});
