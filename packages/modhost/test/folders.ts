import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequestListener } from '@modhost/http/node';
import { createFakeClock, silentLogger } from '@modhost/testkit';
import { createHost, type Host, type HostOptions } from '../src/host.js';

/**
 * A host over a fresh modules folder with a fake clock, recording every event in `seen`; `cleanups` gets what
 * the test's afterEach must undo (stop the host, remove the folder).
 */
export function testHost(cleanups: (() => unknown)[], overrides: { [K in keyof HostOptions]?: HostOptions[K] | undefined } = {}) {
  // An option given as undefined falls back to the host's own default.
  const extra = Object.fromEntries(Object.entries(overrides)) as Partial<HostOptions>;
  const folder = modulesFolder();
  const clock = createFakeClock({ now: 1_000 });
  const host = createHost({
    version: '1.0.0',
    modulesDir: folder.root,
    clock,
    logger: silentLogger,
    timeouts: { verify: 5_000 },
    policy: { grant: { '*': ['routes:mount', 'storage:module'] } },
    minimumIsolation: 'in-process',
    ...extra,
  });
  const seen: string[] = [];
  host.events.onAny((event, payload) => {
    seen.push(`${String(event)} ${JSON.stringify(payload)}`);
  });
  cleanups.push(
    () => folder.cleanup(),
    () => host.stop(),
  );
  return { folder, clock, host, seen };
}

/** Serves `host` over node:http on a free port; returns a JSON client. */
export async function serveHost(cleanups: (() => unknown)[], host: Host) {
  // Tests name the tenant in a header: development mode, which an app opts into.
  const server: Server = createServer(createRequestListener(host, { tenantFromHeader: 'x-tenant', onError: () => {} }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return async (path: string, init: RequestInit & { tenant?: string } = {}) => {
    const res = await fetch(`${base}${path}`, {
      ...init,
      headers: { 'content-type': 'application/json', ...(init.tenant ? { 'x-tenant': init.tenant } : {}) },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
}

/** A temporary modules folder for tests, and ways to write module folders into it. */
function modulesFolder() {
  const root = mkdtempSync(join(tmpdir(), 'modhost-modules-'));
  return {
    root,
    /** Writes (or overwrites) `<root>/<dir>` with a manifest and an entry. */
    write(dir: string, manifest: Record<string, unknown>, entry: string) {
      const path = join(root, dir);
      rmSync(path, { recursive: true, force: true });
      mkdirSync(path, { recursive: true });
      writeFileSync(join(path, 'modhost.json'), JSON.stringify(manifest, null, 2));
      writeFileSync(join(path, 'index.mjs'), entry);
      return path;
    },
    remove(dir: string) {
      rmSync(join(root, dir), { recursive: true, force: true });
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A tasks module whose GET /list answers with its version; `healthy: false` makes its health gate fail. */
export function tasksModule(version: string, options: { healthy?: boolean; isolation?: string } = {}) {
  return {
    manifest: {
      name: 'tasks',
      version,
      permissions: ['routes:mount', 'storage:module'],
      ...(options.isolation ? { isolation: options.isolation } : {}),
      config: { schema: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, default: 10 } } } },
      routes: [
        { method: 'GET', path: '/list' },
        { method: 'POST', path: '/add' },
      ],
    },
    entry: `export default {
  routes: [
    { method: 'GET', path: '/list', handler: async (req, ctx) => ({ body: { version: '${version}', tasks: (await ctx.storage.get('tasks')) ?? [] } }) },
    { method: 'POST', path: '/add', handler: async (req, ctx) => {
      const tasks = (await ctx.storage.get('tasks')) ?? [];
      tasks.push(String(req.body?.title ?? 'untitled'));
      await ctx.storage.set('tasks', tasks);
      return { status: 201, body: { count: tasks.length } };
    } },
  ],
  activate: (ctx) => ({ version: () => '${version}' }),
  health: () => ${options.healthy === false ? "({ status: 'fail', detail: 'cannot reach the task index' })" : 'true'},
};
`,
  };
}
