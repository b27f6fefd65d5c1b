import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isModhostError } from '@modhost/core';
import { assertManifest } from '@modhost/manifest';
import { afterEach, describe, expect, it } from 'vitest';
import { serveHost, testHost } from '../test/folders.js';
import { assertFolderRequirements } from './folder-requirements.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Writes a fake installed package, as npm would lay it out. */
function installPackage(dir: string, name: string, version: string | undefined) {
  const at = join(dir, 'node_modules', name);
  mkdirSync(at, { recursive: true });
  writeFileSync(join(at, 'package.json'), JSON.stringify({ name, ...(version ? { version } : {}), type: 'module', main: 'index.js' }));
  writeFileSync(join(at, 'index.js'), "export default (s, n, c = ' ') => String(s).padStart(n, c);\n");
  return at;
}

const caught = async (fn: () => Promise<unknown>) => {
  try {
    await fn();
  } catch (e) {
    return e as Error & { code?: string; details?: Record<string, unknown> };
  }
  throw new Error('expected an error');
};

describe('assertFolderRequirements', () => {
  const tmp = () => {
    const dir = mkdtempSync(join(tmpdir(), 'modhost-requirements-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  const manifest = (extra: Record<string, unknown>) => assertManifest({ name: 'padder', version: '1.0.0', ...extra });

  it('engines.node: the running Node must be in the range (a nightly judged by its number)', async () => {
    const dir = tmp();
    await assertFolderRequirements(dir, manifest({ engines: { node: '>=20' } }), '20.1.0');
    await assertFolderRequirements(dir, manifest({ engines: { node: '>=24' } }), '25.0.0-nightly20250101');
    const e = await caught(() => assertFolderRequirements(dir, manifest({ engines: { node: '>=22 <23' } }), '20.11.1'));
    expect(isModhostError(e, 'NODE_INCOMPATIBLE')).toBe(true);
    expect(e.details).toMatchObject({ module: 'padder', version: '1.0.0', range: '>=22 <23', node: '20.11.1', dir });
    expect(e.message).toContain('needs Node.js >=22 <23 (engines.node), and this host runs Node.js 20.11.1');
    const bad = await caught(() => assertFolderRequirements(dir, manifest({ engines: { node: 'latest' } }), '20.1.0'));
    expect(bad.code).toBe('MANIFEST_INVALID');
    expect(bad.details?.issues).toEqual([{ path: ['engines', 'node'], message: expect.stringContaining('not a semver range') }]);
  });

  it('npmDependencies: every package missing, unreadable or out of range is named at once, with the command that fixes it', async () => {
    const dir = tmp();
    installPackage(dir, 'left-pad', '1.2.0');
    installPackage(dir, '@acme/charts', undefined);
    installPackage(dir, 'ok', '2.0.0');
    const m = manifest({ npmDependencies: { 'left-pad': '^1.3.0', '@acme/charts': '>=2 <3', absent: '1.x', ok: '^2.0.0' } });
    const e = await caught(() => assertFolderRequirements(dir, m));
    expect(isModhostError(e, 'DEPENDENCY_UNSATISFIED')).toBe(true);
    expect(e.details?.packages).toEqual([
      { name: 'left-pad', range: '^1.3.0', found: '1.2.0' },
      { name: '@acme/charts', range: '>=2 <3', found: 'no version' },
      { name: 'absent', range: '1.x', found: 'missing' },
    ]);
    const command = `npm install --prefix ${dir} left-pad@^1.3.0 '@acme/charts@>=2 <3' absent@1.x`;
    expect(e.details?.hints).toEqual([command]);
    expect(e.message).toContain('left-pad@^1.3.0: found 1.2.0; @acme/charts@>=2 <3: no version; absent@1.x: missing');
    expect(e.message).toContain(command);
    const bad = await caught(() => assertFolderRequirements(dir, manifest({ npmDependencies: { ok: 'latest' } })));
    expect(bad.details?.issues).toEqual([{ path: ['npmDependencies', 'ok'], message: expect.stringContaining('not a semver range') }]);
  });

  it('looks only inside the module folder: never up to an outer node_modules, never through a link that leads out', async () => {
    const outer = tmp();
    installPackage(outer, 'left-pad', '1.3.0');
    const dir = join(outer, 'modules', 'padder');
    mkdirSync(dir, { recursive: true });
    const m = manifest({ npmDependencies: { 'left-pad': '^1.3.0' } });
    expect((await caught(() => assertFolderRequirements(dir, m))).details?.packages).toEqual([{ name: 'left-pad', range: '^1.3.0', found: 'missing' }]);

    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(join(outer, 'node_modules', 'left-pad'), join(dir, 'node_modules', 'left-pad'));
    const out = await caught(() => assertFolderRequirements(dir, m));
    expect(isModhostError(out, 'LINK_OUTSIDE_MODULE')).toBe(true);
    expect(out.details).toMatchObject({ module: 'padder@1.0.0', path: 'node_modules/left-pad/package.json' });

    // A link that stays inside (a workspace-style layout) is fine.
    rmSync(join(dir, 'node_modules', 'left-pad'));
    installPackage(join(dir, 'vendor'), 'left-pad', '1.3.0');
    symlinkSync('../vendor/node_modules/left-pad', join(dir, 'node_modules', 'left-pad'));
    await assertFolderRequirements(dir, m);
  });
});

describe('a module folder with registry fields, on a host', () => {
  const padder = (extra: Record<string, unknown> = {}) => ({
    manifest: {
      name: 'padder',
      version: '1.0.0',
      displayName: 'Left padder',
      metadata: { homepage: 'https://example.com/padder', repository: 'github:acme/padder', tags: ['text'], category: 'Utilities' },
      permissions: ['routes:mount'],
      routes: [{ method: 'GET', path: '/pad' }],
      npmDependencies: { 'left-pad': '^1.3.0' },
      ...extra,
    },
    entry:
      "import leftPad from 'left-pad';\nexport default { routes: [{ method: 'GET', path: '/pad', handler: () => ({ body: { padded: leftPad('7', 3, '0') } }) }] };\n",
  });

  it('engines.node that excludes this Node: refused before any code runs, kept as a problem with its error', async () => {
    const { folder, host } = testHost(cleanups);
    const p = padder({ engines: { node: '>=999' }, npmDependencies: {} });
    const dir = folder.write('padder', p.manifest, "throw new Error('must not run')");
    await host.start();
    const { modules, problems } = await host.status();
    expect(modules).toEqual([]);
    expect(problems).toEqual([{ dir, code: 'NODE_INCOMPATIBLE', message: expect.any(String), hint: expect.stringContaining('engines.node') }]);
    expect(problems[0]?.message).toContain(`needs Node.js >=999 (engines.node), and this host runs Node.js ${process.versions.node}`);
  });

  it.each(['worker', 'in-process'] as const)(
    'npmDependencies in the %s tier: missing, then wrong, then installed in the folder and served',
    async (isolation) => {
      const { folder, host } = testHost(cleanups);
      const p = padder({ isolation });
      const dir = folder.write('padder', p.manifest, p.entry);
      await host.start();
      expect((await host.status()).problems).toMatchObject([{ code: 'DEPENDENCY_UNSATISFIED', message: expect.stringContaining(`left-pad@^1.3.0: missing`) }]);
      expect((await host.status()).problems[0]?.message).toContain(`npm install --prefix ${dir} left-pad@^1.3.0`);

      installPackage(dir, 'left-pad', '1.2.0');
      await host.rescan();
      expect((await host.status()).problems).toMatchObject([{ code: 'DEPENDENCY_UNSATISFIED', message: expect.stringContaining('found 1.2.0') }]);

      installPackage(dir, 'left-pad', '1.3.0');
      await host.rescan();
      const { modules, problems } = await host.status();
      expect(problems).toEqual([]);
      expect(modules).toMatchObject([
        {
          name: 'padder',
          displayName: 'Left padder',
          metadata: { homepage: 'https://example.com/padder', repository: 'github:acme/padder', tags: ['text'], category: 'Utilities' },
          active: true,
          isolation,
        },
      ]);
      const http = await serveHost(cleanups, host);
      expect(await http('/padder/pad')).toEqual({ status: 200, body: { padded: '007' } });
    },
  );

  it("covers node_modules with the folder's integrity: a package changed after install is caught", async () => {
    const { folder, host } = testHost(cleanups);
    const p = padder({ isolation: 'in-process' });
    const dir = folder.write('padder', p.manifest, p.entry);
    const pkg = installPackage(dir, 'left-pad', '1.3.0');
    await host.start();
    expect((await host.status()).modules).toMatchObject([{ name: 'padder', active: true }]);
    writeFileSync(join(pkg, 'index.js'), 'export default () => "tampered";\n');
    await host.rescan();
    const { problems } = await host.status();
    expect(problems).toMatchObject([{ dir, code: 'INTEGRITY_MISMATCH', message: expect.stringContaining('changed: node_modules/left-pad/index.js') }]);
  });

  it('a node_modules entry linked outside the folder is refused when the folder is admitted', async () => {
    const { folder, host } = testHost(cleanups);
    const p = padder();
    const dir = folder.write('padder', p.manifest, p.entry);
    const outside = mkdtempSync(join(tmpdir(), 'modhost-outside-'));
    cleanups.push(() => rmSync(outside, { recursive: true, force: true }));
    const pkg = installPackage(outside, 'left-pad', '1.3.0');
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(pkg, join(dir, 'node_modules', 'left-pad'));
    await host.start();
    const { modules, problems } = await host.status();
    expect(modules).toEqual([]);
    expect(problems).toMatchObject([{ dir, code: 'LINK_OUTSIDE_MODULE', message: expect.stringContaining('node_modules/left-pad') }]);
  });
});
