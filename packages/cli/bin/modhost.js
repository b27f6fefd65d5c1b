#!/usr/bin/env node
// The `modhost` command. A committed launcher rather than dist/bin.js itself: npm links a package's bin when it
// installs the package, and in a fresh clone dist/ does not exist yet at that moment, so no link would be made.
import { run } from '../dist/index.js';

process.exitCode = await run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  cwd: process.cwd(),
}).catch((error) => {
  process.stderr.write(`modhost: ${error instanceof Error ? error.message : String(error)}\n`);
  return 2;
});
