import { defineModule, memoryStorage } from '@modhost/core';
import { describe, expect, it } from 'vitest';
import { createModuleContext, createModuleStorage } from './module-context.js';

const tasks = defineModule({ name: 'tasks', version: '1.0.0', activate: () => ({ count: (): number => 2 }) });
const silent = { debug() {}, info() {}, warn() {}, error() {} };

const parts = (extra: { tenant?: string; services?: Record<string, unknown> } = {}) => ({
  module: 'reports',
  version: '1.0.0',
  config: { heading: 'Weekly' },
  logger: silent,
  storage: createModuleStorage(memoryStorage(), 'modhost', 'reports'),
  deps: new Map([['tasks', () => ({ count: () => 2 })]]),
  services: {},
  ...extra,
});

describe('createModuleContext: ctx.dep and ctx.tenantConfig', () => {
  it('dep returns what deps holds, typed from the definition; another name throws DEPENDENCY_UNSATISFIED', () => {
    const ctx = createModuleContext(parts());
    expect(ctx.dep<typeof tasks>('tasks').count()).toBe(2);
    expect(() => ctx.dep('billing')).toThrow(expect.objectContaining({ code: 'DEPENDENCY_UNSATISFIED' }));
  });

  it("tenantConfig goes to the tenant service, with the ctx's tenant by default", async () => {
    const tenant = { config: async (t?: string) => ({ heading: t ?? 'host-wide' }) };
    expect(await createModuleContext(parts({ tenant: 'acme', services: { tenant } })).tenantConfig()).toEqual({ heading: 'acme' });
    expect(await createModuleContext(parts({ services: { tenant } })).tenantConfig()).toEqual({ heading: 'host-wide' });
    expect(await createModuleContext(parts({ services: { tenant } })).tenantConfig('globex')).toEqual({ heading: 'globex' });
    await expect(createModuleContext(parts()).tenantConfig()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
