// The conformance suite against PGlite, always, and what is particular to it.
import { readdirSync, readFileSync } from 'node:fs';
import { describeStorageAdapter } from '@modhost/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { brokenAdapter, createPgliteDatabase } from '../test/backend.js';

const backend = await createPgliteDatabase();
afterAll(() => backend.close());

describeStorageAdapter('postgres on PGlite', {
  create: () => backend.adapter(),
  // A second adapter over the same instance: as two parts of one application would share it.
  createPeer: () => backend.adapter(),
  createBroken: () => brokenAdapter('pglite'),
});

describe('PGlite', () => {
  it('is never imported by the package: you pass the instance (an optional peer dependency)', () => {
    const dir = new URL('.', import.meta.url);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      const text = readFileSync(new URL(file, dir), 'utf8');
      expect(text, file).not.toMatch(/from '@electric-sql\/pglite'|import\('@electric-sql\/pglite'\)|require\('@electric-sql\/pglite'\)/);
    }
  });

  it('names itself pglite and keeps a table per schema and table option', async () => {
    const a = backend.adapter({ schema: 'tenant_a', table: 'kv' });
    const b = backend.adapter({ schema: 'tenant_b', table: 'kv' });
    await a.set('k', 'from a');
    expect(a.name).toBe('pglite');
    expect(await b.get('k')).toBeUndefined();
    expect(await a.get('k')).toBe('from a');
    await Promise.all([a.dispose?.(), b.dispose?.()]);
  });
});
