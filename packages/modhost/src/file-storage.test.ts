import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStorageAdapter } from '@modhost/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { fileStorage } from './file-storage.js';

const root = mkdtempSync(join(tmpdir(), 'modhost-file-storage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `store-${n++}`, 'data.jsonl');

describeStorageAdapter('file', { create: () => fileStorage({ path: fresh() }) });

describe('fileStorage', () => {
  it('keeps what it acknowledged across a reopen, and ignores the torn tail of a write cut short', async () => {
    const path = fresh();
    const first = fileStorage({ path });
    await first.set('a', '1');
    await first.set('b', '');
    await first.compareAndSet('a', '1', '2');
    await first.delete('missing');
    await first.set('gone', 'x');
    await first.delete('gone');
    await first.dispose?.();
    appendFileSync(path, '{"k":"c","v":"3');
    const again = fileStorage({ path });
    expect([await again.get('a'), await again.get('b'), await again.get('c'), await again.get('gone')]).toEqual(['2', '', undefined, undefined]);
    expect(await again.keys('')).toEqual(['a', 'b']);
    await again.dispose?.();
  });

  it('a watcher that throws neither fails the write it heard nor keeps it from the other watchers', async () => {
    const path = fresh();
    const store = fileStorage({ path });
    const heard: string[] = [];
    store.watch?.('', () => {
      throw new Error('a broken watcher');
    });
    store.watch?.('', (change) => heard.push(`${change.type} ${change.key}`));
    await store.set('a', '1');
    expect(await store.compareAndSet('a', '1', '2')).toBe(true);
    await store.delete('a');
    await store.set('b', '1');
    expect(heard).toEqual(['set a', 'set a', 'delete a', 'set b']);
    await store.dispose?.();
    const again = fileStorage({ path });
    expect(await again.keys('')).toEqual(['b']);
    await again.dispose?.();
  });

  it('one writer at a time: a live owner is named, a stale lock (its process is gone) is taken over', async () => {
    const path = fresh();
    const store = fileStorage({ path });
    expect(() => fileStorage({ path })).toThrow(/already open in this process/);
    await store.dispose?.();
    // Another live process holds it (the test runner's parent stands in for a second app instance).
    writeFileSync(`${path}.lock`, String(process.ppid));
    expect(() => fileStorage({ path })).toThrow(
      expect.objectContaining({ code: 'STORAGE_ADAPTER_FAILED', message: expect.stringContaining(`in use by process ${process.ppid}`) }),
    );
    writeFileSync(`${path}.lock`, '999999');
    const taken = fileStorage({ path });
    await taken.set('k', 'v');
    await taken.dispose?.();
  });
});
