import { defineModule } from '@modhost/core';
import { describe, expect, it } from 'vitest';
import { setup } from '../test/helpers.js';

const tasks = defineModule({ name: 'tasks', version: '1.0.0', activate: () => ({ count: (): number => 2 }) });

describe('ctx.dep and ctx.tenantConfig in a capability context', () => {
  it('dep is the wrapped dependency view; a name that is not a dependency throws DEPENDENCY_UNSATISFIED', () => {
    const { sandbox, input } = setup();
    const api = { count: () => 2 };
    const { ctx } = sandbox.contextFor(input('reports', { deps: new Map([['tasks', () => api]]) }), defineModule({ name: 'reports', version: '1.0.0' }));
    expect(ctx.dep<typeof tasks>('tasks').count()).toBe(2);
    expect(ctx.dep('tasks')).toBe(ctx.deps.tasks);
    expect(() => ctx.dep('billing')).toThrow(expect.objectContaining({ code: 'DEPENDENCY_UNSATISFIED' }));
    expect(() => ctx.dep('toString')).toThrow(expect.objectContaining({ code: 'DEPENDENCY_UNSATISFIED' }));
  });

  it("tenantConfig calls the host's tenant service with ctx.tenant by default, and stops with the context", async () => {
    const asked: (string | undefined)[] = [];
    const tenant = () => ({
      config: async (t?: string) => {
        asked.push(t);
        return { heading: t ?? 'host-wide' };
      },
    });
    const { sandbox, input } = setup({}, { services: { tenant } });
    const def = defineModule({ name: 'reports', version: '1.0.0' });
    const acme = sandbox.contextFor(input('reports', { tenant: 'acme' }), def);
    expect(await acme.ctx.tenantConfig()).toEqual({ heading: 'acme' });
    expect(await acme.ctx.tenantConfig('globex')).toEqual({ heading: 'globex' });
    expect(await sandbox.contextFor(input('reports'), def).ctx.tenantConfig()).toEqual({ heading: 'host-wide' });
    expect(asked).toEqual(['acme', 'globex', undefined]);
    acme.revoke();
    await expect(acme.ctx.tenantConfig()).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
  });

  it('tenantConfig rejects with a clear message when the host offers no tenant service', async () => {
    const { sandbox, input } = setup();
    const { ctx } = sandbox.contextFor(input('reports'), defineModule({ name: 'reports', version: '1.0.0' }));
    await expect(ctx.tenantConfig()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('"tenant" service') });
  });
});
