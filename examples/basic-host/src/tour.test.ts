import { describe, expect, it } from 'vitest';
import { runTour } from './tour.js';

describe('the example app, toured', () => {
  it('swaps tasks live, refuses a broken version and rolls back while traffic flows, with no failed request', async () => {
    const lines: string[] = [];
    // One failed probe fails the gate, so the refusal needs no waiting on the health period.
    const result = await runTour({ print: (l) => lines.push(l), trigger: 'rescan', concurrency: 4, health: { failureThreshold: 1 } });
    expect(result.failures).toEqual([]);
    expect(result.finalVersion).toBe('1.0.0');
    expect(Object.keys(result.served).sort()).toEqual(['1.0.0', '1.1.0']);
    expect(result.events).toContain('module:upgraded');
    expect(result.events).toContain('module:upgrade-failed');
    expect(result.events).toContain('module:rolled-back');
  }, 60_000);
});
