#!/usr/bin/env node
// `npx modhost …` in an app that installed modhost: the command ships as @modhost/cli, a dependency of this package.
await import('@modhost/cli/bin');
