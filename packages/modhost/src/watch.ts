import { type FSWatcher, watch } from 'node:fs';
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

/** Watches `dir` recursively and calls `onChange` once things settle. */
export function createFolderWatcher(dir: string, options: FolderWatcherOptions): FolderWatcher {
  let timer: TimerHandle | undefined;
  let fsWatcher: FSWatcher | undefined;
  const fire = () => {
    if (timer !== undefined) options.clock.clearTimeout(timer);
    timer = options.clock.setTimeout(() => {
      timer = undefined;
      options.onChange();
    }, options.debounceMs);
  };
  try {
    fsWatcher = watch(dir, { recursive: true }, fire);
    fsWatcher.on('error', (e) => options.onError(`watching ${dir} failed: ${e.message}`));
  } catch (e) {
    options.onError(`cannot watch ${dir}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return {
    close() {
      if (timer !== undefined) options.clock.clearTimeout(timer);
      fsWatcher?.close();
    },
  };
}
