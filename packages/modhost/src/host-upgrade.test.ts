import { defineModule } from '@modhost/core';
import { silentLogger } from '@modhost/testkit';
import { expect, it } from 'vitest';
import { createHost } from './host.js';

it('installing a module while another, upgraded to a version registered through the registry, is in its rollback window', async () => {
  const t = (v: string) => defineModule({ name: 'tasks', version: v, health: () => true });
  const host = createHost({ version: '1.0.0', modules: [t('1.0.0')], logger: silentLogger });
  await host.start();
  await host.registry.register(t('1.1.0'));
  expect((await host.upgrade('tasks', '1.1.0')).outcome).toBe('switched');
  const other = defineModule({ name: 'other', version: '1.0.0' });
  const s = await host.install(other);
  expect(s.active).toBe(true);
  await host.stop();
});

it('host.upgrade takes canary steps: traffic moves in steps through the health gate', async () => {
  const t = (v: string) =>
    defineModule({
      name: 'tasks',
      version: v,
      permissions: ['routes:mount'],
      routes: [{ method: 'GET', path: '/', handler: () => ({ body: v }) }],
      health: () => true,
    });
  const host = createHost({ version: '1.0.0', modules: [t('1.0.0')], logger: silentLogger, policy: { grant: { '*': ['routes:mount'] } } });
  await host.start();
  await host.install(t('1.0.0'));
  await host.registry.register(t('1.1.0'));
  const report = await host.upgrade('tasks', '1.1.0', { canary: { steps: [10, 50], stepMs: 1 } });
  expect(report.outcome).toBe('switched');
  expect(host.router.slot('/tasks')?.current.owner.version).toBe('1.1.0');
  await host.stop();
});

it('a module disabled host-wide stays installed, and enabling it again goes through its health gate', async () => {
  let healthy = true;
  const m = defineModule({ name: 'billing', version: '1.0.0', health: () => healthy });
  const host = createHost({ version: '1.0.0', modules: [m], logger: silentLogger, health: { periodMs: 1, failureThreshold: 1 } });
  await host.start();
  await host.disable('billing');
  expect(host.isEnabled('billing', undefined)).toBe(false);
  expect((await host.status()).modules.find((x) => x.name === 'billing')?.active).toBe(true);
  healthy = false;
  await expect(host.enable('billing')).rejects.toMatchObject({ code: 'HEALTH_CHECK_FAILED' });
  expect(host.isEnabled('billing', undefined)).toBe(false);
  healthy = true;
  await host.enable('billing');
  expect(host.isEnabled('billing', undefined)).toBe(true);
  await host.stop();
});
