// The adapter docs/storage-adapters.md shows must pass the conformance suite it tells readers to run: every case, none
// skipped (it has watch, a peer and a broken backend).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { StorageAdapter } from '@modhost/core';
import { runStorageConformance } from '@modhost/testkit';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

it('docs/storage-adapters.md: its example adapter passes every case of the conformance suite', async () => {
  const doc = readFileSync(`${root}docs/storage-adapters.md`, 'utf8');
  const code = /```ts\n\/\/ file: my-storage\.ts\n([\s\S]*?)```/.exec(doc)?.[1];
  expect(code, 'the guide has its my-storage.ts block').toBeDefined();
  const cache = `${root}docs/.readme-cache/`;
  mkdirSync(cache, { recursive: true });
  writeFileSync(`${cache}my-storage.ts`, code as string);
  type Mod = { myStorage: (backend?: unknown) => StorageAdapter & { backend: { down: boolean } }; createBackend: () => { down: boolean } };
  const { myStorage, createBackend } = (await import(/* @vite-ignore */ `${cache}my-storage.ts`)) as Mod;
  const results = await runStorageConformance({
    create: () => myStorage(),
    createPeer: (first) => myStorage((first as ReturnType<typeof myStorage>).backend),
    createBroken: () => myStorage({ ...createBackend(), down: true }),
  });
  expect(results.filter((r) => r.status !== 'passed')).toEqual([]);
  expect(results.length).toBeGreaterThan(10);
});
