import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isModhostError, memoryStorage } from '@modhost/core';
import { afterAll, describe, expect, it } from 'vitest';
import { integrityKey } from './integrity.js';
import { createSandbox } from './sandbox.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function moduleDir(text = 'export default {}') {
  const root = mkdtempSync(join(tmpdir(), 'modhost-dev-integrity-'));
  dirs.push(root);
  writeFileSync(join(root, 'index.mjs'), text);
  return root;
}
const refusal = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!isModhostError(e, 'INTEGRITY_MISMATCH')) throw new Error(`expected INTEGRITY_MISMATCH, got ${String(e)}`);
  return e;
};

describe('integrity in development mode', () => {
  it('records marked dev, replaced when the files change; a sandbox not in development mode refuses them until forgotten', async () => {
    const storage = memoryStorage();
    const dev = createSandbox({ storage, dev: true });
    const root = moduleDir();
    const input = { name: '@acme/notes', version: '1.0.0', root };
    expect(await dev.admit(input)).toMatchObject({ recorded: true, dev: true });
    const first = JSON.parse((await storage.get(integrityKey('@acme/notes', '1.0.0'))) as string);
    expect(first).toMatchObject({ dev: true });

    writeFileSync(join(root, 'index.mjs'), 'export default { edited: true }');
    expect(await dev.admit(input)).toMatchObject({ recorded: true, dev: true });
    const second = JSON.parse((await storage.get(integrityKey('@acme/notes', '1.0.0'))) as string);
    expect(second.integrity).not.toBe(first.integrity);
    await dev.verify(input);

    const prod = createSandbox({ storage });
    const refused = await refusal(prod.admit(input));
    expect(refused.details).toMatchObject({ module: '@acme/notes', version: '1.0.0', dev: true });
    expect(refused.message).toMatch(/recorded in development mode.*Bump its version.*forgetDevVersions/);
    await refusal(prod.verify(input));

    expect(await prod.forgetDev({ name: 'other' })).toEqual([]);
    expect(await prod.forgetDev()).toEqual([{ name: '@acme/notes', version: '1.0.0' }]);
    expect(await prod.admit(input)).toMatchObject({ recorded: true });
    expect(await prod.admit(input)).not.toHaveProperty('dev');
    // A production record is never forgotten, and never replaced by development mode.
    expect(await dev.forgetDev()).toEqual([]);
    expect(await dev.admit(input)).toMatchObject({ recorded: false });
    writeFileSync(join(root, 'index.mjs'), 'export default { again: true }');
    expect((await refusal(dev.admit(input))).message).toContain('Bump the version');
  });
});
