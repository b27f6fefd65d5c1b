import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isModhostError } from '@modhost/core';
import { afterEach, describe, expect, it } from 'vitest';
import { GUEST_PATH } from './guest-channel.js';
import { type IsolatedModule, loadIsolatedModule } from './isolated-module.js';
import { nodePermissionFlags, permissionFlag } from './node-permissions.js';
import { parsePermission } from './permission.js';
import { setup } from './test-helpers.js';

const dir = (name: string) => realpathSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)));
const loaded: IsolatedModule[] = [];
afterEach(async () => {
  for (const m of loaded.splice(0)) await m.stop();
});

describe('process tier', () => {
  it('builds Node permission flags from the grants, one flag per path', () => {
    const root = dir('reader');
    const flags = nodePermissionFlags({ root, granted: ['fs:read:./data', 'fs:write:./data', 'tasks:read'].map(parsePermission) });
    expect(flags).toEqual([
      permissionFlag(),
      '--no-warnings',
      `--allow-fs-read=${dirname(GUEST_PATH)}`,
      `--allow-fs-read=${root}`,
      `--allow-fs-read=${root}/data`,
      `--allow-fs-write=${root}/data`,
    ]);
    expect(flags).not.toContain('--allow-child-process');
    expect(nodePermissionFlags({ root, granted: ['process:spawn', 'worker:spawn'].map(parsePermission) })).toEqual(
      expect.arrayContaining(['--allow-child-process', '--allow-worker']),
    );
  });

  it('a read outside the grant fails with ERR_ACCESS_DENIED from the OS-level model, and the host records it', async () => {
    const root = dir('reader');
    const { sandbox, input, audit, clock } = setup({ grant: { reader: ['fs:read:./data'] } });
    const iso = await loadIsolatedModule({ entry: `${root}/index.mjs`, isolation: 'process', sandbox, clock });
    loaded.push(iso);
    const { ctx } = sandbox.contextFor(input('reader', { root }), iso.definition);
    const api = (await iso.definition.activate?.(ctx)) as { read: (p: string) => Promise<string> };
    expect(await api.read(`${root}/data/ok.txt`)).toBe('inside the grant\n');
    for (const outside of ['/etc/hostname', `${root}/../crashy/index.mjs`, `${root}/data/../../notes/index.mjs`]) {
      const error = await api.read(outside).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isModhostError(error, 'PERMISSION_DENIED'), outside).toBe(true);
      expect((error as { details: Record<string, unknown> }).details).toMatchObject({ nodeCode: 'ERR_ACCESS_DENIED', nodePermission: 'FileSystemRead' });
    }
    expect(audit.query({ kind: 'denial', module: 'reader' })).toHaveLength(3);
    expect(audit.query({ kind: 'denial', module: 'reader' })[0]).toMatchObject({ permission: 'fs:read:/etc/hostname', decision: 'deny' });
    expect(iso.status()?.state).toBe('running');
  });

  it('runs the same module as the worker tier, ctx calls over IPC', async () => {
    const { sandbox, input, clock } = setup({ grant: { notes: ['storage:module', 'routes:mount'] } });
    const iso = await loadIsolatedModule({ entry: `${dir('notes')}/index.mjs`, isolation: 'process', sandbox, clock });
    loaded.push(iso);
    const { ctx } = sandbox.contextFor(input('notes', { config: { greeting: 'a process' } }), iso.definition);
    const api = (await iso.definition.activate?.(ctx)) as Record<string, (...a: unknown[]) => Promise<unknown>>;
    expect(await ctx.storage.get('welcome')).toBe('hello from a process');
    await api.add?.('n1', 'kept by the host');
    expect(await ctx.storage.get('n1')).toBe('kept by the host');
    expect(await iso.definition.health?.(ctx)).toBe(true);
  });

  it('a crash in the child is contained, audited and restarted like a worker crash', async () => {
    const { sandbox, input, audit, clock } = setup({ grant: { crashy: ['storage:module'] } });
    const events: string[] = [];
    let crashed: () => void = () => {};
    let running: () => void = () => {};
    const iso = await loadIsolatedModule({
      entry: `${dir('crashy')}/index.mjs`,
      isolation: 'process',
      sandbox,
      clock,
      restart: { backoffMs: 50 },
      onEvent: (e) => {
        events.push(e.type === 'crash' ? `crash:${e.kind}` : e.type);
        if (e.type === 'crash') crashed();
        if (e.type === 'running') running();
      },
    });
    loaded.push(iso);
    const { ctx } = sandbox.contextFor(input('crashy'), iso.definition);
    const api = (await iso.definition.activate?.(ctx)) as Record<string, () => Promise<unknown>>;
    const crash = new Promise<void>((r) => {
      crashed = r;
    });
    const error = await api.exit?.().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isModhostError(error, 'MODULE_CRASHED')).toBe(true);
    await crash;
    expect(audit.query({ kind: 'crash' })[0]?.detail).toMatch(/^exit: exited with code 3/);
    const restarted = new Promise<void>((r) => {
      running = r;
    });
    clock.advance(50);
    await restarted;
    expect(await api.ok?.()).toBe(1);
    expect(events).toEqual(['running', 'crash:exit', 'running']);
  });
});
