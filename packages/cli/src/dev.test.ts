// `modhost dev` as a process: it serves a modules folder and picks up an edit. Real time (it is another process): every
// wait is bounded, and nothing asserts how long anything took.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const cli = pathToFileURL(fileURLToPath(new URL('./cli.ts', import.meta.url))).href;
const tsconfig = fileURLToPath(new URL('../../../tsconfig.json', import.meta.url));
// The command as bin/modhost.js runs it, over the sources (bin/ runs the build).
const main = `import { run } from ${JSON.stringify(cli)};
process.exitCode = await run(JSON.parse(process.env.MODHOST_ARGS), {
  stdout: (t) => process.stdout.write(t + '\\n'),
  stderr: (t) => process.stderr.write(t + '\\n'),
  cwd: process.cwd(),
});`;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function writeGreeter(dir: string, greeting: string) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'modhost.json'),
    JSON.stringify({ name: 'greeter', version: '0.1.0', permissions: ['routes:mount'], routes: [{ method: 'GET', path: '/hello' }] }),
  );
  writeFileSync(
    join(dir, 'index.mjs'),
    `export default { routes: [{ method: 'GET', path: '/hello', handler: () => ({ body: { greeting: '${greeting}' } }) }], health: () => true };\n`,
  );
}

/** Starts `modhost dev` with `args`; `until(re)` waits (bounded) for a line of its output matching `re`. */
function modhostDev(args: string[]) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', main], {
    env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig, MODHOST_ARGS: JSON.stringify(['dev', ...args]) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiting = new Set<() => void>();
  const seen = () => {
    for (const w of [...waiting]) w();
  };
  child.stdout?.on('data', (d) => {
    out += d;
    seen();
  });
  child.stderr?.on('data', (d) => {
    out += d;
    seen();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  const until = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`no line matching ${re} within 30 s; output:\n${out}`)), 30_000);
      const check = () => {
        const m = re.exec(out);
        if (m) done(undefined, m);
      };
      const done = (error?: Error, m?: RegExpExecArray) => {
        clearTimeout(timer);
        waiting.delete(check);
        if (error) reject(error);
        else resolve(m as RegExpExecArray);
      };
      waiting.add(check);
      void exited.then(() => done(new Error(`modhost dev exited; output:\n${out}`)));
      check();
    });
  return { child, until, exited, output: () => out };
}

describe('modhost dev', () => {
  it('serves a modules folder over HTTP and reloads a module when its file is saved', async () => {
    const root = mkdtempSync(join(tmpdir(), 'modhost-dev-cli-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    writeGreeter(join(root, 'greeter'), 'hello');

    const dev = modhostDev([root, '--port', '0']);
    const port = Number((await dev.until(/on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    expect(dev.output()).toContain('✓ greeter@0.1.0 active');
    expect(await (await fetch(`http://127.0.0.1:${port}/greeter/hello`)).json()).toEqual({ greeting: 'hello' });

    writeGreeter(join(root, 'greeter'), 'hello again');
    await dev.until(/↻ greeter@0\.1\.0 reloaded in \d+ ms/);
    expect(await (await fetch(`http://127.0.0.1:${port}/greeter/hello`)).json()).toEqual({ greeting: 'hello again' });

    dev.child.kill('SIGTERM');
    expect(await dev.exited).toBe(0);
    expect(dev.output()).toContain('modhost dev: stopped');
  });

  it('says what is wrong with its command line (exit 2)', async () => {
    const noDir = modhostDev([]);
    expect(await noDir.exited).toBe(2);
    expect(noDir.output()).toContain('name the modules folder');
    const forget = modhostDev(['--forget']);
    expect(await forget.exited).toBe(2);
    expect(forget.output()).toContain('--forget needs --storage');
  });
});
