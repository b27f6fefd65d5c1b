#!/usr/bin/env node
// `npx modhost …` in an app that installed modhost: the CLI ships as @modhost/cli, a dependency of this package.
import { run } from '@modhost/cli';

process.exitCode = await run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  cwd: process.cwd(),
}).catch((error) => {
  process.stderr.write(`modhost: ${error instanceof Error ? error.message : String(error)}\n`);
  return 2;
});
