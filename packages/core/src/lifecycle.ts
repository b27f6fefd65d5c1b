import { ModhostError } from './errors.js';

/** Every lifecycle state of a module version, in the order a healthy start walks them. */
export const LIFECYCLE_STATES = [
  'registered',
  'resolved',
  'queued',
  'loading',
  'migrating',
  'starting',
  'verifying',
  'ready',
  'active',
  'draining',
  'stopped',
  'failed',
  'rolled-back',
  'blocked',
] as const;

/** A lifecycle state. */
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

/** The phases a failure can be attributed to. */
export type LifecyclePhase = 'resolve' | 'load' | 'migrate' | 'start' | 'verify' | 'switch' | 'serve' | 'drain' | 'rollback';

/**
 * The transition table: for each state, the states it may move to. Everything else is illegal.
 *
 * - The happy path runs `registered → … → ready → active`; `loading → starting` skips
 *   `migrating` for a module without migrations.
 * - `failed` is reachable from every working state; a failed version is kept, never deleted.
 * - `rolled-back`: a new version discarded before the switch (from `ready` or after `failed`),
 *   or pointed away from after it (from `active`/`draining`).
 * - `draining → active`: a version kept warm behind an upgrade serves again when the upgrade is rolled back.
 * - `blocked`: a dependency failed; it re-enters planning (`resolved`) when the dependency recovers.
 * - `stopped`, `failed`, `rolled-back` and `blocked` may be planned again (`resolved`), which is
 *   how a host retries after a fix.
 */
export const LIFECYCLE_TRANSITIONS: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = Object.freeze({
  registered: ['resolved', 'blocked', 'failed'],
  resolved: ['queued', 'blocked', 'failed', 'registered'],
  queued: ['loading', 'blocked', 'failed', 'stopped'],
  loading: ['migrating', 'starting', 'failed'],
  migrating: ['starting', 'failed'],
  starting: ['verifying', 'failed'],
  verifying: ['ready', 'failed'],
  ready: ['active', 'draining', 'failed', 'rolled-back'],
  active: ['draining', 'failed', 'rolled-back'],
  draining: ['stopped', 'failed', 'rolled-back', 'active'],
  stopped: ['resolved', 'queued'],
  failed: ['rolled-back', 'resolved', 'stopped'],
  'rolled-back': ['resolved', 'stopped'],
  blocked: ['resolved', 'queued', 'failed', 'stopped'],
});

/** States in which a version is running code (it has been loaded and not yet stopped). */
export const RUNNING_STATES: ReadonlySet<LifecycleState> = new Set(['loading', 'migrating', 'starting', 'verifying', 'ready', 'active', 'draining']);

/** True when `value` is a lifecycle state name. */
export function isLifecycleState(value: unknown): value is LifecycleState {
  return typeof value === 'string' && Object.hasOwn(LIFECYCLE_TRANSITIONS, value);
}

/** True when the table allows `from → to`. */
export function canTransition(from: LifecycleState, to: LifecycleState): boolean {
  return isLifecycleState(from) && isLifecycleState(to) && LIFECYCLE_TRANSITIONS[from].includes(to);
}

/** Throws `ILLEGAL_TRANSITION` unless the table allows `from → to`. */
export function assertTransition(from: LifecycleState, to: LifecycleState, module?: string): void {
  if (canTransition(from, to)) return;
  const who = module ? `${module}: ` : '';
  const allowed = isLifecycleState(from) ? LIFECYCLE_TRANSITIONS[from].join(', ') : 'none (unknown state)';
  throw new ModhostError('ILLEGAL_TRANSITION', `${who}cannot move from "${from}" to "${to}"; from "${from}" the allowed next states are: ${allowed}`, {
    details: { module, from, to, allowed: isLifecycleState(from) ? [...LIFECYCLE_TRANSITIONS[from]] : [] },
  });
}
