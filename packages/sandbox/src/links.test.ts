import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isModhostError } from '@modhost/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { setup } from '../test/helpers.js';
import { type IsolatedModule, loadIsolatedModule } from './isolated-module.js';
import { nodePermissionFlags } from './node-permissions.js';
import { parsePermission } from './permission.js';

const dirs: string[] = [];
const loaded: IsolatedModule[] = [];
afterEach(async () => {
  for (const m of loaded.splice(0)) await m.stop();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A temp folder holding `module/` (with the given files) and an `outside/secret` next to it. */
function layout(files: Record<string, string> = { 'index.mjs': 'export default {}' }) {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'modhost-links-')));
  dirs.push(base);
  const root = join(base, 'module');
  const outside = join(base, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'TOP SECRET');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return { base, root, outside };
}
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error & { details?: Record<string, unknown> },
  );

describe('links in a module folder (sandbox.admit)', () => {
  it('refuses an entry that is a link to an outside file, naming the link and what to do', async () => {
    const { root, outside } = layout({ 'modhost.json': '{}' });
    symlinkSync(join(outside, 'secret'), join(root, 'index.mjs'));
    const { sandbox, audit } = setup();
    const e = await refusal(sandbox.admit({ name: 'notes', version: '1.0.0', root }));
    expect(isModhostError(e, 'LINK_OUTSIDE_MODULE')).toBe(true);
    expect(e?.details).toMatchObject({ module: 'notes', path: 'index.mjs', target: join(outside, 'secret') });
    expect(e?.message).toMatch(/notes@1\.0\.0: .*"index\.mjs".*outside.*Ship the file itself/);
    expect(audit.query({ kind: 'integrity', module: 'notes' }).map((r) => r.decision)).toEqual(['deny']);
    await expect(sandbox.verify({ name: 'notes', version: '1.0.0', root })).rejects.toMatchObject({ code: 'INTEGRITY_MISMATCH' });
  });

  it.each([
    ['a relative link to an outside folder, deep down', 'lib/vendor', '../../outside'],
    ['a dangling link whose target would be outside', 'cache', '../outside/missing/file'],
    ['a dangling absolute link', 'out.txt', '/nonexistent-modhost-dir/x'],
    // `deep/up` is `..` (inside), so the OS climbs out where the written text seems to stay in.
    ['a dangling link that climbs out through an inside link', 'via', 'deep/up/../module/../outside/missing'],
  ])('refuses %s', async (_, path, target) => {
    const { root } = layout({ 'index.mjs': 'x', 'lib/a.js': 'a', 'deep/b.js': 'b' });
    symlinkSync('..', join(root, 'deep', 'up'));
    symlinkSync(target, join(root, path));
    const e = await refusal(setup().sandbox.admit({ name: 'm', version: '1.0.0', root }));
    expect(isModhostError(e, 'LINK_OUTSIDE_MODULE'), path).toBe(true);
    expect(e?.details).toMatchObject({ path, target });
  });

  it('refuses a link that lands inside only through a link outside the folder, which could be re-pointed later', async () => {
    const { base, root } = layout({ 'index.mjs': 'x', 'lib/real.js': 'x' });
    symlinkSync(root, join(base, 'back-in'));
    symlinkSync('../back-in/lib/real.js', join(root, 'alias.js'));
    const e = await refusal(setup().sandbox.admit({ name: 'm', version: '1.0.0', root }));
    expect(isModhostError(e, 'LINK_OUTSIDE_MODULE')).toBe(true);
    expect(e?.message).toContain(`goes through ${join(base, 'back-in')}`);
  });

  it('allows links that stay inside the folder, dangling or not', async () => {
    const { root } = layout({ 'index.mjs': 'export default {}', 'lib/real.js': 'x' });
    symlinkSync('lib/real.js', join(root, 'alias.js'));
    symlinkSync('../index.mjs', join(root, 'lib', 'entry.mjs'));
    symlinkSync('lib', join(root, 'lib-link'));
    symlinkSync('not-built-yet.js', join(root, 'pending.js'));
    symlinkSync('..', join(root, 'lib', 'up'));
    const record = await setup().sandbox.admit({ name: 'm', version: '1.0.0', root });
    expect(record.files.filter((f) => f.symlink).map((f) => f.path)).toEqual(['alias.js', 'lib-link', 'lib/entry.mjs', 'lib/up', 'pending.js']);
  });
});

describe('fs scopes in the process tier', () => {
  it('Node permission flags name real paths inside the module only', () => {
    const { root, outside } = layout();
    mkdirSync(join(root, 'data'));
    symlinkSync(outside, join(root, 'shared'));
    const granted = ['fs:read:./data', 'fs:read:./shared', 'fs:write:./shared', 'fs:read:../outside', 'fs:write:./missing'].map(parsePermission);
    const paths = nodePermissionFlags({ root, granted })
      .filter((f) => f.startsWith('--allow-fs-'))
      .map((f) => f.slice(f.indexOf('=') + 1));
    expect(paths).toContain(join(root, 'data'));
    expect(paths.filter((p) => p.startsWith(root))).toEqual([root, join(root, 'data')]);
    expect(paths.some((p) => p.startsWith(outside) || p.includes('missing'))).toBe(false);
  });

  it('a guest cannot read through a scope linked outside, nor write through a dangling link with ctx.fs', async () => {
    const module = `export default {
  name: 'linker', version: '1.0.0', permissions: ['fs:read:./shared', 'fs:write:./data'],
  activate: async (ctx) => {
    const { readFileSync } = await import('node:fs');
    return { read: (p) => readFileSync(p, 'utf8'), write: (p, t) => ctx.fs.writeFile(p, t) };
  },
};\n`;
    const { root, outside, base } = layout({ 'index.mjs': module, 'data/.keep': '' });
    symlinkSync(outside, join(root, 'shared'));
    symlinkSync(join(base, 'outside', 'planted'), join(root, 'data', 'out.txt'));
    const { sandbox, input, clock } = setup({ grant: { linker: ['fs:read:./shared', 'fs:write:./data'] } });
    const iso = await loadIsolatedModule({ entry: join(root, 'index.mjs'), isolation: 'process', sandbox, clock });
    loaded.push(iso);
    const { ctx } = sandbox.contextFor(input('linker', { root }), iso.definition);
    const api = (await iso.definition.activate?.(ctx)) as { read: (p: string) => Promise<string>; write: (p: string, t: string) => Promise<void> };
    const read = await refusal(api.read(join(outside, 'secret')));
    expect(read?.details).toMatchObject({ nodeCode: 'ERR_ACCESS_DENIED' });
    const write = await refusal(api.write('data/out.txt', 'planted'));
    expect(isModhostError(write, 'PERMISSION_DENIED')).toBe(true);
    expect(existsSync(join(outside, 'planted'))).toBe(false);
  });
});
