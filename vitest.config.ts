import { defineConfig } from 'vitest/config';
import type { Reporter, TestModule } from 'vitest/node';
import { projects } from './vitest.workspace.js';

/** Ends the run with the plain `N passed, N failed, N skipped` line that CI logs are read for. */
const summaryLine: Reporter = {
  onTestRunEnd(testModules: readonly TestModule[]) {
    const count = { passed: 0, failed: 0, skipped: 0 };
    for (const m of testModules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') count.passed++;
        else if (state === 'failed') count.failed++;
        else count.skipped++;
      }
    }
    process.stdout.write(`\n${count.passed} passed, ${count.failed} failed, ${count.skipped} skipped\n`);
  },
};

export default defineConfig({
  test: {
    projects,
    reporters: ['default', summaryLine],
    // Property tests explore many cases; none asserts a duration.
    testTimeout: 60_000,
  },
});
