import { timeoutError, withTimeout } from './timeouts.js';
import type { Running, VersionRunner } from './version-runner.js';

/** Whether in-process state could be moved, and what releases the requests held meanwhile. */
export type HandOver = { readonly ok: true; readonly release?: () => void } | { readonly ok: false; readonly error: unknown };

/**
 * Moves a module's in-process state from the version that serves (`from`) to the one about to (`to`): with
 * `quiesce`, new requests are held and those in flight drain first; then `from.exportState` goes to
 * `to.importState(state, from.version)`. Used forward by upgrades and backward by rollbacks. On failure the held
 * requests are released to `from`, which still serves. Nothing switches here: the caller does, then releases.
 */
export async function handOver(e: VersionRunner, from: Running, to: Running, quiesce: boolean): Promise<HandOver> {
  const name = from.name;
  const release = quiesce ? e.options.router?.slot(e.prefixOf(name))?.hold() : undefined;
  try {
    if (quiesce && from.table)
      await withTimeout(
        e.clock,
        e.timeouts.stop,
        () => from.table?.idle(),
        () => timeoutError(name, 'switch', e.timeouts.stop, 'timeouts.stop'),
      );
    const state = await withTimeout(
      e.clock,
      e.timeouts.stop,
      () => from.def.exportState?.(from.ctx),
      () => timeoutError(name, 'switch', e.timeouts.stop, 'timeouts.stop'),
    );
    await withTimeout(
      e.clock,
      e.timeouts.start,
      () => to.def.importState?.(state, from.version, to.ctx),
      () => timeoutError(name, 'switch', e.timeouts.start, 'timeouts.start'),
    );
    return { ok: true, ...(release ? { release } : {}) };
  } catch (error) {
    release?.();
    return { ok: false, error };
  }
}
