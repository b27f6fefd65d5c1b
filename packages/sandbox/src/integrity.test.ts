import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isModhostError } from '@modhost/core';
import { afterAll, describe, expect, it } from 'vitest';
import { setup } from '../test/helpers.js';
import { computeIntegrity, signModule, verifyIntegrity, verifySignature } from './integrity.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function moduleDir(files: Record<string, string> = { 'index.mjs': 'export default {}', 'lib/util.mjs': 'export const x = 1' }) {
  const root = mkdtempSync(join(tmpdir(), 'modhost-integrity-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
const caught = async (fn: () => unknown) => {
  try {
    await fn();
  } catch (e) {
    return e as Error & { code?: string; details?: Record<string, unknown> };
  }
  throw new Error('expected an error');
};

describe('integrity', () => {
  it('is SRI sha-512 over the canonical file list, independent of creation order', async () => {
    const a = moduleDir({ 'b.mjs': 'b', 'a.mjs': 'a', '.git/HEAD': 'ignored at the root', 'modhost.sig': '{}' });
    const b = moduleDir({ 'a.mjs': 'a', 'b.mjs': 'b' });
    const ra = await computeIntegrity(a);
    expect(ra.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    expect(ra).toEqual(await computeIntegrity(b));
    expect(ra.files.map((f) => f.path)).toEqual(['a.mjs', 'b.mjs']);
    const sri = (t: string) => `sha512-${createHash('sha512').update(t).digest('base64')}`;
    const list = `a.mjs\u00001\u0000${sri('a')}\nb.mjs\u00001\u0000${sri('b')}\n`;
    expect(ra.integrity).toBe(sri(list));
  });

  it('names what changed, was added and was removed', async () => {
    const root = moduleDir();
    const recorded = await computeIntegrity(root);
    writeFileSync(join(root, 'index.mjs'), 'export default { evil: true }');
    writeFileSync(join(root, 'extra.mjs'), 'planted');
    unlinkSync(join(root, 'lib/util.mjs'));
    const e = await caught(() => verifyIntegrity(root, recorded, 'notes@1.0.0'));
    expect(isModhostError(e, 'INTEGRITY_MISMATCH')).toBe(true);
    expect(e.details).toMatchObject({ changed: ['index.mjs'], added: ['extra.mjs'], removed: ['lib/util.mjs'] });
    expect(e.message).toContain('Reinstall it from a trusted source');
  });

  it('records symlinks by target, so re-pointing one is a change', async () => {
    const root = moduleDir({ 'index.mjs': 'x' });
    symlinkSync('index.mjs', join(root, 'link.mjs'));
    const recorded = await computeIntegrity(root);
    unlinkSync(join(root, 'link.mjs'));
    symlinkSync('/etc/passwd', join(root, 'link.mjs'));
    const e = await caught(() => verifyIntegrity(root, recorded, 'm@1.0.0'));
    expect(e.details).toMatchObject({ changed: ['link.mjs'] });
  });

  it('covers bundled node_modules and a .git or modhost.sig below the root: a tampered dependency is detected', async () => {
    const root = moduleDir({
      'index.mjs': "import 'dep'",
      'node_modules/dep/index.js': 'export default 1',
      'lib/node_modules/inner/index.js': 'nested',
      'lib/.git/HEAD': 'deeper .git',
      'lib/modhost.sig': 'deeper sig',
      '.git/HEAD': 'root .git',
      'modhost.sig': '{}',
    });
    const recorded = await computeIntegrity(root);
    expect(recorded.files.map((f) => f.path)).toEqual([
      'index.mjs',
      'lib/.git/HEAD',
      'lib/modhost.sig',
      'lib/node_modules/inner/index.js',
      'node_modules/dep/index.js',
    ]);
    writeFileSync(join(root, 'node_modules/dep/index.js'), 'process.exit(1)');
    writeFileSync(join(root, '.git/HEAD'), 'root .git, changed');
    const e = await caught(() => verifyIntegrity(root, recorded, 'm@1.0.0'));
    expect(e.details).toMatchObject({ changed: ['node_modules/dep/index.js'], added: [], removed: [] });
  });

  it('ignore names what is left out at the root only', async () => {
    const root = moduleDir({ 'index.mjs': 'x', 'build/out.js': 'left out', 'lib/build/kept.js': 'kept' });
    const { files } = await computeIntegrity(root, { ignore: ['build'] });
    expect(files.map((f) => f.path)).toEqual(['index.mjs', 'lib/build/kept.js']);
  });

  it('a version admitted once cannot be admitted again with other files', async () => {
    const { sandbox } = setup();
    const root = moduleDir();
    await sandbox.admit({ name: 'notes', version: '1.0.0', root });
    await sandbox.admit({ name: 'notes', version: '1.0.0', root });
    writeFileSync(join(root, 'index.mjs'), 'changed');
    expect((await caught(() => sandbox.admit({ name: 'notes', version: '1.0.0', root }))).code).toBe('INTEGRITY_MISMATCH');
    expect((await caught(() => sandbox.verify({ name: 'other', version: '1.0.0', root }))).message).toMatch(/no recorded integrity/);
  });
});

describe('signatures (ed25519)', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

  it('verifies a signature from a trusted key, given as a KeyObject or PEM', () => {
    const subject = { name: 'notes', version: '1.0.0', integrity: 'sha512-abc' };
    const sig = signModule(subject, privateKey, 'release');
    expect(verifySignature(subject, sig, { release: publicKey })).toBe('release');
    expect(verifySignature(subject, sig, { release: pem })).toBe('release');
  });

  it.each([
    ['missing', undefined, /no signature/],
    ['malformed', { sig: 'x' }, /not \{ keyId, signature \}/],
    ['untrusted key', 'other-key', /does not trust/],
    ['wrong key', 'wrong', /does not match/],
    ['other version', 'version', /does not match/],
    ['tampered files', 'integrity', /does not match/],
  ])('refuses a signature that is %s (SIGNATURE_INVALID)', (_, kind, message) => {
    const subject = { name: 'notes', version: '1.0.0', integrity: 'sha512-abc' };
    let sig: unknown = kind;
    if (kind === 'other-key') sig = signModule(subject, other.privateKey, 'someone');
    if (kind === 'wrong') sig = signModule(subject, other.privateKey, 'release');
    if (kind === 'version') sig = signModule({ ...subject, version: '1.0.1' }, privateKey, 'release');
    if (kind === 'integrity') sig = signModule({ ...subject, integrity: 'sha512-other' }, privateKey, 'release');
    let error: unknown;
    try {
      verifySignature(subject, sig, { release: publicKey });
    } catch (e) {
      error = e;
    }
    expect(isModhostError(error, 'SIGNATURE_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  it('a policy can require signed modules: admit checks the signature over the files as they are', async () => {
    const { sandbox, audit } = setup({}, { requireSigned: true, trustedKeys: { release: publicKey } });
    const root = moduleDir();
    expect((await caught(() => sandbox.admit({ name: 'notes', version: '1.0.0', root }))).code).toBe('SIGNATURE_INVALID');
    const { integrity } = await computeIntegrity(root);
    const signature = signModule({ name: 'notes', version: '1.0.0', integrity }, privateKey, 'release');
    writeFileSync(join(root, 'index.mjs'), 'tampered after signing');
    expect((await caught(() => sandbox.admit({ name: 'notes', version: '1.0.0', root, signature }))).code).toBe('SIGNATURE_INVALID');
    writeFileSync(join(root, 'index.mjs'), 'export default {}');
    expect((await sandbox.admit({ name: 'notes', version: '1.0.0', root, signature })).signedBy).toBe('release');
    expect(audit.query({ kind: 'integrity' }).map((r) => r.decision)).toEqual(['deny', 'deny', 'allow']);
  });
});
