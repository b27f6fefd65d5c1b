import { defineConfig } from 'vitest/config';
import { projects } from './vitest.workspace.js';

export default defineConfig({
  test: {
    projects,
    // Property tests explore many cases; none asserts a duration.
    testTimeout: 60_000,
  },
});
