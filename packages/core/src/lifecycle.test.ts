import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineModule } from './define-module.js';
import { isModhostError } from './errors.js';
import { assertTransition, canTransition, LIFECYCLE_STATES, LIFECYCLE_TRANSITIONS, type LifecycleState } from './lifecycle.js';
import { createRegistry } from './registry.js';
import { memoryStorage } from './storage.js';

const reachableFrom = (start: LifecycleState) => {
  const seen = new Set<LifecycleState>([start]);
  const queue = [start];
  while (queue.length) {
    for (const n of LIFECYCLE_TRANSITIONS[queue.shift() as LifecycleState]) {
      if (!seen.has(n)) {
        seen.add(n);
        queue.push(n);
      }
    }
  }
  return seen;
};

describe('lifecycle transition table', () => {
  it('reaches every state from registered, and stopped or failed from every state', () => {
    expect([...reachableFrom('registered')].sort()).toEqual([...LIFECYCLE_STATES].sort());
    for (const s of LIFECYCLE_STATES) {
      const r = reachableFrom(s);
      expect(r.has('stopped') || r.has('failed'), s).toBe(true);
    }
  });

  it('walks the happy path and lets every working state fail', () => {
    const happy: LifecycleState[] = [
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
    ];
    for (let i = 1; i < happy.length; i++) expect(canTransition(happy[i - 1] as LifecycleState, happy[i] as LifecycleState)).toBe(true);
    for (const s of ['queued', 'loading', 'migrating', 'starting', 'verifying', 'ready', 'active', 'draining'] as const)
      expect(canTransition(s, 'failed')).toBe(true);
    expect(canTransition('active', 'loading')).toBe(false);
    expect(canTransition('stopped', 'active')).toBe(false);
  });

  it('explains an illegal transition', () => {
    try {
      assertTransition('stopped', 'active', 'tasks@1.0.0');
      expect.unreachable();
    } catch (e) {
      expect(isModhostError(e, 'ILLEGAL_TRANSITION')).toBe(true);
      expect((e as Error).message).toBe('tasks@1.0.0: cannot move from "stopped" to "active"; from "stopped" the allowed next states are: resolved, queued');
    }
  });

  it('registry accepts exactly the legal transitions and records each one (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...LIFECYCLE_STATES), { maxLength: 40 }), async (targets) => {
        let t = 1000;
        const registry = createRegistry({ storage: memoryStorage(), clock: { now: () => t++ }, historyLimit: 1000 });
        const events: string[] = [];
        registry.on('module:transition', (e) => events.push(`${e.from}>${e.to}`));
        await registry.register(defineModule({ name: 'm', version: '1.0.0' }));
        let state: LifecycleState = 'registered';
        const accepted: string[] = ['null>registered'];
        for (const to of targets) {
          const legal = canTransition(state, to);
          const outcome = await registry.transition('m', '1.0.0', to).then(
            () => 'ok',
            (e) => (isModhostError(e, 'ILLEGAL_TRANSITION') ? 'illegal' : 'other'),
          );
          expect(outcome).toBe(legal ? 'ok' : 'illegal');
          if (legal) {
            accepted.push(`${state}>${to}`);
            state = to;
          }
        }
        const record = await registry.get('m', '1.0.0');
        expect(record?.status).toBe(state);
        expect(record?.history.map((h) => `${h.from}>${h.to}`)).toEqual(accepted);
        expect(events).toEqual(accepted);
        // Timestamps come from the injected clock and never go back.
        const times = record?.history.map((h) => h.at) ?? [];
        expect([...times].sort((a, b) => a - b)).toEqual(times);
      }),
      { numRuns: 200 },
    );
  });
});
