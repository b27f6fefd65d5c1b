import { fileURLToPath } from 'node:url';
import type { TestProjectInlineConfiguration } from 'vitest/config';

// Tests import sibling packages from source, so `npm test` needs no build before the tests run.
const alias = {
  // Subpaths first: an alias also matches what starts with it.
  '@modhost/core/internal': fileURLToPath(new URL('./packages/core/src/internal.ts', import.meta.url)),
  '@modhost/resolver/internal': fileURLToPath(new URL('./packages/resolver/src/internal.ts', import.meta.url)),
  '@modhost/sandbox/internal': fileURLToPath(new URL('./packages/sandbox/src/internal.ts', import.meta.url)),
  '@modhost/testkit/activation': fileURLToPath(new URL('./packages/testkit/src/activation.ts', import.meta.url)),
  '@modhost/http/node': fileURLToPath(new URL('./packages/http/src/node.ts', import.meta.url)),
  '@modhost/http/fetch': fileURLToPath(new URL('./packages/http/src/fetch.ts', import.meta.url)),
  '@modhost/http/express': fileURLToPath(new URL('./packages/http/src/express.ts', import.meta.url)),
  '@modhost/http/fastify': fileURLToPath(new URL('./packages/http/src/fastify.ts', import.meta.url)),
  '@modhost/http/management': fileURLToPath(new URL('./packages/http/src/management.ts', import.meta.url)),
  '@modhost/http/metrics': fileURLToPath(new URL('./packages/http/src/metrics.ts', import.meta.url)),
  '@modhost/http/health': fileURLToPath(new URL('./packages/http/src/health.ts', import.meta.url)),
  '@modhost/http/admin': fileURLToPath(new URL('./packages/http/src/admin.ts', import.meta.url)),
  '@modhost/http/hono': fileURLToPath(new URL('./packages/http/src/hono.ts', import.meta.url)),
  '@modhost/testkit/http': fileURLToPath(new URL('./packages/testkit/src/http.ts', import.meta.url)),
  '@modhost/core': fileURLToPath(new URL('./packages/core/src/index.ts', import.meta.url)),
  '@modhost/testkit': fileURLToPath(new URL('./packages/testkit/src/index.ts', import.meta.url)),
  '@modhost/resolver': fileURLToPath(new URL('./packages/resolver/src/index.ts', import.meta.url)),
  '@modhost/activation': fileURLToPath(new URL('./packages/activation/src/index.ts', import.meta.url)),
  '@modhost/sandbox': fileURLToPath(new URL('./packages/sandbox/src/index.ts', import.meta.url)),
  '@modhost/manifest': fileURLToPath(new URL('./packages/manifest/src/index.ts', import.meta.url)),
  '@modhost/http': fileURLToPath(new URL('./packages/http/src/index.ts', import.meta.url)),
  modhost: fileURLToPath(new URL('./packages/modhost/src/index.ts', import.meta.url)),
  '@modhost/cli': fileURLToPath(new URL('./packages/cli/src/index.ts', import.meta.url)),
  '@modhost/storage-postgres': fileURLToPath(new URL('./packages/storage-postgres/src/index.ts', import.meta.url)),
  '@modhost/opentelemetry': fileURLToPath(new URL('./packages/opentelemetry/src/index.ts', import.meta.url)),
};

const project = (name: string, root: string, globalSetup?: string): TestProjectInlineConfiguration => ({
  extends: true,
  resolve: { alias },
  test: { name, root, include: ['src/**/*.test.ts'], environment: 'node', ...(globalSetup ? { globalSetup } : {}) },
});

/** Every vitest project in the workspace. */
export const projects: TestProjectInlineConfiguration[] = [
  project('core', 'packages/core'),
  project('testkit', 'packages/testkit'),
  project('resolver', 'packages/resolver'),
  project('activation', 'packages/activation'),
  project('sandbox', 'packages/sandbox'),
  project('manifest', 'packages/manifest'),
  project('modhost', 'packages/modhost'),
  project('http', 'packages/http'),
  project('cli', 'packages/cli'),
  project('opentelemetry', 'packages/opentelemetry'),
  project('storage-postgres', 'packages/storage-postgres', fileURLToPath(new URL('./packages/storage-postgres/test/global-setup.ts', import.meta.url))),
  project('basic-host', 'examples/basic-host'),
  { extends: true, resolve: { alias }, test: { name: 'docs', root: '.', include: ['docs/*.test.ts'], environment: 'node' } },
];

export default projects;
