import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ModhostError, memoryStorage, type StorageAdapter } from '@modhost/core';

/** Options for {@link fileStorage}. */
export interface FileStorageOptions {
  /** The data file (its folder is created). A `<path>.lock` beside it marks the process that has it open. */
  readonly path: string;
  /** Flush every write to disk before it is acknowledged (default true; false trades a crash's last writes for speed). */
  readonly fsync?: boolean;
}

type Line = { k: string; v: string | null };

/** True when process `pid` is running (a stale lock's owner is not; nor is a killed one its parent has not reaped). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
  try {
    // Linux: a zombie (state Z) still answers kill(0) but holds nothing.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

// Files this process has open: a second adapter on one of them would keep a second, diverging copy.
const openHere = new Set<string>();

/** Takes `<path>.lock` for this process, or says which live process has the store open. */
function lock(path: string): () => void {
  const file = `${path}.lock`;
  if (openHere.has(path))
    throw new ModhostError('STORAGE_ADAPTER_FAILED', `${path} is already open in this process; share one fileStorage adapter`, {
      details: { adapter: 'file', path, owner: process.pid },
    });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      openHere.add(path);
      return () => {
        openHere.delete(path);
        try {
          unlinkSync(file);
        } catch {}
      };
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
      const owner = Number(readFileSync(file, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new ModhostError(
          'STORAGE_ADAPTER_FAILED',
          `${path} is in use by process ${owner}: the file store has one writer at a time. Stop that process, or run several instances on PostgreSQL (@modhost/storage-postgres; see docs/fleet.md)`,
          { details: { adapter: 'file', path, owner } },
        );
      }
      // Its owner is gone (a crash): the lock is stale, take it over.
      unlinkSync(file);
    }
  }
  throw new ModhostError('STORAGE_ADAPTER_FAILED', `${path}: could not take its lock file`, { details: { adapter: 'file', path } });
}

/**
 * A storage adapter over one file, with no dependency: for a single process that must remember its state across
 * restarts (the example app's embedded default). Every write appends one JSON line (`{ k, v }`, `v: null` deletes),
 * flushed to disk before it is acknowledged, so a crash loses nothing acknowledged; a torn last line is ignored on
 * open, and the file is compacted (written anew, then renamed over) each time it is opened. One process at a time:
 * a second one gets a clear error naming the first. Several processes share PostgreSQL instead.
 */
export function fileStorage(options: FileStorageOptions): StorageAdapter {
  const path = resolve(options.path);
  mkdirSync(dirname(path), { recursive: true });
  const unlock = lock(path);
  const data = new Map<string, string>();
  if (existsSync(path)) {
    for (const text of readFileSync(path, 'utf8').split('\n')) {
      if (text === '') continue;
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        continue; // the torn tail of a write cut short by a crash: it was never acknowledged
      }
      if (typeof line.k !== 'string') continue;
      if (typeof line.v === 'string') data.set(line.k, line.v);
      else data.delete(line.k);
    }
  }
  // Compact: the live entries only, written to a new file and renamed over the old one in one step.
  const fresh = `${path}.compact`;
  const out = openSync(fresh, 'w');
  for (const [k, v] of data) writeSync(out, `${JSON.stringify({ k, v })}\n`);
  fsyncSync(out);
  closeSync(out);
  renameSync(fresh, path);
  let fd: number | undefined = openSync(path, 'a');
  // The map, compare-and-set and watchers are memoryStorage's; this adapter adds the log each write lands in first.
  const memory = memoryStorage({ map: data });

  /** Appends one write to the file (flushed) before the map changes: only what is on disk is acknowledged. */
  const persist = (k: string, v: string | null) => {
    if (fd === undefined) throw new ModhostError('STORAGE_ADAPTER_FAILED', `${path}: the file store was disposed`, { details: { adapter: 'file', path } });
    writeSync(fd, `${JSON.stringify({ k, v })}\n`);
    if (options.fsync !== false) fsyncSync(fd);
  };

  return {
    ...memory,
    name: 'file',
    set(key, value) {
      persist(key, value);
      memory.set(key, value);
    },
    delete(key) {
      if (!data.has(key)) return;
      persist(key, null);
      memory.delete(key);
    },
    // One process, one thread: the read and the write below happen without anything in between.
    compareAndSet(key, expected, next) {
      if ((data.get(key) ?? null) !== expected) return false;
      if (next === null ? data.has(key) : data.get(key) !== next) {
        persist(key, next);
        memory.compareAndSet(key, expected, next);
      }
      return true;
    },
    dispose() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      memory.dispose?.();
      unlock();
    },
  };
}
