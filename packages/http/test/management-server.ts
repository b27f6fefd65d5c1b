// The management API's tests share one setup: a host with `tasks` and `reports`, the API over Express at /api/v1, and
// bearer tokens that map to role grants through the built-in `roles` map.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineModule, type ModuleDefinition, type StorageAdapter } from '@modhost/core';
import { silentLogger } from '@modhost/testkit';
import express from 'express';
import { createHost, type Host } from 'modhost';
import { z } from 'zod';
import { modhostExpress } from '../src/express.js';
import { createManagementApi } from '../src/management-api.js';
import type { ManagementAuditRecord, RoleGrant } from '../src/management-types.js';

/** The `tasks` module the tests manage: config with a secret and a preset, navigation, one route, a health probe. */
export const tasks = (version: string, health: () => boolean | Promise<boolean> = () => true) =>
  defineModule({
    name: 'tasks',
    version,
    permissions: ['routes:mount'],
    config: {
      schema: z.object({ maxTasks: z.number().int().positive(), apiKey: z.string() }),
      defaults: { maxTasks: 10, apiKey: 'sk-default-secret' },
      presets: { small: { maxTasks: 2 } },
      sensitive: ['apiKey'],
    },
    ui: {
      navigation: [
        { label: 'Tasks', path: '/tasks', order: 1 },
        { label: 'Task admin', path: '/tasks/admin', order: 2, permission: 'tasks:admin' },
      ],
    },
    routes: [{ method: 'GET', path: '/', handler: () => ({ body: { version } }) }],
    health,
  });

/** A module that depends on `tasks` (so removing `tasks` alone is refused). */
const reports = defineModule({
  name: 'reports',
  version: '1.0.0',
  dependencies: { tasks: '^1.0.0' },
  permissions: ['routes:mount'],
  ui: { navigation: [{ label: 'Reports', path: '/reports' }] },
});

/** Who each token is, and the roles the built-in map gives them. */
const ROLES: Record<string, { id: string; tenant?: string; grants: RoleGrant[] }> = {
  'admin-token': { id: 'root', grants: [{ role: 'admin' }] },
  'operator-token': { id: 'ops', grants: [{ role: 'operator' }] },
  'viewer-token': { id: 'eve', grants: [{ role: 'viewer' }] },
  'acme-admin': { id: 'ann', tenant: 'acme', grants: [{ role: 'admin', tenant: 'acme' }] },
};

/** An answer as the tests read it. */
// biome-ignore lint/suspicious/noExplicitAny: a test reads whatever JSON the API answered
export type Answer = { status: number; body: Record<string, any>; type: string | null };

/** A running host with its management API. */
export interface ManagementServer {
  readonly host: Host;
  /** Every audit record, as `onAudit` got them. */
  readonly audit: ManagementAuditRecord[];
  /** The folder `POST /modules` may install from. */
  readonly installRoot: string;
  readonly work: string;
  call(method: string, path: string, token?: string, body?: unknown): Promise<Answer>;
  close(): Promise<void>;
}

/** Starts a host with `tasks@1.0.0`, `reports` and `modules`, and serves its management API on loopback. */
export async function startManagementServer(
  options: {
    modules?: readonly ModuleDefinition[];
    onAnswer?: (answer: { method: string; path: string; status: number; body: unknown }) => void;
    /** The host's storage, which also keeps the audit trail when given. */
    storage?: StorageAdapter;
    auditLimit?: number;
  } = {},
): Promise<ManagementServer> {
  const audit: ManagementAuditRecord[] = [];
  const work = mkdtempSync(join(tmpdir(), 'modhost-mgmt-'));
  const installRoot = join(work, 'installable');
  mkdirSync(installRoot, { recursive: true });
  const host = createHost({
    version: '1.0.0',
    modules: [tasks('1.0.0'), reports, ...(options.modules ?? [])],
    // The real clock: an upgrade runs the health gate, which waits between probes (kept short here).
    health: { periodMs: 1, failureThreshold: 1 },
    logger: silentLogger,
    policy: { grant: { '*': ['routes:mount', 'storage:module'] } },
    minimumIsolation: 'in-process',
    defaultIsolation: 'in-process',
    ...(options.storage ? { storage: options.storage } : {}),
  });
  await host.start();
  const userOf = (h: unknown) => (typeof h === 'string' && h.startsWith('Bearer ') ? ROLES[h.slice(7)] : undefined);
  const api = createManagementApi(host, {
    authenticate: (req) => userOf(req.headers.authorization),
    resolveTenant: (req) => userOf(req.headers.authorization)?.tenant,
    roles: (principal) => principal?.grants ?? [],
    installRoots: [installRoot],
    onAudit: (r) => void audit.push(r),
    ...(options.storage ? { auditStorage: options.storage } : {}),
    ...(options.auditLimit !== undefined ? { auditLimit: options.auditLimit } : {}),
    canSee: ({ principal, permission }) => permission === 'tasks:admin' && principal?.grants.some((g) => g.role === 'admin') === true,
    onError: () => {},
  });
  const app = express();
  app.use(express.json());
  app.use('/api/v1', modhostExpress(api));
  const server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  return {
    host,
    audit,
    installRoot,
    work,
    async call(method, path, token, body) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      const parsed = text === '' ? undefined : JSON.parse(text);
      options.onAnswer?.({ method, path: path.split('?')[0] as string, status: res.status, body: parsed });
      return { status: res.status, body: parsed, type: res.headers.get('content-type') };
    },
    async close() {
      await new Promise((r) => server.close(r));
      await host.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
