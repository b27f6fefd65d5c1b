import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const src = (file: string) => fileURLToPath(new URL(`./${file}`, import.meta.url));

// Runs in a fresh node (with tsx, so the sources load as they are): a resolve hook, registered after tsx's and so
// asked first, records every specifier resolved and where it went. The script imports each target in turn and
// prints which frameworks each one brought in, from the ESM resolutions and from the CommonJS cache (Express and
// Fastify are CommonJS).
const probe = `
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const log = join(mkdtempSync(join(tmpdir(), 'modhost-probe-')), 'resolved.log');
appendFileSync(log, '');
const hook = "import { appendFileSync } from 'node:fs'; let file;" +
  "export function initialize(data) { file = data.file; }" +
  "export async function resolve(specifier, context, next) { const r = await next(specifier, context); appendFileSync(file, JSON.stringify([specifier, r.url]) + '\\\\n'); return r; }";
register('data:text/javascript,' + encodeURIComponent(hook), { data: { file: log } });
const FRAMEWORK = /(?:^|\\/node_modules\\/)((?:@hono\\/[^/]+)|express|fastify|hono|prom-client)(?:\\/|$)/;
const frameworksSoFar = () => {
  const esm = readFileSync(log, 'utf8').split('\\n').filter(Boolean).map((l) => JSON.parse(l)).flatMap(([s, url]) => [s, url]);
  const cjs = Object.keys(createRequire(import.meta.url).cache);
  return new Set([...esm, ...cjs].map((s) => FRAMEWORK.exec(s.replace(/^file:\\/\\//, ''))?.[1]).filter(Boolean));
};
const report = {};
let before = new Set();
for (const target of JSON.parse(process.env.PROBE_TARGETS)) {
  await import(target);
  const now = frameworksSoFar();
  report[target] = [...now].filter((f) => !before.has(f)).sort();
  before = now;
}
console.log(JSON.stringify(report));
`;

async function frameworksLoadedBy(targets: readonly string[]): Promise<Record<string, string[]>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], {
    cwd: root,
    env: { ...process.env, PROBE_TARGETS: JSON.stringify(targets) },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
}

describe('importing an adapter loads no framework it does not serve', () => {
  it('express, fastify, hono, fetch, node and the main entry load no framework at all (they import frameworks as types only)', async () => {
    const adapters = ['express.ts', 'fastify.ts', 'hono.ts', 'fetch.ts', 'node.ts', 'index.ts'].map(src);
    // The last two prove the probe sees a framework when one does load: a CommonJS one, then an ESM one.
    const loaded = await frameworksLoadedBy([...adapters, 'fastify', 'hono']);
    expect(loaded).toEqual({ ...Object.fromEntries(adapters.map((a) => [a, []])), fastify: ['fastify'], hono: ['hono'] });
  }, 30_000);

  it('prom-client (an optional peer) is loaded by @modhost/http/metrics only', async () => {
    const others = ['index.ts', 'node.ts', 'express.ts', 'management.ts', 'health.ts'].map(src);
    const metrics = src('metrics.ts');
    const loaded = await frameworksLoadedBy([...others, metrics]);
    expect(loaded).toEqual({ ...Object.fromEntries(others.map((a) => [a, []])), [metrics]: ['prom-client'] });
  }, 30_000);
});
