import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.js';

// `shims` gives the CJS build an `import.meta.url`, which finds the guest runtime in `runtime/`.
// `./internal` carries the plumbing modhost's own packages share (no semver promise).
export default defineConfig({ ...packageBuild, entry: ['src/index.ts', 'src/internal.ts'], shims: true });
