import { canTransition, type LifecycleState, type Registry, type TransitionOptions } from '@modhost/core';

/**
 * Records `to` when the lifecycle table allows it from where the version stands, and does nothing otherwise.
 * For retiring versions only: a version whose guest failed for good is `failed` in the registry while it still
 * holds its route slot, and stopping it must not trip over `failed → draining`. Returns whether it moved.
 */
export async function recordIfAllowed(registry: Registry, name: string, version: string, to: LifecycleState, options?: TransitionOptions): Promise<boolean> {
  const from = (await registry.get(name, version))?.status;
  if (from === undefined || !canTransition(from, to)) return false;
  await registry.transition(name, version, to, options);
  return true;
}

/** True when the registry says this version failed while it ran (its guest gave up): nothing to keep warm. */
export async function failedWhileServing(registry: Registry, name: string, version: string): Promise<boolean> {
  return (await registry.get(name, version))?.status === 'failed';
}
