import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.js';

// The `modhost` command is bin/modhost.js, a committed launcher over this build's `run`.
export default defineConfig(packageBuild);
