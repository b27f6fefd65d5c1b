import { describe, expect, it } from 'vitest';
import { runDemo } from './demo.js';

describe('example host', () => {
  it('starts healthy modules, keeps the failed one with its error, blocks only its dependent', async () => {
    const lines: string[] = [];
    let t = 0;
    const registry = await runDemo({ print: (l) => lines.push(l), now: () => (t += 1) });
    const status = Object.fromEntries((await registry.list()).map((r) => [r.name, r.status]));
    expect(status).toEqual({ billing: 'active', insights: 'blocked', notes: 'active', reports: 'active', search: 'failed', tasks: 'active' });
    const search = await registry.get('search', '0.9.0');
    expect(search?.lastError).toMatchObject({ code: 'HEALTH_CHECK_FAILED', phase: 'verify' });
    const out = lines.join('\n');
    expect(out).toContain('reports@2.0.0');
    expect(out).toMatch(/tasks@1\.2\.0\s+ready\s+→ active/);
    // tasks activates before reports, which depends on it.
    expect(out.indexOf('tasks@1.2.0      ready')).toBeLessThan(out.indexOf('reports@2.0.0    ready'));
    expect(out).not.toContain('sk_live_acme_7f3a');
    expect(out).not.toContain('sk_test_shared_91c2');
    expect(out).toContain('"apiKey":"[redacted]"');
    expect(out).toContain('restored from version 1: {"maxTasks":10}');
  });
});
