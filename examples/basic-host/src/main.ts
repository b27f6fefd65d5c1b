// `npm start`: the example host app on the embedded storage, watching its modules folder.
import { existsSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postgresStorage } from '@modhost/storage-postgres';
import { fileStorage } from 'modhost';
import { EXAMPLE_VERSIONS, prepareModulesDir, startApp } from './app.js';

// RUN_DIR gives a second instance its own modules folder (and, without a database, its own state file).
const runDir = fileURLToPath(new URL(`../${process.env.RUN_DIR ?? '.run'}/`, import.meta.url));
// The modules folder persists like the state does (a version copied in stays); RESET=1 starts both afresh.
const modulesDir = join(runDir, 'modules');
if (process.env.RESET) rmSync(runDir, { recursive: true, force: true });
if (!existsSync(modulesDir)) prepareModulesDir(modulesDir);
const port = Number(process.env.PORT ?? 3000);
// The embedded default remembers everything across restarts (tenants' tasks, config, rollbacks) in one file, for
// one process. DATABASE_URL shares the state with every instance started against the same database.
const storage = process.env.DATABASE_URL ? postgresStorage({ connectionString: process.env.DATABASE_URL }) : fileStorage({ path: join(runDir, 'state.jsonl') });
const app = await startApp({ modulesDir, port, watch: true, storage }).catch(async (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EADDRINUSE') throw e;
  console.log(`port ${port} is taken; using a free one (set PORT to choose)`);
  return startApp({ modulesDir, port: 0, watch: true, storage });
});
const { host, url } = app;

host.events.onAny((event, payload) => console.log(`  [event] ${String(event)} ${JSON.stringify(payload)}`));
const { modules, problems } = await host.status();
console.log('\nmodhost example host: three modules from a folder, two tenants, live hot swap\n');
for (const m of modules) console.log(`  ${`${m.name}@${m.version}`.padEnd(16)} ${m.state.padEnd(8)} ${m.isolation}`);
for (const p of problems) console.log(`  ! ${p.dir}: ${p.message}`);
// Paths as seen from where `npm start` was typed (npm runs this script from the workspace folder).
const rel = (p: string) => relative(process.env.INIT_CWD ?? process.cwd(), p);
console.log(`
Serving on ${url}. Try:

  curl -s ${url}/tasks -H 'authorization: Bearer acme-admin'
  curl -s -X POST ${url}/tasks -H 'authorization: Bearer acme-admin' -H 'content-type: application/json' -d '{"title":"ship it"}'
  curl -s -X POST ${url}/tasks -H 'authorization: Bearer acme-viewer' -H 'content-type: application/json' -d '{}'  # 403: viewers may not write
  curl -s ${url}/reports/summary -H 'authorization: Bearer acme-admin'
  curl -s ${url}/reports/summary -H 'authorization: Bearer globex-member'   # 404: globex does not have reports
  curl -s ${url}/tasks -H 'x-tenant: acme'                                  # 404: a header does not make you a tenant
  curl -s ${url}/notes -H 'authorization: Bearer globex-member'             # globex's config: markdown false

Tokens (see src/auth.ts): acme-admin, acme-viewer, globex-member.

The management API (docs/management-api.md), with two roles: ops-token operates every module, acme-admin only acme's:

  curl -s ${url}/api/v1/modules -H 'authorization: Bearer ops-token'
  curl -s ${url}/api/v1/modules/tasks -H 'authorization: Bearer ops-token'
  curl -s -X PUT ${url}/api/v1/modules/reports/status -H 'authorization: Bearer acme-admin' -H 'content-type: application/json' -d '{"enabled":false,"tenant":"acme"}'
  curl -s -X PUT ${url}/api/v1/modules/reports/status -H 'authorization: Bearer acme-admin' -H 'content-type: application/json' -d '{"enabled":true,"tenant":"globex"}'   # 403: not acme's
  curl -s ${url}/api/v1/audit -H 'authorization: Bearer ops-token'
  curl -s ${url}/api/v1/openapi.json

The admin console (docs/admin-console.md): open ${url}/dev-login?token=ops-token in a browser (a development
login: it sets a cookie for /admin and opens ${url}/admin/). acme-admin or acme-viewer there show acme's view only.

Health, readiness and metrics (docs/operations.md):

  curl -s ${url}/livez                                   # the process and its event loop answer
  curl -s ${url}/readyz                                  # 503 with the reasons while a module is down or failing
  curl -s ${url}/metrics | grep modhost_http_requests    # Prometheus: requests per module, route and status

Hot swap, while you keep curling (the host watches ${rel(modulesDir)}):

  cp ${rel(join(EXAMPLE_VERSIONS, 'tasks-1.1.0'))}/* ${rel(join(modulesDir, 'tasks'))}/          # swapped live through the health gate
  cp ${rel(join(EXAMPLE_VERSIONS, 'tasks-1.2.0-broken'))}/* ${rel(join(modulesDir, 'tasks'))}/   # refused: 1.1.0 keeps serving

Roll back by hand (within 30 s of a swap): type "rollback tasks" and Enter here.

Or watch it all happen under load: npm run demo. Ctrl-C stops the host gracefully.
`);

// A tiny console: "rollback <module>" and "status".
process.stdin.setEncoding('utf8');
process.stdin.on('data', (line: string) => {
  const [cmd, name] = line.trim().split(/\s+/);
  if (cmd === 'rollback' && name)
    void host.rollback(name).then(
      (r) => console.log(`  rollback ${name}: ${r.outcome} (now ${r.to})`),
      (e: Error) => console.log(`  rollback ${name}: ${e.message}`),
    );
  else if (cmd === 'status') void host.status().then((s) => console.log(JSON.stringify(s, null, 2)));
});

const shutdown = async () => {
  console.log('\nstopping: modules stop dependents first…');
  await app.stop();
  await storage.dispose?.();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
