import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.js';

// `./internal` carries the plumbing modhost's own packages share (no semver promise).
export default defineConfig({ ...packageBuild, entry: ['src/index.ts', 'src/internal.ts'] });
