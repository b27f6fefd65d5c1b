// What the kernel's guarantees cost: a registry transition (table check, envelope, bounded history,
// compare-and-set, event) against the plain read-modify-write a hand-rolled Map store would do;
// and an effective-config read (three layers, schema, masking) against merging and parsing by hand.
import { createRegistry, defineModule, memoryStorage, type StorageAdapter } from '@modhost/core';
import { z } from 'zod';
import { type Comparison, compare, report } from './lib.js';

const schema = z.object({ currency: z.enum(['EUR', 'USD']), retries: z.number().int(), apiKey: z.string() });

async function setUp(storage: StorageAdapter) {
  const registry = createRegistry({ storage });
  await registry.register(defineModule({ name: 'm', version: '1.0.0', config: { schema, defaults: { currency: 'EUR', retries: 3 }, sensitive: ['apiKey'] } }));
  await registry.configure('m', { apiKey: 'sk_host' });
  await registry.configure('m', { currency: 'USD' }, { tenant: 't' });
  return registry;
}

export async function benchCoreRegistry(): Promise<Comparison[]> {
  const registry = await setUp(memoryStorage());
  // A storage without `watch`: the registry cannot hear other instances' writes, so it never caches effective
  // config and every read is a first read (records read and decoded, layers merged, the schema run, masking).
  const { watch: _, ...unwatched } = memoryStorage();
  const uncached = await setUp(unwatched);
  const bare = { values: { currency: 'USD' } } as { values: Record<string, unknown> };
  const toggle = ['resolved', 'registered'] as const;

  // Baseline: the same record shape in a Map of JSON strings, updated without checks or atomicity.
  const plain = new Map<string, string>([['m@1.0.0', JSON.stringify({ status: 'registered', history: [] as unknown[] })]]);
  const plainTransition = (i: number) => {
    const rec = JSON.parse(plain.get('m@1.0.0') as string);
    rec.history = [...rec.history, { from: rec.status, to: toggle[i % 2], at: Date.now() }].slice(-50);
    rec.status = toggle[i % 2];
    plain.set('m@1.0.0', JSON.stringify(rec));
  };
  const layers = [{ currency: 'EUR', retries: 3 }, { apiKey: 'sk_host' }, { currency: 'USD' }];
  const plainConfig = () => schema.parse(Object.assign({}, ...layers.map((l) => JSON.parse(JSON.stringify(l)))));

  return [
    await compare(
      'lifecycle transition',
      ['registry.transition', (i) => registry.transition('m', '1.0.0', toggle[i % 2] as 'resolved')],
      ['Map + JSON RMW', plainTransition],
      2000,
    ),
    await compare(
      'effective config read, repeated (cached)',
      ['registry.getConfig', () => registry.getConfig('m', { tenant: 't' })],
      ['a bare object property read', () => bare.values],
      20_000,
    ),
    await compare(
      'effective config first read (nothing cached)',
      ['registry.getConfig', () => uncached.getConfig('m', { tenant: 't' })],
      ['merge + schema.parse', plainConfig],
      2000,
    ),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) report('core-registry', 'core: registry overhead against the plain algorithm', await benchCoreRegistry());
