import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { mergeConfig, REDACTED } from './config.js';
import { defineModule } from './define-module.js';
import { ModhostError } from './errors.js';
import { createRegistry } from './registry.js';
import { memoryStorage } from './storage.js';

const billing = defineModule({
  name: 'billing',
  version: '1.0.0',
  config: {
    schema: z.object({
      currency: z.enum(['EUR', 'USD']),
      invoicePrefix: z.string().min(2),
      retries: z.number().int().min(0).default(3),
      stripe: z.object({ apiKey: z.string().startsWith('sk_'), webhookSecret: z.string().optional() }),
    }),
    defaults: { currency: 'EUR', invoicePrefix: 'INV', stripe: { apiKey: 'sk_default' } },
    sensitive: ['stripe.apiKey', 'stripe.webhookSecret'],
  },
});

async function setup() {
  const registry = createRegistry({ storage: memoryStorage(), clock: { now: () => 42 } });
  await registry.register(billing);
  return registry;
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e) => (e instanceof ModhostError ? e.code : String(e)),
  );

describe('tenants', () => {
  it('who a module serves: host-wide until its first tenant, then gated for good, until enabled host-wide again', async () => {
    const registry = await setup();
    expect((await registry.getModule('billing'))?.access).toBeUndefined();
    await registry.enable('billing', { tenant: 'acme' });
    expect((await registry.getModule('billing'))?.access).toBe('tenants');
    // Disabling its last tenant does not open it to everyone.
    await registry.disable('billing', { tenant: 'acme' });
    expect((await registry.getModule('billing'))?.access).toBe('tenants');
    await registry.enable('billing');
    expect((await registry.getModule('billing'))?.access).toBe('host');
    // An explicit host-wide access survives a tenant's enable.
    await registry.enable('billing', { tenant: 'globex' });
    expect((await registry.getModule('billing'))?.access).toBe('host');
    await registry.disable('billing');
    expect((await registry.getModule('billing'))?.access).toBe('tenants');
    expect(await codeOf(registry.enable('ghost'))).toBe('MODULE_NOT_FOUND');
  });

  it('enables and disables per tenant, and lists both ways', async () => {
    const registry = await setup();
    await registry.register(defineModule({ name: 'tasks', version: '1.0.0' }));
    const events: string[] = [];
    registry.onAny((e, p) => events.push(`${String(e)} ${JSON.stringify(p)}`));
    await registry.enable('billing', { tenant: 'acme' });
    await registry.enable('tasks', { tenant: 'acme', range: '^1.0.0' });
    await registry.enable('tasks', { tenant: 'acme', range: '^1.0.0' });
    await registry.enable('tasks', { tenant: 'globex' });
    expect(await registry.listEnabled('acme')).toEqual([
      { tenant: 'acme', name: 'billing', enabledAt: 42 },
      { tenant: 'acme', name: 'tasks', range: '^1.0.0', enabledAt: 42 },
    ]);
    expect(await registry.listTenants()).toEqual(['acme', 'globex']);
    await registry.disable('tasks', { tenant: 'acme' });
    await registry.disable('tasks', { tenant: 'acme' });
    expect((await registry.listEnabled('acme')).map((e) => e.name)).toEqual(['billing']);
    // Two enables, one disable, a range change; and the first tenant of each module gates it (`module:access`).
    expect(events.filter((e) => e.startsWith('tenant:'))).toHaveLength(4);
    expect(events.filter((e) => e.startsWith('module:access'))).toEqual([
      'module:access {"name":"billing","access":"tenants"}',
      'module:access {"name":"tasks","access":"tenants"}',
    ]);
    expect(await codeOf(registry.enable('ghost', { tenant: 'acme' }))).toBe('MODULE_NOT_FOUND');
    expect(await codeOf(registry.enable('tasks', { tenant: '../etc' }))).toBe('TENANT_INVALID');
    expect(await codeOf(registry.enable('tasks', { tenant: '' }))).toBe('TENANT_INVALID');
  });
});

