import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineModule } from './define-module.js';
import { isModhostError } from './errors.js';
import { createRegistry, type Registry } from './registry.js';
import { memoryStorage, type StorageAdapter } from './storage.js';

/** A seeded PRNG (mulberry32) so a failing schedule can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One backend seen through an adapter that yields a random number of times before each call, so reads and writes interleave. */
function jitteryStorage(map: Map<string, string>, random: () => number): StorageAdapter {
  const inner = memoryStorage({ map });
  const jitter = async () => {
    for (let i = Math.floor(random() * 4); i > 0; i--) await Promise.resolve();
  };
  const late =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    async (...args: A): Promise<Awaited<R>> => {
      await jitter();
      return await fn(...args);
    };
  return {
    name: 'jittery-memory',
    get: late(inner.get),
    set: late(inner.set),
    delete: late(inner.delete),
    keys: late(inner.keys),
    compareAndSet: late(inner.compareAndSet),
  };
}

const schema = z.record(z.string(), z.number());
const shared = (version: string) => defineModule({ name: 'shared', version, config: { schema } });

type Op = (r: Registry) => Promise<unknown>;

describe('two registries on one storage', () => {
  for (const seed of [1, 2, 3]) {
    it(`lose no update over 1,200 interleaved operations (seed ${seed})`, async () => {
      const random = prng(seed);
      const map = new Map<string, string>();
      const registries = [0, 1].map(() => createRegistry({ storage: jitteryStorage(map, random), casMaxAttempts: 1000, historyLimit: 10_000 }));
      const [r0, r1] = registries as [Registry, Registry];
      // Both processes load the same code, as two app instances would.
      await r0.register(shared('1.0.0'));
      await r1.register(shared('1.0.0'));
      let registeredEvents = 0;
      for (const r of registries) r.on('module:registered', () => registeredEvents++);

      const ops: Op[] = [];
      const model = { versions: new Set(['1.0.0']), configKeys: new Map<string, Set<string>>(), tenants: new Set<string>(), rejected: new Set<string>() };
      let transitionsTried = 0;
      for (let i = 0; i < 1200; i++) {
        const kind = Math.floor(random() * 6);
        if (kind === 0) {
          const v = `1.0.${i + 1}`;
          model.versions.add(v);
          ops.push((r) => r.register(shared(v)));
        } else if (kind === 1) {
          // Both registries race to register the same content: exactly one creates it.
          const v = `2.0.${i}`;
          model.versions.add(v);
          ops.push((r) => r.register(shared(v)));
          ops.push((r) => r.register(shared(v)));
        } else if (kind === 2) {
          const tenant = random() < 0.5 ? undefined : `t${Math.floor(random() * 3)}`;
          const scope = tenant ?? 'host';
          const key = `k${i}`;
          model.configKeys.set(scope, (model.configKeys.get(scope) ?? new Set()).add(key));
          ops.push((r) => r.configure('shared', { [key]: i }, tenant === undefined ? {} : { tenant }));
        } else if (kind === 3) {
          const tenant = `tenant-${i}`;
          model.tenants.add(tenant);
          ops.push((r) => r.enable('shared', { tenant }));
        } else if (kind === 4) {
          transitionsTried++;
          const to = random() < 0.5 ? 'resolved' : 'registered';
          ops.push((r) =>
            r.transition('shared', '1.0.0', to).then(
              () => 'transitioned',
              (e) => (isModhostError(e, 'ILLEGAL_TRANSITION') ? 'illegal' : Promise.reject(e)),
            ),
          );
        } else {
          // Rejections all write the one module record: a classic lost-update target.
          const v = `1.0.${i}-rc.1`;
          model.versions.add(v);
          model.rejected.add(v);
          ops.push(async (r) => {
            await r.register(shared(v));
            await r.rejectVersion('shared', v, `bad ${v}`);
          });
        }
      }

      // Run with 64 operations in flight, alternating registries.
      let next = 0;
      const results: unknown[] = [];
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next < ops.length) {
            const i = next++;
            results[i] = await (ops[i] as Op)(registries[i % 2] as Registry);
          }
        }),
      );
      expect(ops.length).toBeGreaterThanOrEqual(1200);

      // Versions: every one registered once, and announced once.
      const versions = (await r1.list({ name: 'shared' })).map((r) => r.version);
      expect(new Set(versions)).toEqual(model.versions);
      expect(versions).toHaveLength(model.versions.size);
      expect(registeredEvents).toBe(model.versions.size - 1);

      // Config: every key written to each layer is there, and each write made exactly one version.
      for (const [scope, keys] of model.configKeys) {
        const opts = scope === 'host' ? {} : { tenant: scope };
        const history = await r0.configHistory('shared', opts);
        expect(history.map((h) => h.version)).toEqual(history.map((_, i) => i + 1));
        expect(history).toHaveLength(keys.size);
        expect(new Set(Object.keys(history.at(-1)?.values ?? {}))).toEqual(keys);
      }

      // Tenants and rejections: nothing lost.
      expect(new Set(await r1.listTenants())).toEqual(model.tenants);
      expect(new Set((await r0.getModule('shared'))?.rejected.map((r) => r.version))).toEqual(model.rejected);

      // Transitions: the history is an unbroken chain, one entry per accepted transition.
      const rec = await r0.get('shared', '1.0.0');
      const history = rec?.history ?? [];
      const accepted = results.filter((r) => r === 'transitioned').length;
      const refused = results.filter((r) => r === 'illegal').length;
      expect(accepted + refused).toBe(transitionsTried);
      for (let i = 1; i < history.length; i++) expect(history[i]?.from).toBe(history[i - 1]?.to);
      expect(history).toHaveLength(1 + accepted);
      expect(rec?.status).toBe(history.at(-1)?.to);
      expect(accepted).toBeGreaterThan(10);
    });
  }
});
