// One host instance of the fleet test, in its own process: `node --import tsx fleet-instance.ts` with INSTANCE_ID
// and DATABASE_URL set. It serves a small management API on a free port (printed as `port <n>` on stdout) so the
// test can drive it and read what it serves.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineModule } from '@modhost/core';
import { postgresStorage } from '@modhost/storage-postgres';
import { z } from 'zod';
import { createHost } from '../src/index.js';
import { tasksVersion } from './modules.js';

const quiet = () => ({ debug() {}, info() {}, warn() {}, error() {} });
const tasks = tasksVersion;

const greeter = defineModule({
  name: 'greeter',
  version: '1.0.0',
  config: { schema: z.object({ greeting: z.string() }), defaults: { greeting: 'hello' } },
  activate: (ctx) => ({ greet: () => ctx.config.greeting }),
});

const storage = postgresStorage({ connectionString: process.env.DATABASE_URL as string });
const host = createHost({
  version: '1.0.0',
  storage,
  instanceId: process.env.INSTANCE_ID as string,
  modules: [tasks('1.0.0'), tasks('1.1.0'), tasks('1.2.0'), greeter],
  leaseMs: 1_500,
  rollbackWindowMs: 60_000,
  logger: quiet,
  policy: { grant: { '*': ['routes:mount'] } },
});
await host.start();

const read = async (req: import('node:http').IncomingMessage) => {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
};
const server = createServer(async (req, res) => {
  try {
    const body = await read(req);
    let out: unknown;
    if (req.url === '/state') {
      const asked = (body.tenants as unknown as string[] | undefined) ?? [];
      out = {
        version: host.api<{ version: string }>('tasks')?.version,
        acme: host.isEnabled('tasks', 'acme'),
        tenants: asked.filter((t) => host.isEnabled('tasks', t)),
        greeting: host.api<{ greet(): string }>('greeter')?.greet() ?? null,
      };
    } else if (req.url === '/enable') out = await host.enable('tasks', { tenant: String(body.tenant) });
    else if (req.url === '/disable') out = await host.disable('tasks', { tenant: String(body.tenant) });
    else if (req.url === '/upgrade') out = await host.upgrade('tasks', String(body.version));
    else if (req.url === '/rollback') out = await host.rollback('tasks');
    else if (req.url === '/fleet') out = await host.fleet();
    else if (req.url === '/configure') out = await host.configure('greeter', { greeting: String(body.greeting) });
    else if (req.url === '/uninstall') out = await host.uninstall('greeter');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(out ?? null));
  } catch (e) {
    res.statusCode = 500;
    res.end(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
  }
});
server.listen(0, '127.0.0.1', () => console.log(`port ${(server.address() as AddressInfo).port}`));
const stop = async () => {
  server.close();
  await host.stop();
  await storage.dispose?.();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
