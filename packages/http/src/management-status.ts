import type { ModuleStatusLike } from './management-types.js';

/** The statuses of the registry API the management API speaks in. */
export type RegistryStatus = 'REGISTERED' | 'INSTALLING' | 'ENABLED' | 'DISABLED' | 'UPDATING' | 'REMOVING' | 'FAILED';

const STARTING = new Set(['resolved', 'queued', 'loading', 'migrating', 'starting', 'verifying', 'ready']);
const FAILED = new Set(['failed', 'blocked', 'rolled-back']);

/**
 * A module's registry status, first matching row wins: an operation under way (`UPDATING`, `REMOVING`,
 * `INSTALLING`), then the lifecycle (`FAILED`, starting is `INSTALLING`, never started is `REGISTERED`), then whether
 * it serves the view's tenant (`ENABLED`) or not (`DISABLED`).
 */
export function registryStatus(m: ModuleStatusLike, busy: string | undefined, serves: boolean): RegistryStatus {
  if (busy === 'upgrade' || busy === 'rollback') return 'UPDATING';
  if (busy === 'uninstall') return 'REMOVING';
  if (busy === 'install') return 'INSTALLING';
  if (m.active) return serves ? 'ENABLED' : 'DISABLED';
  if (FAILED.has(m.state)) return 'FAILED';
  if (STARTING.has(m.state)) return 'INSTALLING';
  if (m.state === 'registered' || m.state === 'not-loaded') return 'REGISTERED';
  return 'DISABLED';
}
