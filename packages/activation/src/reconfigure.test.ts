import { defineModule } from '@modhost/core';
import { createActivationHarness } from '@modhost/testkit/activation';
import { expect, it } from 'vitest';
import { z } from 'zod';

it('reconfigure: ctx.config follows the stored config; the hook is told; a throwing hook is reported, not fatal', async () => {
  const seen: string[] = [];
  let throwing = false;
  const mod = defineModule({
    name: 'greeter',
    version: '1.0.0',
    config: { schema: z.object({ greeting: z.string() }), defaults: { greeting: 'hello' } },
    activate: (ctx) => ({ greet: () => ctx.config.greeting }),
    reconfigure: (config) => {
      if (throwing) throw new Error('cannot reload');
      seen.push(config.greeting);
    },
  });
  const { registry, activator } = await createActivationHarness([mod], { activate: true });
  const greet = () => (activator.api('greeter') as { greet(): string }).greet();
  expect(await activator.reconfigure('greeter')).toMatchObject({ ok: true, outcome: 'unchanged' });
  await registry.configure('greeter', { greeting: 'salut' });
  expect(await activator.reconfigure('greeter')).toEqual({ ok: true, module: 'greeter', outcome: 'applied' });
  expect([greet(), seen]).toEqual(['salut', ['salut']]);
  throwing = true;
  await registry.configure('greeter', { greeting: 'ciao' });
  expect(await activator.reconfigure('greeter')).toMatchObject({ outcome: 'applied', hookError: 'Error: cannot reload' });
  expect(greet()).toBe('ciao');
  expect(await activator.reconfigure('nobody')).toMatchObject({ outcome: 'not-running' });
});
