import { isModhostError } from '@modhost/core';
import { describe, expect, it } from 'vitest';
import { assertTierOptions, effectiveTier, minimumTier } from './isolation-policy.js';

describe('isolation policy: the sandboxed tier', () => {
  it('ranks above process: a floor of process admits a manifest asking for sandboxed, a floor of sandboxed raises every weaker ask', () => {
    const request = { name: 'm', asked: 'sandboxed' as const };
    expect(effectiveTier(request, 'worker', 'process')).toBe('sandboxed');
    for (const asked of ['in-process', 'worker', 'process'] as const) expect(effectiveTier({ name: 'm', asked }, 'worker', 'sandboxed')).toBe('sandboxed');
    expect(effectiveTier({ name: 'm' }, 'sandboxed', 'worker')).toBe('sandboxed');
  });

  it('is a floor by trust: unsigned modules sandboxed, signed ones in a worker', () => {
    const policy = { default: 'sandboxed', signed: 'worker' } as const;
    expect(minimumTier(policy, 'worker', { name: 'm' })).toBe('sandboxed');
    expect(minimumTier(policy, 'worker', { name: 'm', signedBy: 'team' })).toBe('worker');
  });

  it('is a tier name createHost accepts; a typo is still refused', () => {
    expect(() => assertTierOptions({ defaultIsolation: 'sandboxed', minimumIsolation: { default: 'sandboxed' } })).not.toThrow();
    let error: unknown;
    try {
      assertTierOptions({ minimumIsolation: 'sandbox' as never });
    } catch (e) {
      error = e;
    }
    expect(isModhostError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).toMatch(/in-process, worker, process, sandboxed/);
  });
});
