import { type FSWatcher, readdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '@modhost/core';

/** A debounced watcher over a folder tree. */
export interface FolderWatcher {
  close(): void;
}

/** Options for {@link createFolderWatcher}. */
export interface FolderWatcherOptions {
  clock: Clock;
  /** Changes closer together than this collapse into one `onChange` (a copy is many writes). */
  debounceMs: number;
  onChange: () => void;
  onError: (message: string) => void;
}

const SKIP = new Set(['node_modules', '.git']);

/** Every directory under `root` (itself included), without recursion. */
function directories(root: string): string[] {
  const out: string[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    out.push(dir);
    let entries: import('node:fs').Dirent[] = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) if (e.isDirectory() && !SKIP.has(e.name)) stack.push(join(dir, e.name));
  }
  return out;
}

/**
 * Watches `dir` and every folder below it, and calls `onChange` once things settle. One non-recursive watcher per
 * folder, re-synced after each change: Node 20's `recursive` watcher on Linux stops reporting a file after it is
 * overwritten by a copy, which is exactly how a new module version arrives.
 */
export function createFolderWatcher(dir: string, options: FolderWatcherOptions): FolderWatcher {
  let timer: TimerHandle | undefined;
  let closed = false;
  const watchers = new Map<string, FSWatcher>();
  const sync = () => {
    const wanted = new Set(directories(dir));
    for (const [path, w] of watchers) {
      if (wanted.has(path)) continue;
      w.close();
      watchers.delete(path);
    }
    for (const path of wanted) {
      if (watchers.has(path)) continue;
      try {
        const w = watch(path, fire);
        // A folder removed while watched reports an error on some platforms: the next sync drops it.
        w.on('error', () => {
          w.close();
          watchers.delete(path);
        });
        watchers.set(path, w);
      } catch (e) {
        if (path === dir) options.onError(`cannot watch ${dir}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  function fire() {
    if (closed) return;
    if (timer !== undefined) options.clock.clearTimeout(timer);
    timer = options.clock.setTimeout(() => {
      timer = undefined;
      if (closed) return;
      sync();
      options.onChange();
    }, options.debounceMs);
  }
  sync();
  return {
    close() {
      closed = true;
      if (timer !== undefined) options.clock.clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
