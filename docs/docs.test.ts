import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { ErrorCode } from '@modhost/core';
import { describe, expect, it, vi } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');
// Blocks that register vitest suites are test files, checked by the real tests; the rest must run.
const runnableBlocks = (markdown: string) =>
  [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string).filter((c) => !/describe(Storage|Http)Adapter\(/.test(c));

describe('docs/errors.md', () => {
  it('has exactly one section per error code, in the catalogue', () => {
    const sections = [...read('docs/errors.md').matchAll(/^## ([A-Z_]+)$/gm)].map((m) => m[1]);
    expect(sections.sort()).toEqual(Object.values(ErrorCode).sort());
  });
});

describe('docs/resolving.md: every example prints exactly the text under it', () => {
  const doc = read('docs/resolving.md');
  const pairs = [...doc.matchAll(/```ts\n([\s\S]*?)```\n\n```text\n([\s\S]*?)```/g)];
  const cache = `${root}docs/.readme-cache/`;
  mkdirSync(cache, { recursive: true });
  it('has examples', () => expect(pairs.length).toBeGreaterThanOrEqual(8));
  for (const [n, pair] of pairs.entries()) {
    it(`example ${n + 1}`, async () => {
      const file = `${cache}resolving.${n}.ts`;
      writeFileSync(file, `${pair[1]}\nexport {};\n`);
      const printed: string[] = [];
      const spy = vi
        .spyOn(console, 'log')
        .mockImplementation((...args) => void printed.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { breakLength: 100 }))).join(' ')));
      try {
        await import(/* @vite-ignore */ file);
      } finally {
        spy.mockRestore();
      }
      expect(printed.join('\n')).toBe((pair[2] as string).replace(/\n$/, ''));
    });
  }
});

describe('README examples run', () => {
  const packages = readdirSync(`${root}packages`);
  const cache = `${root}docs/.readme-cache/`;
  mkdirSync(cache, { recursive: true });

  for (const readme of [
    'README.md',
    'docs/getting-started.md',
    'docs/hosting.md',
    'docs/migrations.md',
    'docs/security.md',
    'docs/fleet.md',
    'docs/http.md',
    'docs/management-api.md',
    'docs/operations.md',
    'docs/development.md',
    'docs/admin-console.md',
    ...packages.map((p) => `packages/${p}/README.md`),
  ]) {
    it(`${readme}: its TypeScript examples run and print what they say`, async () => {
      const blocks = runnableBlocks(read(readme));
      expect(blocks.length, `${readme} has no runnable \`\`\`ts example`).toBeGreaterThan(0);
      for (const [n, code] of blocks.entries()) {
        const file = `${cache}${readme.replaceAll('/', '_')}.${n}.ts`;
        writeFileSync(file, `${code}\nexport {};\n`);
        const printed: string[] = [];
        const spy = vi
          .spyOn(console, 'log')
          .mockImplementation((...args) => void printed.push(args.map((a) => inspect(a, { breakLength: Number.POSITIVE_INFINITY })).join(' ')));
        try {
          await import(/* @vite-ignore */ file);
        } finally {
          spy.mockRestore();
        }
        // `console.log(x) // value` promises what is printed; check each promise in order.
        const promised = [...code.matchAll(/console\.log\(.*\);? \/\/ (.+)$/gm)].map((m) => m[1] as string).filter((p) => !p.includes('…'));
        expect(printed.length).toBeGreaterThan(0);
        for (const expected of promised) expect(printed, `${readme} block ${n}`).toContain(expected);
      }
    });
  }
});

describe('docs/management-api.md: its curl examples answer the statuses they promise, on the example app', () => {
  it('runs every curl line', async () => {
    const { execFile } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { prepareModulesDir, startApp } = await import('../examples/basic-host/src/app.js');
    const lines = [...read('docs/management-api.md').matchAll(/```sh\n([\s\S]*?)```/g)]
      .flatMap((m) => (m[1] as string).split('\n'))
      .filter((l) => l.startsWith('curl '));
    expect(lines.length).toBeGreaterThan(8);
    const work = mkdtempSync(join(tmpdir(), 'modhost-docs-mgmt-'));
    const app = await startApp({ modulesDir: prepareModulesDir(join(work, 'modules')) });
    try {
      for (const line of lines) {
        const [command, promised] = line.split(/\s+#\s+/) as [string, string];
        const cmd = `${command.replaceAll('http://127.0.0.1:3000', app.url).replace(/^curl -s/, "curl -s -o /dev/null -w '%{http_code}'")}`;
        const status = await new Promise<string>((resolve, reject) => execFile('sh', ['-c', cmd], (e, out) => (e ? reject(e) : resolve(out.trim()))));
        expect(status, line).toBe(promised.trim());
      }
    } finally {
      await app.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
