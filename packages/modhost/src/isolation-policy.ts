import { ModhostError } from '@modhost/core';

/** Where a folder module's code runs, weakest first. */
export type IsolationTier = 'in-process' | 'worker' | 'process' | 'sandboxed';

// `sandboxed` ranks above `process`: everything the OS refuses a process guest (files outside its grants, spawning)
// the compartment refuses too, and also the network and every other Node API; ctx is its only power. The process
// tier's extra (an OS process of its own) contains faults, not authority.
const STRENGTH: Readonly<Record<IsolationTier, number>> = { 'in-process': 0, worker: 1, process: 2, sandboxed: 3 };

/**
 * The weakest tier the host lets a folder module run in. A manifest may ask for a stronger tier, never a weaker
 * one: a module that asks for less runs in this tier.
 *
 * - a tier: one floor for every folder module;
 * - an object: `modules` by name first, then `signed` for modules signed by a trusted key, then `default`.
 */
export type MinimumIsolation =
  | IsolationTier
  | {
      /** Every folder module not named below (default: the host's `defaultIsolation`, so `worker`). */
      readonly default?: IsolationTier;
      /** Modules signed by a key in `trustedKeys` (default: as `default`). */
      readonly signed?: IsolationTier;
      /** By module name: wins over everything else. */
      readonly modules?: Readonly<Record<string, IsolationTier>>;
    };

/** What the tier of one folder module is decided from. */
export interface TierRequest {
  readonly name: string;
  /** The manifest's `isolation`, if it says. */
  readonly asked?: IsolationTier | undefined;
  /** The trusted key that signed it, if any. */
  readonly signedBy?: string | undefined;
}

/** The stronger of two tiers. */
const stronger = (a: IsolationTier, b: IsolationTier): IsolationTier => (STRENGTH[a] >= STRENGTH[b] ? a : b);

/** The floor `policy` sets for one module. */
export function minimumTier(policy: MinimumIsolation | undefined, fallback: IsolationTier, request: TierRequest): IsolationTier {
  if (policy === undefined) return fallback;
  if (typeof policy === 'string') return policy;
  if (policy.modules && Object.hasOwn(policy.modules, request.name)) return policy.modules[request.name] as IsolationTier;
  if (request.signedBy !== undefined && policy.signed) return policy.signed;
  return policy.default ?? fallback;
}

/** The tier a folder module runs in: what its manifest asks (or the default), raised to the host's floor. */
export function effectiveTier(request: TierRequest, defaultTier: IsolationTier, floor: IsolationTier): IsolationTier {
  return stronger(request.asked ?? defaultTier, floor);
}

const TIERS = new Set<string>(Object.keys(STRENGTH));

/** Throws `INVALID_ARGUMENT` for a tier name that is not one (a typo would otherwise pass silently). */
export function assertTierOptions(options: { defaultIsolation?: string | undefined; minimumIsolation?: MinimumIsolation | undefined }): void {
  const check = (where: string, tier: unknown) => {
    if (tier !== undefined && !TIERS.has(tier as string))
      throw new ModhostError('INVALID_ARGUMENT', `createHost: ${where} is ${JSON.stringify(tier)}; a tier is one of ${[...TIERS].join(', ')}`, {
        details: { argument: where },
      });
  };
  check('defaultIsolation', options.defaultIsolation);
  const m = options.minimumIsolation;
  if (typeof m !== 'object' || m === null) {
    check('minimumIsolation', m);
    return;
  }
  check('minimumIsolation.default', m.default);
  check('minimumIsolation.signed', m.signed);
  for (const [name, tier] of Object.entries(m.modules ?? {})) check(`minimumIsolation.modules["${name}"]`, tier);
}