describe('config', () => {
  it('inherits module defaults → host-wide → tenant, validated by the schema', async () => {
    const registry = await setup();
    await registry.configure('billing', { currency: 'USD' });
    await registry.configure('billing', { invoicePrefix: 'ACME', stripe: { apiKey: 'sk_acme' } }, { tenant: 'acme' });
    const acme = await registry.getConfig('billing', { tenant: 'acme', reveal: true });
    expect(acme.values).toEqual({ currency: 'USD', invoicePrefix: 'ACME', retries: 3, stripe: { apiKey: 'sk_acme' } });
    expect(acme.validated).toBe(true);
    expect(acme.versions).toEqual({ host: 1, tenant: 1 });
    const globex = await registry.getConfig('billing', { tenant: 'globex', reveal: true });
    expect(globex.values).toEqual({ currency: 'USD', invoicePrefix: 'INV', retries: 3, stripe: { apiKey: 'sk_default' } });
  });

  it('merges layers by the rule for every input (property)', () => {
    const leaf = fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));
    const key = fc.constantFrom('a', 'b', 'c', 'd');
    const layer = fc.dictionary(key, fc.oneof(leaf, fc.dictionary(key, leaf, { maxKeys: 3 })), { maxKeys: 4 });
    fc.assert(
      fc.property(layer, layer, layer, (defaults, host, tenant) => {
        const merged = mergeConfig(defaults, host, tenant);
        const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
        for (const k of new Set([...Object.keys(defaults), ...Object.keys(host), ...Object.keys(tenant)])) {
          const layers = [defaults[k], host[k], tenant[k]].filter((x) => x !== undefined);
          const last = layers.at(-1);
          if (!isObj(last)) {
            expect(merged[k]).toEqual(last);
            continue;
          }
          // Objects merge key by key, but only across the trailing run of object layers.
          let start = layers.length - 1;
          while (start > 0 && isObj(layers[start - 1])) start--;
          const run = layers.slice(start) as Record<string, unknown>[];
          for (const sub of new Set(run.flatMap((o) => Object.keys(o)))) {
            const winner = run.filter((o) => o[sub] !== undefined).at(-1)?.[sub];
            expect((merged[k] as Record<string, unknown>)[sub]).toEqual(winner);
          }
        }
        // Inputs are never mutated.
        expect(mergeConfig(defaults, host, tenant)).toEqual(merged);
      }),
      { numRuns: 500 },
    );
  });

  it('rejects invalid values with the schema issues and changes nothing', async () => {
    const registry = await setup();
    await registry.configure('billing', { currency: 'USD' });
    const err = await registry.configure('billing', { currency: 'GBP', invoicePrefix: 'X' }).catch((e) => e);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.details.issues.map((i: { path: string[] }) => i.path.join('.'))).toEqual(['currency', 'invoicePrefix']);
    expect(err.message).toContain('Nothing was changed');
    expect((await registry.getConfig('billing')).versions.host).toBe(1);
    expect((await registry.configHistory('billing')).map((h) => h.values)).toEqual([{ currency: 'USD' }]);
  });

  it('rejects prototype-polluting keys and non-JSON values', async () => {
    const registry = await setup();
    for (const bad of [
      JSON.parse('{"__proto__": {"admin": true}}'),
      { stripe: JSON.parse('{"constructor": 1}') },
      { invoicePrefix: () => 'x' },
      { retries: Number.NaN },
    ]) {
      expect(await codeOf(registry.configure('billing', bad))).toBe('CONFIG_INVALID');
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('masks sensitive values on read unless revealed, and never puts them in events or errors', async () => {
    const registry = await setup();
    const seen: string[] = [];
    registry.onAny((_e, payload) => seen.push(JSON.stringify(payload)));
    await registry.configure('billing', { stripe: { apiKey: 'sk_live_SECRET', webhookSecret: 'whsec_TOPSECRET' } }, { tenant: 'acme' });
    const masked = await registry.getConfig('billing', { tenant: 'acme' });
    expect(masked.values.stripe).toEqual({ apiKey: REDACTED, webhookSecret: REDACTED });
    expect(masked.layers.tenant).toEqual({ stripe: { apiKey: REDACTED, webhookSecret: REDACTED } });
    expect(masked.masked).toBe(true);
    expect(JSON.stringify(await registry.configHistory('billing', { tenant: 'acme' }))).not.toContain('SECRET');
    expect((await registry.getConfig('billing', { tenant: 'acme', reveal: true })).values.stripe).toEqual({
      apiKey: 'sk_live_SECRET',
      webhookSecret: 'whsec_TOPSECRET',
    });
    // An invalid secret: the error names the path but not the value.
    const err = await registry.configure('billing', { stripe: { apiKey: 'pk_WRONG_SECRET' } }, { tenant: 'acme' }).catch((e) => e);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.details.issues[0].path).toEqual(['stripe', 'apiKey']);
    expect(`${err.message}${JSON.stringify(err.details)}`).not.toContain('WRONG_SECRET');
    expect(seen.join('\n')).not.toContain('SECRET');
    expect(seen.some((s) => s.includes(REDACTED))).toBe(true);
  });

  it('scrubs secrets from schema messages that echo the input (valibot)', async () => {
    const registry = createRegistry({ storage: memoryStorage() });
    await registry.register(
      defineModule({
        name: 'mailer',
        version: '1.0.0',
        config: { schema: v.object({ password: v.pipe(v.string(), v.minLength(20)), host: v.literal('smtp.example.com') }), sensitive: ['password'] },
      }),
    );
    const err = await registry.configure('mailer', { password: 'hunter2-secret', host: 'hunter2-secret' }).catch((e) => e);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.details.issues.map((i: { path: string[] }) => i.path.join('.'))).toEqual(['password', 'host']);
    expect(`${err.message}${JSON.stringify(err.details)}`).not.toContain('hunter2');
    // valibot echoes the received value for the literal; the scrub replaced it.
    expect(err.details.issues[1].message).toContain(REDACTED);
  });

  it('dryRun checks a change as configure would, and writes and emits nothing', async () => {
    const registry = await setup();
    await registry.configure('billing', { invoicePrefix: 'A1' }, { tenant: 'acme' });
    const events: unknown[] = [];
    registry.onAny((event) => events.push(event));
    const would = await registry.configure('billing', { currency: 'USD' }, { tenant: 'acme', dryRun: true });
    expect(would).toEqual({ version: 2, values: { invoicePrefix: 'A1', currency: 'USD' }, at: 42, reason: 'set' });
    expect(await codeOf(registry.configure('billing', { currency: 'GBP' }, { tenant: 'acme', dryRun: true }))).toBe('CONFIG_INVALID');
    expect((await registry.configHistory('billing', { tenant: 'acme' })).map((h) => h.version)).toEqual([1]);
    expect(events).toEqual([]);
  });

  it('makes every change a version and rolls a tenant back to an earlier one', async () => {
    const registry = await setup();
    await registry.configure('billing', { invoicePrefix: 'A1' }, { tenant: 'acme' });
    await registry.configure('billing', { invoicePrefix: 'A2', currency: 'USD' }, { tenant: 'acme' });
    await registry.configure('billing', { currency: 'EUR' }, { tenant: 'acme', mode: 'replace' });
    expect((await registry.getConfig('billing', { tenant: 'acme' })).values).toMatchObject({ invoicePrefix: 'INV', currency: 'EUR' });
    const restored = await registry.rollbackConfig('billing', { tenant: 'acme', to: 2 });
    expect(restored).toEqual({ version: 4, values: { invoicePrefix: 'A2', currency: 'USD' }, at: 42, reason: 'rollback', restoredFrom: 2 });
    expect((await registry.getConfig('billing', { tenant: 'acme' })).values).toMatchObject({ invoicePrefix: 'A2', currency: 'USD' });
    expect((await registry.configHistory('billing', { tenant: 'acme' })).map((h) => h.version)).toEqual([1, 2, 3, 4]);
    await registry.rollbackConfig('billing', { tenant: 'acme', to: 0 });
    expect((await registry.getConfig('billing', { tenant: 'acme' })).layers.tenant).toEqual({});
    const missing = await registry.rollbackConfig('billing', { tenant: 'acme', to: 9 }).catch((e) => e);
    expect(missing.code).toBe('CONFIG_VERSION_NOT_FOUND');
    expect(missing.message).toContain('available: 1, 2, 3, 4, 5');
  });

  it('restores exactly the values of the chosen version for any history (property)', async () => {
    const schema = z.record(z.string(), z.number());
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.dictionary(fc.constantFrom('x', 'y', 'z'), fc.integer(), { maxKeys: 3 }), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        async (writes, pick) => {
          const registry = createRegistry({ storage: memoryStorage() });
          await registry.register(defineModule({ name: 'm', version: '1.0.0', config: { schema } }));
          for (const w of writes) await registry.configure('m', w, { tenant: 't', mode: 'replace' });
          const to = (pick % writes.length) + 1;
          await registry.rollbackConfig('m', { tenant: 't', to });
          expect((await registry.getConfig('m', { tenant: 't' })).values).toEqual(writes[to - 1]);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('reports stored layers that the schema no longer accepts instead of throwing', async () => {
    const registry = createRegistry({ storage: memoryStorage() });
    const schema = z.object({ min: z.number(), max: z.number() }).refine((c) => c.min <= c.max, { message: 'min must not exceed max', path: ['min'] });
    await registry.register(defineModule({ name: 'limits', version: '1.0.0', config: { schema, defaults: { min: 0, max: 100 } } }));
    await registry.configure('limits', { max: 5 }, { tenant: 'acme' });
    // A host-wide change is checked against defaults + host only, so it can break a tenant's stored layer.
    await registry.configure('limits', { min: 10 });
    const cfg = await registry.getConfig('limits', { tenant: 'acme' });
    expect(cfg.validated).toBe(true);
    expect(cfg.issues).toEqual([{ path: ['min'], message: 'min must not exceed max' }]);
    expect(cfg.values).toEqual({ min: 10, max: 5 });
    expect((await registry.getConfig('limits')).issues).toEqual([]);
    const noSchema = createRegistry({ storage: memoryStorage() });
    await noSchema.register(defineModule({ name: 'plain', version: '1.0.0' }));
    expect(await codeOf(noSchema.configure('plain', { a: 1 }))).toBe('CONFIG_INVALID');
  });

  it('refuses to accept config it cannot validate (no definition loaded in this process)', async () => {
    const storage = memoryStorage();
    await createRegistry({ storage }).register(billing);
    const other = createRegistry({ storage });
    const err = await other.configure('billing', { currency: 'USD' }).catch((e) => e);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('register the module here first');
    const read = await other.getConfig('billing');
    expect(read.validated).toBe(false);
    expect(read.values).toMatchObject({ currency: 'EUR', stripe: { apiKey: REDACTED } });
  });
});
