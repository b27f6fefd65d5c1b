import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineModule } from './define-module.js';
import { createRegistry } from './registry.js';
import type { Registry } from './registry-types.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import { memoryStorage, type StorageAdapter, type StorageChange } from './storage.js';

const schema: StandardSchemaV1 = { '~standard': { version: 1, vendor: 'test', validate: (value: unknown) => ({ value }) } } as StandardSchemaV1;
const mod = defineModule({ name: 'm', version: '1.0.0', config: { schema, defaults: { n: 0 }, sensitive: [] } });

/** A memoryStorage whose watch notices wait in a queue until `deliver()`, as another process's notices would. */
function delayedWatch(map: Map<string, string>) {
  const inner = memoryStorage({ map });
  const queue: (() => void)[] = [];
  const adapter: StorageAdapter = {
    ...inner,
    watch: (prefix, callback) => inner.watch?.(prefix, (change: StorageChange) => queue.push(() => callback(change))) as () => void,
  };
  return {
    adapter,
    deliver() {
      for (const notice of queue.splice(0)) notice();
    },
  };
}

type Op =
  | { kind: 'write'; by: 0 | 1; tenant: boolean }
  | { kind: 'read'; by: 0 | 1; tenant: boolean; reveal: boolean }
  | { kind: 'race'; reader: 0 | 1; writer: 0 | 1; tenant: boolean }
  | { kind: 'deliver' };

const by = fc.constantFrom<0 | 1>(0, 1);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), by, tenant: fc.boolean() }),
  fc.record({ kind: fc.constant('read' as const), by, tenant: fc.boolean(), reveal: fc.boolean() }),
  fc.record({ kind: fc.constant('race' as const), reader: by, writer: by, tenant: fc.boolean() }),
  fc.record({ kind: fc.constant('deliver' as const) }),
);

describe('the effective-config cache', () => {
  it('never serves a value older than the last write its registry could have seen', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        const map = new Map<string, string>();
        // Registry 0 hears every change at once (the in-process storage); registry 1 hears the other's only when delivered.
        const late = delayedWatch(map);
        const regs: Registry[] = [createRegistry({ storage: memoryStorage({ map }) }), createRegistry({ storage: late.adapter })];
        for (const r of regs) await r.register(mod);
        let counter = 0;
        // The newest value written per layer, and the newest each registry could have seen (its own, or a delivered notice).
        const written = { host: 0, tenant: 0 };
        const seen: [{ host: number; tenant: number }, { host: number; tenant: number }] = [
          { host: 0, tenant: 0 },
          { host: 0, tenant: 0 },
        ];
        const pendingFor1: { layer: 'host' | 'tenant'; n: number }[] = [];
        const write = async (who: 0 | 1, tenant: boolean) => {
          const n = ++counter;
          const layer = tenant ? 'tenant' : 'host';
          await (regs[who] as Registry).configure('m', { n }, tenant ? { tenant: 't' } : {});
          written[layer] = n;
          seen[0][layer] = n;
          if (who === 1) seen[1][layer] = n;
          else pendingFor1.push({ layer, n });
        };
        const check = async (who: 0 | 1, tenant: boolean, reveal = false) => {
          const got = await (regs[who] as Registry).getConfig('m', { ...(tenant ? { tenant: 't' } : {}), reveal });
          expect(got.layers.host.n ?? 0).toBeGreaterThanOrEqual(seen[who].host);
          if (tenant) expect(got.layers.tenant.n ?? 0).toBeGreaterThanOrEqual(seen[who].tenant);
          // Never a value nobody wrote, nor a mix: the effective value is the tenant's over the host's.
          const expected = tenant && got.layers.tenant.n !== undefined ? got.layers.tenant.n : (got.layers.host.n ?? 0);
          expect(got.values.n).toBe(expected);
        };
        for (const o of ops) {
          if (o.kind === 'write') await write(o.by, o.tenant);
          else if (o.kind === 'read') await check(o.by, o.tenant, o.reveal);
          else if (o.kind === 'deliver') {
            late.deliver();
            for (const p of pendingFor1.splice(0)) seen[1][p.layer] = Math.max(seen[1][p.layer], p.n);
          } else {
            // A read that began before a write finished may return either value, but must not be kept past it.
            const reading = (regs[o.reader] as Registry).getConfig('m', o.tenant ? { tenant: 't' } : {});
            await write(o.writer, o.tenant);
            await reading;
          }
        }
        late.deliver();
        for (const p of pendingFor1.splice(0)) seen[1][p.layer] = Math.max(seen[1][p.layer], p.n);
        for (const who of [0, 1] as const) for (const tenant of [false, true]) await check(who, tenant);
        expect(seen[1]).toEqual(written);
      }),
      { numRuns: 200 },
    );
  });

  it('serves a repeated read from memory, and a write drops it', async () => {
    const r = createRegistry();
    await r.register(mod);
    const first = await r.getConfig('m');
    expect(await r.getConfig('m')).toBe(first);
    await r.configure('m', { n: 5 });
    const after = await r.getConfig('m');
    expect(after).not.toBe(first);
    expect(after.values.n).toBe(5);
    expect(Object.isFrozen(after.values)).toBe(true);
  });
});
