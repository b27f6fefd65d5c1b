import { fileURLToPath } from 'node:url';
import { createActivator } from '@modhost/activation';
import { createRegistry } from '@modhost/core';
import { resolve } from '@modhost/resolver';
import { silentLogger } from '@modhost/testkit';
import { expect, it } from 'vitest';
import { setup } from '../test/helpers.js';
import { loadIsolatedModule } from './isolated-module.js';

const entry = fileURLToPath(new URL('../fixtures/never-ready/index.mjs', import.meta.url));

it('a worker guest whose activate timed out is stopped with its revoked context, not left running', async () => {
  const { clock, sandbox } = setup({ grant: { 'never-ready': ['storage:module'] } });
  const iso = await loadIsolatedModule({ entry, isolation: 'worker', sandbox, clock });
  const registry = createRegistry({ clock });
  await registry.register(iso.definition);
  const activator = createActivator({ registry, clock, contextFactory: sandbox.contextFor, logger: silentLogger, timeouts: { start: 1_000 } });
  const plan = resolve({ roots: { 'never-ready': '1.0.0' }, catalog: [iso.definition] });
  if (!plan.ok) throw new Error('no plan');
  const report = activator.activate(plan.plan);
  // Let the guest come up and enter its endless activate, then pass the start deadline on the injected clock.
  for (let i = 0; i < 100_000 && iso.status()?.state !== 'running'; i++) await new Promise((r) => setImmediate(r));
  expect(iso.status()?.state).toBe('running');
  clock.advance(1_000);
  expect((await report).modules[0]).toMatchObject({ state: 'failed', error: { code: 'ACTIVATION_TIMEOUT' } });
  for (let i = 0; i < 100_000 && iso.status()?.state !== 'stopped'; i++) await new Promise((r) => setImmediate(r));
  expect(iso.status()?.state).toBe('stopped');
  await iso.stop();
});
