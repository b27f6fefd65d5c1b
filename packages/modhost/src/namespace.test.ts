import { defineModule, isModhostError, memoryStorage } from '@modhost/core';
import { silentLogger } from '@modhost/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createHost, type Host } from './host.js';

const hosts: Host[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.stop();
});
const tasks = (version: string) => defineModule({ name: 'tasks', version });

describe('createHost({ namespace })', () => {
  it('two apps on one storage keep apart: modules, tenants, config and audit each under their own prefix', async () => {
    const map = new Map<string, string>();
    const billing = createHost({
      version: '1.0.0',
      namespace: 'billing-app',
      storage: memoryStorage({ map }),
      logger: silentLogger,
      modules: [tasks('1.0.0')],
    });
    const crm = createHost({ version: '1.0.0', namespace: 'crm', storage: memoryStorage({ map }), logger: silentLogger, modules: [tasks('2.0.0')] });
    hosts.push(billing, crm);
    await billing.start();
    await crm.start();
    await billing.enable('tasks', { tenant: 'acme' });

    expect(billing.namespace).toBe('billing-app');
    expect((await billing.status()).modules.map((m) => `${m.name}@${m.version}`)).toEqual(['tasks@1.0.0']);
    expect((await crm.status()).modules.map((m) => `${m.name}@${m.version}`)).toEqual(['tasks@2.0.0']);
    expect(await billing.registry.listTenants()).toEqual(['acme']);
    expect(await crm.registry.listTenants()).toEqual([]);
    const prefixes = new Set([...map.keys()].map((k) => k.split(':')[0]));
    expect(prefixes).toEqual(new Set(['billing-app', 'crm']));

    // A restart finds its own state again.
    await billing.stop();
    hosts.shift();
    const again = createHost({ version: '1.0.0', namespace: 'billing-app', storage: memoryStorage({ map }), logger: silentLogger, modules: [tasks('1.0.0')] });
    hosts.push(again);
    await again.start();
    expect(await again.registry.listTenants()).toEqual(['acme']);
  });

  it('refuses a namespace that is not one, saying what is', () => {
    for (const bad of ['', 'a:b', 'with space', 'x'.repeat(65)]) {
      let error: unknown;
      try {
        createHost({ version: '1.0.0', namespace: bad });
      } catch (e) {
        error = e;
      }
      expect(isModhostError(error, 'INVALID_ARGUMENT') && error.message).toContain('namespace');
    }
  });
});
