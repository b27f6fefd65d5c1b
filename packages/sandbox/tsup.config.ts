import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.js';

// `shims` gives the CJS build an `import.meta.url`, which finds the guest runtime in `runtime/`.
export default defineConfig({ ...packageBuild, shims: true });
