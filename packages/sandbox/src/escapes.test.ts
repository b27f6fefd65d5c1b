import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActivator } from '@modhost/activation';
import { createRegistry, defineModule, isModhostError, type ModuleContext, memoryStorage } from '@modhost/core';
import { resolve } from '@modhost/resolver';
import { createFakeClock, silentLogger } from '@modhost/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { setup } from '../test/helpers.js';
import type { SandboxedContext } from './capability-context.js';
import { createSandbox } from './sandbox.js';

/** Every object and function reachable from `root` through properties, getters' results and prototypes. */
function reachable(root: unknown): Set<unknown> {
  const seen = new Set<unknown>();
  const stack = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) continue;
    seen.add(v);
    stack.push(Object.getPrototypeOf(v));
    for (const key of Reflect.ownKeys(v as object)) {
      const d = Object.getOwnPropertyDescriptor(v, key);
      if (d && 'value' in d) stack.push(d.value);
      else if (d?.get) {
        try {
          stack.push(Reflect.get(v as object, key));
        } catch {}
      }
    }
  }
  return seen;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'modhost-escape-'));
  dirs.push(d);
  return d;
};

describe('escape attempts (tier 1, in process)', () => {
  it('ctx constructor chains lead nowhere: no prototypes on ctx objects, no host object reachable', () => {
    const secretAdapter = memoryStorage();
    const serviceImpl = { db: { password: 'hunter2' }, list: () => [] as string[] };
    const { sandbox, input } = setup(
      { grant: { notes: ['storage:module', 'tasks:read'] } },
      { services: { tasks: () => ({ list: { permission: 'tasks:read', call: () => serviceImpl.list() } }) } },
    );
    const { ctx } = sandbox.contextFor(input('notes'), defineModule({ name: 'notes', version: '1.0.0', permissions: ['storage:module', 'tasks:read'] }));
    const c = ctx as unknown as Record<string, Record<string, unknown>>;
    expect(c.constructor).toBeUndefined();
    expect(Object.getPrototypeOf(ctx)).toBeNull();
    for (const key of ['module', 'logger', 'storage', 'deps', 'services'] as const) {
      expect(Object.getPrototypeOf(c[key]), key).toBeNull();
      expect(c[key]?.constructor, key).toBeUndefined();
      expect(Object.isFrozen(c[key]), key).toBe(true);
    }
    // `ctx.constructor.constructor('return process')()` is the classic escape; it has nothing to start from.
    expect(() => (c.constructor as unknown as { constructor: (s: string) => () => unknown }).constructor('return process')()).toThrow(TypeError);
    const all = reachable(ctx);
    expect(all.has(secretAdapter)).toBe(false);
    expect(all.has(serviceImpl)).toBe(false);
    expect(all.has(serviceImpl.db)).toBe(false);
    expect(all.has(sandbox)).toBe(false);
    expect(all.has(sandbox.grants)).toBe(false);
  });

  it('prototype pollution through config is refused, and config handed over is a frozen copy', async () => {
    const registry = createRegistry({ storage: memoryStorage() });
    const { z } = await import('zod');
    await registry.register(
      defineModule({ name: 'notes', version: '1.0.0', config: { schema: z.object({ title: z.string() }).passthrough(), defaults: { title: 'x' } } }),
    );
    const hostile = JSON.parse('{"title":"t","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}');
    await expect(registry.configure('notes', hostile)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const { sandbox, input } = setup();
    const config = { title: 't', nested: { list: [1, 2] } };
    const { ctx } = sandbox.contextFor(input('notes', { config }), defineModule({ name: 'notes', version: '1.0.0' }));
    const seen = ctx.config as typeof config;
    expect(() => {
      (seen.nested.list as number[]).push(3);
    }).toThrow(TypeError);
    expect(seen).not.toBe(config);
    expect(config.nested.list).toEqual([1, 2]);
  });

  it("one module cannot read another module's storage, whatever key it uses", async () => {
    const { sandbox, input, adapter } = setup({ grant: { '*': ['storage:module'] } });
    const def = (name: string) => defineModule({ name, version: '1.0.0', permissions: ['storage:module'] });
    const a = sandbox.contextFor(input('billing'), def('billing')).ctx;
    const b = sandbox.contextFor(input('notes'), def('notes')).ctx;
    await a.storage.set('card', { last4: '4242' });
    for (const key of ['card', '../billing/card', '..:billing:card', 'modhost:data:billing:card', '%3Abilling%3Acard', ':billing:card', '\u0000card']) {
      expect(await b.storage.get(key), key).toBeUndefined();
    }
    expect(await b.storage.keys('')).toEqual([]);
    expect(await b.storage.keys('../')).toEqual([]);
    await b.storage.set('../billing:card', 'overwritten?');
    expect(await a.storage.get('card')).toEqual({ last4: '4242' });
    expect(await adapter.keys('modhost:data:billing:')).toEqual(['modhost:data:billing:card']);
  });

  it('a capability kept after deactivate fails: storage, services, deps, logger', async () => {
    const registry = createRegistry({ storage: memoryStorage() });
    const clock = createFakeClock();
    const sandbox = createSandbox({
      clock,
      policy: { grant: { '*': ['storage:module', 'tasks:read'] } },
      services: { tasks: () => ({ list: { permission: 'tasks:read', call: () => ['t'] } }) },
    });
    let kept: SandboxedContext | undefined;
    const defs = [
      defineModule({ name: 'tasks', version: '1.0.0', activate: () => ({ count: () => 3 }) }),
      defineModule({
        name: 'sneaky',
        version: '1.0.0',
        dependencies: { tasks: '^1.0.0' },
        permissions: ['storage:module', 'tasks:read'],
        activate: (ctx: ModuleContext) => {
          kept = ctx as SandboxedContext;
        },
      }),
    ];
    for (const d of defs) await registry.register(d);
    const activator = createActivator({
      registry,
      clock,
      contextFactory: sandbox.contextFor,
      logger: silentLogger,
    });
    const result = resolve({ roots: { sneaky: '*' }, catalog: defs });
    if (!result.ok) throw new Error(result.error.message);
    await activator.activate(result.plan);
    const tasks = kept?.services.tasks as { list: () => string[] };
    const dep = kept?.deps.tasks as { count: () => number };
    expect(tasks.list()).toEqual(['t']);
    expect(dep.count()).toBe(3);
    await kept?.storage.set('k', 1);
    await activator.deactivate(['sneaky']);
    for (const attempt of [() => tasks.list(), () => dep.count(), () => kept?.storage.get('k'), () => kept?.logger.info('still here')]) {
      let error: unknown;
      try {
        await attempt();
      } catch (e) {
        error = e;
      }
      expect(isModhostError(error, 'PERMISSION_DENIED')).toBe(true);
      expect((error as Error).message).toMatch(/after the module stopped/);
    }
  });

  it('fs scopes: ../ and symlink escapes are denied, reads inside are allowed', async () => {
    const base = tempDir();
    const root = join(base, 'module');
    mkdirSync(join(root, 'data', 'sub'), { recursive: true });
    mkdirSync(join(base, 'secret'));
    writeFileSync(join(root, 'data', 'ok.txt'), 'fine');
    writeFileSync(join(root, 'data', 'sub', 'deep.txt'), 'deeper');
    writeFileSync(join(root, 'database'), 'sibling');
    writeFileSync(join(base, 'secret', 'key'), 'TOP SECRET');
    symlinkSync(join(base, 'secret'), join(root, 'data', 'link-out'));
    symlinkSync(join(base, 'secret', 'key'), join(root, 'data', 'key-link'));
    const { sandbox, input, audit } = setup({ grant: { files: ['fs:read:./data', 'fs:write:./data'] } });
    const { ctx } = sandbox.contextFor(
      input('files', { root }),
      defineModule({ name: 'files', version: '1.0.0', permissions: ['fs:read:./data', 'fs:write:./data'] }),
    );
    const fs = ctx.fs;
    if (!fs) throw new Error('fs capability missing');
    expect(await fs.readFile('data/ok.txt', 'utf8')).toBe('fine');
    expect(await fs.readFile('./data/sub/../sub/deep.txt', 'utf8')).toBe('deeper');
    for (const path of [
      '../secret/key',
      'data/../../secret/key',
      'data/link-out/key',
      'data/key-link',
      'database',
      join(base, 'secret', 'key'),
      '/etc/passwd',
    ]) {
      const e = await fs.readFile(path, 'utf8').then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isModhostError(e, 'PERMISSION_DENIED'), path).toBe(true);
    }
    await fs.writeFile('data/new.txt', 'hello');
    expect(await fs.readFile('data/new.txt', 'utf8')).toBe('hello');
    await expect(fs.writeFile('data/link-out/planted', 'x')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await expect(fs.writeFile('data/key-link', 'x')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(audit.query({ kind: 'denial', module: 'files' })).toHaveLength(9);
  });

  it('fs writes never follow a dangling link out of the scope, and land inside through one that stays in', async () => {
    const base = tempDir();
    const root = join(base, 'module');
    mkdirSync(join(root, 'data'), { recursive: true });
    mkdirSync(join(base, 'elsewhere'));
    symlinkSync(join(base, 'elsewhere', 'x'), join(root, 'data', 'out.txt'));
    symlinkSync(join(base, 'nowhere', 'x'), join(root, 'data', 'gone.txt'));
    symlinkSync('inside.txt', join(root, 'data', 'alias.txt'));
    const { sandbox, input } = setup({ grant: { files: ['fs:write:./data'] } });
    const { ctx } = sandbox.contextFor(input('files', { root }), defineModule({ name: 'files', version: '1.0.0', permissions: ['fs:write:./data'] }));
    await expect(ctx.fs?.writeFile('data/out.txt', 'planted')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await expect(ctx.fs?.writeFile('data/gone.txt', 'planted')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(existsSync(join(base, 'elsewhere', 'x'))).toBe(false);
    expect(existsSync(join(base, 'nowhere'))).toBe(false);
    await ctx.fs?.writeFile('data/alias.txt', 'kept inside');
    expect(readFileSync(join(root, 'data', 'inside.txt'), 'utf8')).toBe('kept inside');
  });

  it('fs never reads or writes a file with another hard link (it may be a file outside the folder)', async () => {
    const base = tempDir();
    const root = join(base, 'module');
    mkdirSync(join(root, 'data'), { recursive: true });
    writeFileSync(join(base, 'victim'), 'original');
    linkSync(join(base, 'victim'), join(root, 'data', 'shared.txt'));
    writeFileSync(join(root, 'data', 'own.txt'), 'mine');
    const permissions = ['fs:read:./data', 'fs:write:./data'];
    const { sandbox, input } = setup({ grant: { files: permissions } });
    const { ctx } = sandbox.contextFor(input('files', { root }), defineModule({ name: 'files', version: '1.0.0', permissions }));
    await expect(ctx.fs?.writeFile('data/shared.txt', 'PWNED')).rejects.toMatchObject({ code: 'LINK_OUTSIDE_MODULE' });
    await expect(ctx.fs?.readFile('data/shared.txt', 'utf8')).rejects.toMatchObject({ code: 'LINK_OUTSIDE_MODULE' });
    expect(readFileSync(join(base, 'victim'), 'utf8')).toBe('original');
    await ctx.fs?.writeFile('data/own.txt', 'still mine');
    expect(await ctx.fs?.readFile('data/own.txt', 'utf8')).toBe('still mine');
  });

  it('a scope that is a link out of the module folder matches nothing (LINK_OUTSIDE_MODULE), for reads and writes', async () => {
    const base = tempDir();
    const root = join(base, 'module');
    mkdirSync(root);
    mkdirSync(join(base, 'outside'));
    writeFileSync(join(base, 'outside', 'secret'), 'TOP SECRET');
    symlinkSync(join(base, 'outside'), join(root, 'data'));
    const permissions = ['fs:read:./data', 'fs:write:./data'];
    const { sandbox, input, audit } = setup({ grant: { files: permissions } });
    const { ctx } = sandbox.contextFor(input('files', { root }), defineModule({ name: 'files', version: '1.0.0', permissions }));
    const read = await ctx.fs?.readFile('data/secret', 'utf8').catch((e: unknown) => e);
    expect(isModhostError(read, 'LINK_OUTSIDE_MODULE')).toBe(true);
    expect(read).toMatchObject({ details: { module: 'files', path: './data', target: realpathSync(join(base, 'outside')) } });
    expect((read as Error).message).toMatch(/leads outside the module's folder/);
    await expect(ctx.fs?.writeFile('data/planted', 'x')).rejects.toMatchObject({ code: 'LINK_OUTSIDE_MODULE' });
    expect(existsSync(join(base, 'outside', 'planted'))).toBe(false);
    await expect(ctx.fs?.readdir('data')).rejects.toMatchObject({ code: 'LINK_OUTSIDE_MODULE' });
    expect(audit.query({ kind: 'denial', module: 'files' })).toHaveLength(3);
  });

  it('a tampered module file is refused before loading (INTEGRITY_MISMATCH naming the file)', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'index.mjs'), 'export default {}');
    writeFileSync(join(root, 'modhost.json'), '{"name":"notes","version":"1.0.0"}');
    const { sandbox, audit } = setup();
    await sandbox.admit({ name: 'notes', version: '1.0.0', root });
    await sandbox.verify({ name: 'notes', version: '1.0.0', root });
    writeFileSync(join(root, 'index.mjs'), 'export default { activate() { process.exit(1) } }');
    const e = await sandbox.verify({ name: 'notes', version: '1.0.0', root }).catch((err: unknown) => err);
    expect(isModhostError(e, 'INTEGRITY_MISMATCH')).toBe(true);
    expect((e as Error).message).toContain('changed: index.mjs');
    expect(audit.query({ kind: 'integrity', module: 'notes' }).map((r) => r.decision)).toEqual(['allow', 'deny']);
  });
});
