import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.js';

// One entry per adapter, so importing one never loads another (each framework is only a type import).
export default defineConfig({
  ...packageBuild,
  entry: [
    'src/index.ts',
    'src/node.ts',
    'src/fetch.ts',
    'src/express.ts',
    'src/fastify.ts',
    'src/hono.ts',
    'src/management.ts',
    'src/metrics.ts',
    'src/health.ts',
    'src/admin.ts',
  ],
});
