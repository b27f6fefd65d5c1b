import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const entry = fileURLToPath(new URL('./index.ts', import.meta.url));
const pkg = JSON.parse(readFileSync(`${pkgDir}package.json`, 'utf8'));

/** Bundles core as a consumer's bundler would: neutral platform, nothing external. */
const bundle = (minify: boolean) =>
  build({ entryPoints: [entry], bundle: true, write: false, format: 'esm', platform: 'neutral', minify, metafile: true, logLevel: 'silent' });

describe('@modhost/core purity', () => {
  it('declares no runtime dependencies of any kind', () => {
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'bundleDependencies']) {
      expect(pkg[field], field).toBeUndefined();
    }
  });

  it('bundles for a neutral platform with every input inside its own src (no node: built-ins, no packages)', async () => {
    const result = await bundle(false);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.length).toBeGreaterThan(5);
    for (const input of inputs) expect(input).toMatch(/^packages\/core\/src\/[a-z-]+\.ts$|^src\/[a-z-]+\.ts$/);
    const imports = Object.values(result.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
    expect(imports.filter((p) => !p.includes('packages/core/src/') && !p.startsWith('src/'))).toEqual([]);
  });

  it(`stays within its size budget (${pkg['size-limit']['gzip-bytes']} bytes minified + gzipped ESM)`, async () => {
    const result = await bundle(true);
    const code = result.outputFiles[0]?.contents ?? new Uint8Array();
    const gzipped = gzipSync(code, { level: 9 }).length;
    console.info(`@modhost/core: ${code.length} bytes minified, ${gzipped} bytes minified + gzipped`);
    expect(gzipped).toBeGreaterThan(1000);
    expect(gzipped).toBeLessThanOrEqual(pkg['size-limit']['gzip-bytes']);
  });
});
