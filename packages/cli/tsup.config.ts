import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.js';

// The library builds like every package; the bin is ESM only (it uses top-level await) and needs no types.
export default defineConfig([
  packageBuild,
  { entry: ['src/bin.ts'], format: ['esm'], target: 'node20', sourcemap: true, clean: false, dts: false, tsconfig: 'tsconfig.build.json' },
]);
