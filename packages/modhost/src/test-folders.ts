import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary modules folder for tests, and ways to write module folders into it. */
export function modulesFolder() {
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
