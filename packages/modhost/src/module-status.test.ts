import type { ModuleRecord, ModuleVersionRecord } from '@modhost/core';
import { describe, expect, it } from 'vitest';
import { moduleStatus } from './module-status.js';

const version = (v: string, status: ModuleVersionRecord['status'], extra: Partial<ModuleVersionRecord> = {}): ModuleVersionRecord => ({
  name: 'tasks',
  version: v,
  fingerprint: 'f',
  manifest: { name: 'tasks', version: v } as ModuleVersionRecord['manifest'],
  status,
  history: [],
  historyDropped: 0,
  registeredAt: 0,
  updatedAt: 0,
  ...extra,
});
const record = (extra: Partial<ModuleRecord> = {}): ModuleRecord => ({
  name: 'tasks',
  desiredVersion: null,
  previousDesiredVersion: null,
  rejected: [],
  versions: [],
  sensitive: [],
  hasConfig: false,
  ...extra,
});
const crashed = { code: 'MODULE_CRASHED', message: 'crashed 4 times', phase: 'serve' as const, timedOut: false, at: 5 };

describe('moduleStatus (pure)', () => {
  it('serving and healthy', () => {
    expect(moduleStatus({ name: 'tasks', record: record(), versions: [version('1.0.0', 'active')], serving: '1.0.0', isolation: 'worker' })).toEqual({
      name: 'tasks',
      version: '1.0.0',
      state: 'active',
      active: true,
      isolation: 'worker',
      health: { status: 'ok' },
    });
  });

  it("shows the shown version's displayName and metadata, from its stored manifest", () => {
    const withCatalog = (v: string, displayName: string) =>
      version(v, 'registered', {
        manifest: { name: 'tasks', version: v, displayName, metadata: { tags: [v.replaceAll('.', '-')] } } as unknown as ModuleVersionRecord['manifest'],
      });
    const s = moduleStatus({
      name: 'tasks',
      record: record(),
      versions: [{ ...withCatalog('1.0.0', 'Tasks'), status: 'active' }, withCatalog('1.1.0', 'Tasks (new)')],
      serving: '1.0.0',
      isolation: 'worker',
    });
    expect(s).toMatchObject({ version: '1.0.0', displayName: 'Tasks', metadata: { tags: ['1-0-0'] } });
  });

  it('health comes from the guest while it serves: restarting is degraded, gave up is fail with the error', () => {
    const base = { name: 'tasks', record: record(), serving: '1.0.0', isolation: 'worker' as const };
    const lastCrash = { kind: 'exit' as const, detail: 'code 7', at: 1 };
    expect(
      moduleStatus({ ...base, versions: [version('1.0.0', 'active')], guest: { state: 'restarting', restarts: 1, inFlight: 0, queued: 0, lastCrash } }).health,
    ).toEqual({ status: 'degraded', detail: 'restarting after exit: code 7' });
    const gaveUp = moduleStatus({
      ...base,
      versions: [version('1.0.0', 'failed', { lastError: crashed })],
      guest: { state: 'failed', restarts: 3, inFlight: 0, queued: 0, lastCrash },
    });
    expect(gaveUp).toMatchObject({
      state: 'failed',
      active: true,
      health: { status: 'fail' },
      lastError: { code: 'MODULE_CRASHED', hint: expect.any(String) },
    });
  });

  it('shows what serves and a refused newer version apart', () => {
    const s = moduleStatus({
      name: 'tasks',
      record: record({ rejected: [{ version: '1.2.0', reason: 'verify: unhealthy', at: 9 }] }),
      versions: [version('1.0.0', 'active'), version('1.2.0', 'failed', { lastError: { ...crashed, code: 'HEALTH_CHECK_FAILED', message: 'unhealthy' } })],
      serving: '1.0.0',
      isolation: 'in-process',
    });
    expect(s).toMatchObject({ version: '1.0.0', health: { status: 'ok' }, refused: { version: '1.2.0', code: 'HEALTH_CHECK_FAILED', message: 'unhealthy' } });
    expect(s.lastError).toBeUndefined();
  });

  it('when nothing serves: the desired (last served) version, or the newest; failed ones say why', () => {
    const stopped = moduleStatus({
      name: 'tasks',
      record: record({ desiredVersion: '1.0.0' }),
      versions: [version('1.0.0', 'stopped'), version('1.1.0', 'registered')],
      serving: undefined,
      isolation: 'worker',
    });
    expect(stopped).toMatchObject({ version: '1.0.0', state: 'stopped', active: false, health: { status: 'unknown' } });
    const never = moduleStatus({
      name: 'tasks',
      record: record(),
      versions: [version('1.0.0', 'failed', { lastError: crashed })],
      serving: undefined,
      isolation: 'worker',
    });
    expect(never).toMatchObject({ version: '1.0.0', health: { status: 'fail', detail: 'crashed 4 times' }, lastError: { code: 'MODULE_CRASHED' } });
  });
});
