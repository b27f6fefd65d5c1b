import { type AnyModuleDefinition, defineModule, type MigrationDefinition, type ModuleContext, memoryStorage } from '@modhost/core';
import { createFakeClock } from '@modhost/testkit';
import { createActivationHarness } from '@modhost/testkit/activation';
import { describe, expect, it } from 'vitest';
import { checksumOf, migrate, readHistory } from './migrations.js';

/** A fake database: tables as a set, so migrations have something real to do and undo. */
function fakeDb() {
  const tables = new Set<string>();
  const mig = (name: string, table: string, fail = false): MigrationDefinition => ({
    name,
    up: () => {
      if (fail) throw new Error(`cannot create ${table}`);
      tables.add(table);
    },
    down: () => {
      tables.delete(table);
    },
  });
  return { tables, mig };
}

/** An activator over `storage` as host-a, and the migration store it keeps its history in. */
async function setup(defs: AnyModuleDefinition[], storage = memoryStorage()) {
  const h = await createActivationHarness(defs, { storage, hostId: 'host-a' });
  return { ...h, storage, store: { storage, namespace: 'modhost', clock: h.clock, owner: 'host-a' } };
}

describe('migrations', () => {
  it('run in order as one batch before start, are recorded with checksums, and never run twice', async () => {
    const db = fakeDb();
    const migrations = [db.mig('001-tasks', 'tasks'), db.mig('002-tags', 'tags')];
    const v1 = defineModule({ name: 'tasks', version: '1.0.0', migrations, activate: () => ({ tables: [...db.tables] }) });
    const { registry, activator, activate, store } = await setup([v1]);
    const report = await activate();
    expect(report.modules[0]?.state).toBe('active');
    expect(activator.api('tasks')).toEqual({ tables: ['tasks', 'tags'] });
    const history = await readHistory(store, 'tasks');
    expect(history.applied.map((a) => [a.name, a.batch, a.version, a.checksum])).toEqual([
      ['001-tasks', 1, '1.0.0', checksumOf(migrations[0] as MigrationDefinition)],
      ['002-tags', 1, '1.0.0', checksumOf(migrations[1] as MigrationDefinition)],
    ]);
    expect(history.served).toEqual([1]);
    expect((await registry.get('tasks', '1.0.0'))?.history.map((h) => h.to)).toContain('migrating');
    expect(await migrate(store, 'tasks', '1.0.0', migrations, {} as ModuleContext)).toEqual({ ran: [] });
  });

  it('undo the batch when one migration fails, and the module fails in migrate', async () => {
    const db = fakeDb();
    const v1 = defineModule({ name: 'tasks', version: '1.0.0', migrations: [db.mig('001', 'a'), db.mig('002', 'b'), db.mig('003', 'c', true)] });
    const { activate, store } = await setup([v1]);
    const report = await activate();
    expect(report.modules[0]).toMatchObject({ state: 'failed', phase: 'migrate' });
    expect(report.modules[0]?.error?.message).toContain('migration "003" failed: Error: cannot create c; the batch was undone');
    expect([...db.tables]).toEqual([]);
    expect((await readHistory(store, 'tasks')).applied).toEqual([]);
  });

  it('refuse an applied migration whose code changed (INTEGRITY_MISMATCH)', async () => {
    const storage = memoryStorage();
    const clock = createFakeClock();
    const store = { storage, namespace: 'modhost', clock, owner: 'h' };
    await migrate(store, 'tasks', '1.0.0', [{ name: '001', up: () => {} }], {} as ModuleContext);
    const edited = migrate(store, 'tasks', '1.0.1', [{ name: '001', up: () => void 'changed' }], {} as ModuleContext);
    await expect(edited).rejects.toMatchObject({ code: 'INTEGRITY_MISMATCH' });
    await expect(edited).rejects.toThrow(/never edit an applied migration/);
  });

  it('let only one host migrate a module at a time; a stale lock is taken over', async () => {
    const storage = memoryStorage();
    const clock = createFakeClock();
    const a = { storage, namespace: 'modhost', clock, owner: 'host-a', lockTtlMs: 1000 };
    const b = { ...a, owner: 'host-b' };
    let release!: () => void;
    const slow: MigrationDefinition = { name: '001', up: () => new Promise<void>((r) => (release = r)) };
    const first = migrate(a, 'tasks', '1.0.0', [slow], {} as ModuleContext);
    await clock.advanceAsync(0);
    await expect(migrate(b, 'tasks', '1.0.0', [slow], {} as ModuleContext)).rejects.toMatchObject({ code: 'STORAGE_CONFLICT' });
    await expect(migrate(b, 'tasks', '1.0.0', [slow], {} as ModuleContext)).rejects.toThrow(/host "host-a" is migrating it now/);
    // Host A hangs past its lock's lifetime: host B may take over.
    clock.setNow(clock.now() + 2000);
    const taken = migrate(b, 'tasks', '1.0.0', [{ name: '000', up: () => {} }], {} as ModuleContext);
    await expect(taken).resolves.toEqual({ batch: 1, ran: ['000'] });
    release();
    await first;
  });

  it('in a fleet, a second host waits for the first one’s batch and then has nothing left to run', async () => {
    const storage = memoryStorage();
    const clock = createFakeClock();
    const a = { storage, namespace: 'modhost', clock, owner: 'host-a' };
    const b = { ...a, owner: 'host-b', waitMs: 5_000 };
    let release!: () => void;
    let runs = 0;
    const slow: MigrationDefinition = {
      name: '001',
      up: () => {
        runs++;
        return new Promise<void>((r) => (release = r));
      },
    };
    const first = migrate(a, 'tasks', '1.0.0', [slow], {} as ModuleContext);
    await clock.advanceAsync(0);
    const second = migrate(b, 'tasks', '1.0.0', [slow], {} as ModuleContext);
    await clock.advanceAsync(300);
    release();
    await first;
    await clock.advanceAsync(200);
    await expect(second).resolves.toEqual({ ran: [] });
    expect(runs).toBe(1);
  });

  it('undo a new version’s batch when its upgrade fails the gate, keep it when the version served', async () => {
    const db = fakeDb();
    const v1 = defineModule({ name: 'tasks', version: '1.0.0', migrations: [db.mig('001', 'tasks')] });
    const bad = defineModule({ name: 'tasks', version: '1.1.0', migrations: [db.mig('001', 'tasks'), db.mig('002', 'labels')], health: () => false });
    const good = defineModule({ name: 'tasks', version: '1.2.0', migrations: [db.mig('001', 'tasks'), db.mig('003', 'owners')] });
    const { clock, activator, activate, store } = await setup([v1, bad, good]);
    await activate();
    const failing = activator.upgrade('tasks', '1.1.0');
    for (let i = 0; i < 50; i++) await clock.advanceAsync(1000);
    expect(await failing).toMatchObject({ outcome: 'failed', phase: 'verify' });
    expect([...db.tables]).toEqual(['tasks']);
    expect(await activator.upgrade('tasks', '1.2.0')).toMatchObject({ outcome: 'switched' });
    expect([...db.tables].sort()).toEqual(['owners', 'tasks']);
    const h = await readHistory(store, 'tasks');
    expect(h.applied.map((a) => `${a.name}#${a.batch}`)).toEqual(['001#1', '003#2']);
    expect(h.served).toEqual([1, 2]);
  });
});
