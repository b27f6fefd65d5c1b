// The admin console's test setup (not part of the package: only tests import it): a host with `tasks` (three
// versions, the last one broken), `reports`, a module that fails with markup in its error, two tenants, and one
// node:http server with the modules' routes at / and the console at /admin, signed in by a `token` cookie.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineModule } from '@modhost/core';
import { silentLogger } from '@modhost/testkit';
import { createHost, type Host } from 'modhost';
import { tasks } from '../test/management-server.js';
import { createAdminConsole } from './admin-console.js';
import type { AdminConsole } from './admin-types.js';
import type { RoleGrant } from './management-types.js';
import { createRequestListener, fromNodeRequest, sendNodeResponse } from './node.js';

/** Markup a module's error carries: the console must show it as text. */
export const MARKUP = '<img src=x onerror="window.__pwned=1"><b>bold</b>';

const reports = defineModule({
  name: 'reports',
  version: '1.0.0',
  dependencies: { tasks: '^1.0.0' },
  permissions: ['routes:mount', 'reports:export'],
  migrations: [{ name: '001-create-reports', up: async () => {}, down: async () => {} }],
  jobs: [{ name: 'nightly', schedule: '0 3 * * *', run: async () => {} }],
  routes: [{ method: 'GET', path: '/summary', handler: () => ({ body: { ok: true } }) }],
});
const evil = defineModule({
  name: 'evil',
  version: '1.0.0',
  activate() {
    throw new Error(`boom ${MARKUP}`);
  },
});

/** Who each token is. */
const USERS: Record<string, { id: string; tenant?: string; grants: RoleGrant[] }> = {
  admin: { id: 'root', grants: [{ role: 'admin' }] },
  operator: { id: 'ops', grants: [{ role: 'operator' }] },
  viewer: { id: 'eve', grants: [{ role: 'viewer' }] },
  acmeviewer: { id: 'amy', tenant: 'acme', grants: [{ role: 'viewer', tenant: 'acme' }] },
  acmeadmin: { id: 'ann', tenant: 'acme', grants: [{ role: 'admin', tenant: 'acme' }] },
};

/** A running host with the console. */
export interface AdminServer {
  readonly host: Host;
  readonly console: AdminConsole;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  close(): Promise<void>;
}

const cookie = (header: string | readonly string[] | undefined) => /(?:^|;\s*)token=([a-z]+)/.exec(String(header ?? ''))?.[1];

/** Starts the host and the server on loopback. */
export async function startAdminServer(): Promise<AdminServer> {
  const host = createHost({
    version: '1.0.0',
    modules: [tasks('1.0.0'), reports, evil],
    health: { periodMs: 1, failureThreshold: 1 },
    logger: silentLogger,
    policy: { grant: { '*': ['routes:mount', 'storage:module'] } },
    minimumIsolation: 'in-process',
    defaultIsolation: 'in-process',
    rollbackWindowMs: 600_000,
  });
  await host.start();
  await host.registry.register(tasks('1.1.0'));
  await host.registry.register(tasks('1.2.0', () => false));
  for (const t of ['acme', 'globex']) await host.enable('reports', { tenant: t });
  await host.configure('tasks', { maxTasks: 5 }, { tenant: 'acme' });
  const admin = createAdminConsole(host, {
    authenticate: (req) => {
      const t = cookie(req.headers.cookie);
      return t !== undefined ? USERS[t] : undefined;
    },
    resolveTenant: (req) => {
      const t = cookie(req.headers.cookie);
      return t !== undefined ? USERS[t]?.tenant : undefined;
    },
    roles: (p) => p?.grants ?? [],
    onError: () => {},
  });
  const modules = createRequestListener(host, { onError: () => {} });
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/admin' || url.startsWith('/admin/') || url.startsWith('/admin?')) {
      const request = fromNodeRequest(req, { url: url.slice('/admin'.length) || '/' });
      void admin.handle(request).then((r) => sendNodeResponse(res, r ?? admin.notFound(request)));
    } else void modules(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host,
    console: admin,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      admin.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await host.stop();
    },
  };
}
