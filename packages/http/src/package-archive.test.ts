import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isModhostError } from '@modhost/core';
import { afterAll, describe, expect, it } from 'vitest';
import { moduleFiles, tar, zip } from '../test/archives.js';
import { escapesOf, HOSTILE, HOSTILE_LIMITS } from '../test/hostile-packages.js';
import { readModulePackage, unpackModulePackage } from './package-archive.js';

const work = mkdtempSync(join(tmpdir(), 'modhost-archive-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const files = moduleFiles('greeter');
const tarOf = (prefix: string) => tar(Object.entries(files).map(([name, data]) => ({ name: `${prefix}${name}`, data })));
const manifest = { name: 'package/modhost.json', data: files['modhost.json'] as string };
const small = HOSTILE_LIMITS;

/** The error a package is refused with: its code and message. */
function refusal(bytes: Uint8Array, limits = small): { code: string; message: string } {
  try {
    readModulePackage(bytes, limits);
  } catch (e) {
    if (isModhostError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('the package was not refused');
}

const paths = (bytes: Uint8Array) => readModulePackage(bytes, small).files.map((f) => f.path.join('/'));

describe('readModulePackage: the formats', () => {
  it('reads a .tgz as npm pack makes it, taking off its package/ folder', () => {
    expect(paths(gzipSync(tarOf('package/')))).toEqual(['modhost.json', 'index.mjs']);
  });

  it('reads a plain tar with no top folder, or with ./ names, and a tar with folder entries', () => {
    expect(paths(tarOf(''))).toEqual(['modhost.json', 'index.mjs']);
    expect(paths(tarOf('./'))).toEqual(['modhost.json', 'index.mjs']);
    const withDirs = tar([
      { name: 'greeter/', type: '5' },
      { name: 'greeter/lib/', type: '5' },
      ...Object.entries(files).map(([n, data]) => ({ name: `greeter/${n}`, data })),
    ]);
    expect(readModulePackage(withDirs, small)).toMatchObject({ directories: [['lib']], files: [{ path: ['modhost.json'] }, { path: ['index.mjs'] }] });
  });

  it('reads long names from pax headers', () => {
    const long = `package/${'d'.repeat(120)}/file.js`;
    const bytes = tar([manifest, { name: 'package/short', pax: { path: long }, data: 'x' }]);
    expect(paths(bytes)).toEqual(['modhost.json', `${'d'.repeat(120)}/file.js`]);
  });

  it('reads a zip with stored and deflated entries under a <name>/ folder', () => {
    const bytes = zip([
      { name: 'greeter/', unixMode: 0o040755 },
      { name: 'greeter/modhost.json', data: files['modhost.json'] as string, method: 8 },
      { name: 'greeter/index.mjs', data: files['index.mjs'] as string },
    ]);
    const pkg = readModulePackage(bytes, small);
    expect(pkg.files.map((f) => [f.path.join('/'), Buffer.from(f.data).toString()])).toEqual([
      ['modhost.json', files['modhost.json']],
      ['index.mjs', files['index.mjs']],
    ]);
  });

  it('keeps two top folders as they are (and then finds no modhost.json)', () => {
    expect(refusal(tar([manifest, { name: 'other/x.js', data: 'x' }])).message).toContain('no modhost.json at its root');
  });
});

describe('readModulePackage: hostile packages are refused before anything is written', () => {
  it.each(HOSTILE)('%s', (_, make, code, words) => {
    const refused = refusal(make());
    expect(refused.code).toBe(code);
    expect(refused.message).toMatch(words);
  });

  it('the default limits: 10,000 entries, 50 MiB unpacked', () => {
    const many = zip([{ name: 'modhost.json', data: '{}' }, ...Array.from({ length: 10_000 }, (_, i) => ({ name: `${i}.js` }))]);
    expect(() => readModulePackage(many)).toThrow(/more than 10000 entries/);
    const bomb = gzipSync(tar([manifest, { name: 'package/bomb.bin', data: new Uint8Array(51 * 1024 * 1024) }]));
    expect(bomb.byteLength).toBeLessThan(1024 * 1024);
    expect(() => readModulePackage(bomb)).toThrow(/more than 52428800 bytes/);
  });
});

describe('unpackModulePackage', () => {
  it('writes the package into a fresh folder of its own and returns it', async () => {
    const into = join(work, 'good');
    const dir = await unpackModulePackage(gzipSync(tarOf('package/')), { into, ...small });
    expect(readdirSync(into)).toEqual([dir.slice(into.length + 1)]);
    expect(dir.slice(into.length + 1)).toMatch(/^\d+-\w{6}$/);
    expect(readdirSync(dir).sort()).toEqual(['index.mjs', 'modhost.json']);
    expect(readFileSync(join(dir, 'modhost.json'), 'utf8')).toBe(files['modhost.json']);
    // A second upload of the same package gets another folder.
    const again = await unpackModulePackage(zip(Object.entries(files).map(([name, data]) => ({ name, data, method: 8 as const }))), { into, ...small });
    expect(again).not.toBe(dir);
    expect(readdirSync(into)).toHaveLength(2);
  });

  it('creates the folder it unpacks into when it is missing', async () => {
    const into = join(work, 'late', 'uploads');
    const dir = await unpackModulePackage(gzipSync(tarOf('package/')), { into });
    expect(readdirSync(into)).toEqual([dir.slice(into.length + 1)]);
  });

  it.each(HOSTILE)('%s: nothing is written, inside or outside', async (_, make) => {
    const into = join(work, 'hostile');
    mkdirSync(into, { recursive: true });
    await expect(unpackModulePackage(make(), { into, ...small })).rejects.toThrow();
    expect(readdirSync(into)).toEqual([]);
    for (const escaped of escapesOf(into)) expect(existsSync(escaped), escaped).toBe(false);
  });
});
