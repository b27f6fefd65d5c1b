import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.js';

// `./activation` carries the activation harness: it needs the optional peers @modhost/activation and
// @modhost/resolver, so it stays out of the main entry. `./http` (the HTTP adapter suite) needs the optional peers
// modhost and @modhost/http, for the same reason.
export default defineConfig({ ...packageBuild, entry: ['src/index.ts', 'src/activation.ts', 'src/http.ts'] });
