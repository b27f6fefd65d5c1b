import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isModhostError } from '@modhost/core';
import { afterEach, describe, expect, it } from 'vitest';
import { setup } from '../test/helpers.js';
import { GUEST_PATH } from './guest-channel.js';
import { type IsolatedModule, loadIsolatedModule } from './isolated-module.js';
import { nodePermissionFlags, permissionFlag } from './node-permissions.js';
import { parsePermission } from './permission.js';
import type { SupervisorEvent } from './supervisor.js';

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

  it('runs the same module as the worker tier, ctx calls over its channel', async () => {
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

  async function hostile(onEvent: (e: SupervisorEvent) => void) {
    const s = setup();
    const iso = await loadIsolatedModule({ entry: `${dir('hostile')}/index.mjs`, isolation: 'process', sandbox: s.sandbox, clock: s.clock, onEvent });
    loaded.push(iso);
    const { ctx } = s.sandbox.contextFor(s.input('hostile'), iso.definition);
    const api = (await iso.definition.activate?.(ctx)) as Record<string, (...a: unknown[]) => Promise<unknown>>;
    return { ...s, iso, api };
  }
  /** Collects supervisor events and lets a test wait for the next one of a type (no sleeping). */
  function events() {
    const seen: SupervisorEvent[] = [];
    const waiters: { type: string; done: (e: SupervisorEvent) => void }[] = [];
    return {
      on(e: SupervisorEvent) {
        seen.push(e);
        for (const w of waiters.filter((x) => x.type === e.type)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.done(e);
        }
      },
      next: (type: SupervisorEvent['type']) => new Promise<SupervisorEvent>((done) => waiters.push({ type, done })),
    };
  }

  it('a process guest gets a 64 MB heap by default: allocating past it is a heap crash, the host carries on', async () => {
    const ev = events();
    const { api, audit, iso } = await hostile(ev.on);
    expect(await api.heapLimitMb?.()).toBeLessThan(128);
    const crash = ev.next('crash');
    const r = await api.hoard?.(256).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    expect(isModhostError((r as { error?: unknown }).error, 'MODULE_CRASHED')).toBe(true);
    expect(await crash).toMatchObject({ kind: 'heap', willRestart: true });
    expect(iso.status()?.lastCrash?.kind).toBe('heap');
    expect(audit.query({ kind: 'crash' })).toMatchObject([{ permission: 'quota:heap' }]);
  });

  it('a caller-set heap limit is kept', async () => {
    const { sandbox, input, clock } = setup();
    const iso = await loadIsolatedModule({
      entry: `${dir('hostile')}/index.mjs`,
      isolation: 'process',
      sandbox,
      clock,
      limits: { maxOldGenerationSizeMb: 200 },
    });
    loaded.push(iso);
    const api = (await iso.definition.activate?.(sandbox.contextFor(input('hostile'), iso.definition).ctx)) as Record<string, () => Promise<number>>;
    expect(await api.heapLimitMb?.()).toBeGreaterThan(200);
  });

  it('null, a bad log level, or bytes that are no message at all: each a protocol crash, audited and restarted; the host survives', async () => {
    for (const [op, detail] of [
      ['postNull', 'sent a message that is not a modhost guest message: expected an object with "t", got null'],
      ['badLog', 'sent a message that is not a modhost guest message: "level" must be one of debug, info, warn, error, got "evil"'],
      ['garbage', 'sent bytes the host could not deserialize'],
    ] as const) {
      const ev = events();
      const { api, audit, clock, iso } = await hostile(ev.on);
      const crash = ev.next('crash');
      const r = await (api[op] as () => Promise<unknown>)().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isModhostError(r, 'MODULE_CRASHED'), op).toBe(true);
      expect(await crash, op).toMatchObject({ kind: 'protocol', detail: expect.stringContaining(detail), willRestart: true });
      expect(audit.query({ kind: 'crash' })[0]?.detail, op).toMatch(/^protocol: /);
      const running = ev.next('running');
      clock.advance(100);
      await running;
      expect(await api.ok?.(), op).toBe(1);
      await iso.stop();
    }
  });

  it('module code that posts null while it loads fails the load, not the host', async () => {
    const error = await loadIsolatedModule({ entry: `${dir('hostile-load')}/index.mjs`, isolation: 'process' }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(isModhostError(error, 'MANIFEST_INVALID')).toBe(true);
    expect(error?.message).toMatch(/not a modhost guest message: expected an object with "t", got null/);
  });
});
