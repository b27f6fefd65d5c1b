import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Clock, type Logger, memoryStorage, type StorageAdapter } from '@modhost/core';
import type { HttpHandlerOptions } from '@modhost/http';
import { createAdminConsole } from '@modhost/http/admin';
import { createHealthEndpoints } from '@modhost/http/health';
import { createManagementApi } from '@modhost/http/management';
import { createMetrics } from '@modhost/http/metrics';
import { createRequestListener } from '@modhost/http/node';
import { createHost, type Host, type HostOptions } from 'modhost';
import { DEV_LOGIN_COOKIE, exampleAuth, exampleConsoleAuth, exampleManagementRoles, type User } from './auth.js';

/** The example's own module folders (tracked in git) and the versions the tour copies in. */
const EXAMPLE_MODULES = fileURLToPath(new URL('../modules', import.meta.url));
export const EXAMPLE_VERSIONS = fileURLToPath(new URL('../versions', import.meta.url));

/** Copies the example modules into `dir` (emptied first), so running the app never edits tracked files. */
export function prepareModulesDir(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(EXAMPLE_MODULES, dir, { recursive: true });
  return dir;
}

/** Options for {@link startApp}. */
export interface AppOptions {
  modulesDir: string;
  /** 0 picks a free port. */
  port?: number;
  watch?: boolean;
  storage?: StorageAdapter;
  clock?: Clock;
  health?: HostOptions['health'];
  logger?: (module: string) => Logger;
  /** The app's auth hooks (default: the example's bearer tokens, see auth.ts): plug your own session or JWT check here. */
  auth?: HttpHandlerOptions<User>;
}

/** A running example app. */
export interface App {
  readonly host: Host;
  readonly server: Server;
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * The example host app: a `node:http` server (no framework) serving module routes through `@modhost/http`'s
 * pipeline, two tenants with different modules enabled and different config, a tenant and a caller resolved from a
 * bearer token, on the embedded storage by default.
 */
export async function startApp(options: AppOptions): Promise<App> {
  const storage = options.storage ?? memoryStorage();
  // Prometheus metrics from the host's spans and events (a registry of this app's own).
  const metrics = createMetrics();
  const host = createHost({
    version: '1.0.0',
    storage,
    modulesDir: options.modulesDir,
    watch: options.watch ?? false,
    debounceMs: 300,
    rollbackWindowMs: 30_000,
    // Folder modules run in a worker at least; notes is the app team's own and may run in process.
    minimumIsolation: { default: 'worker', modules: { notes: 'in-process' } },
    policy: {
      // Every module may mount routes and keep its own storage; nothing else is granted.
      grant: { '*': ['routes:mount', 'storage:module'] },
    },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.health ? { health: options.health } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    telemetry: metrics.telemetry,
  });
  const stopObserving = metrics.observe(host);
  await host.start();
  // The first run seeds two tenants: acme has everything; globex has no reports, and a small task quota. Later runs
  // (the state persists) keep whatever was changed since.
  if ((await host.registry.listTenants()).length === 0) {
    for (const m of ['tasks', 'notes', 'reports']) await host.enable(m, { tenant: 'acme' });
    for (const m of ['tasks', 'notes']) await host.enable(m, { tenant: 'globex' });
    await host.configure('tasks', { maxTasks: 100 }, { tenant: 'acme' });
    await host.configure('tasks', { maxTasks: 3 }, { tenant: 'globex' });
    await host.configure('notes', { markdown: false }, { tenant: 'globex' });
  }

  // Every request goes through the pipeline: tenant and caller from the app's auth, permissions by authorize().
  const auth = options.auth ?? exampleAuth;
  const modules = createRequestListener(host, auth);
  // The management API under /api/v1, with the same auth and a role map (see auth.ts).
  const api = createRequestListener(
    createManagementApi(host, {
      ...(auth.resolveTenant ? { resolveTenant: auth.resolveTenant } : {}),
      ...(auth.authenticate ? { authenticate: auth.authenticate } : {}),
      roles: exampleManagementRoles,
      // The audit trail lives with the rest of the host's state.
      auditStorage: storage,
    }),
  );
  // The admin console at /admin (docs/admin-console.md): the management API's roles, signed in by the development
  // login's cookie (see auth.ts) since a browser page sends no bearer token.
  const consoleAuth = options.auth ?? exampleConsoleAuth;
  const adminConsole = createAdminConsole(host, {
    ...(consoleAuth.resolveTenant ? { resolveTenant: consoleAuth.resolveTenant } : {}),
    ...(consoleAuth.authenticate ? { authenticate: consoleAuth.authenticate } : {}),
    roles: exampleManagementRoles,
    auditStorage: storage,
  });
  const admin = createRequestListener(adminConsole);
  // Development only: `/dev-login?token=ops-token` signs this browser in to the console (a cookie for /admin).
  const devLogin = (req: Parameters<typeof modules>[0], res: Parameters<typeof modules>[1]) => {
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '';
    if (!/^[A-Za-z0-9-]{1,64}$/.test(token)) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('give ?token=ops-token (see src/auth.ts)');
      return;
    }
    res.writeHead(303, { location: '/admin/', 'set-cookie': `${DEV_LOGIN_COOKIE}=${token}; Path=/admin; HttpOnly; SameSite=Strict` }).end();
  };
  // Probes and metrics for load balancers and Prometheus (docs/operations.md); a real app keeps /metrics private.
  const health = createHealthEndpoints(host);
  const ops: Record<string, (req: Parameters<typeof modules>[0], res: Parameters<typeof modules>[1]) => unknown> = {
    '/livez': createRequestListener(health),
    '/readyz': createRequestListener(health),
    '/metrics': createRequestListener(metrics.handler),
  };
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const op = ops[url.split('?')[0] as string];
    if (op) void op(req, res);
    else if (url.startsWith('/dev-login')) devLogin(req, res);
    else if (url === '/admin' || url.startsWith('/admin/') || url.startsWith('/admin?')) {
      req.url = url.slice('/admin'.length) || '/';
      void admin(req, res);
    } else if (url === '/api/v1' || url.startsWith('/api/v1/') || url.startsWith('/api/v1?')) {
      req.url = url.slice('/api/v1'.length) || '/';
      void api(req, res);
    } else void modules(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    server,
    url,
    async stop() {
      // Held live-view requests end now, so the server can close.
      adminConsole.close();
      server.closeIdleConnections();
      await new Promise((r) => server.close(r));
      health.close();
      stopObserving();
      await host.stop();
    },
  };
}
