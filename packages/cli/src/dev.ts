// `modhost dev <modulesDir>`: a host in development mode over a modules folder, its routes served over node:http,
// each reload printed with how long it took. `modhost dev --forget --storage <file>` forgets what it recorded.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import type { Logger, StorageAdapter } from '@modhost/core';
import type { CliIo } from './cli-io.js';
import { loadStorage } from './commands.js';

/** `modhost dev --help`. */
export const DEV_HELP = `Usage: modhost dev <modulesDir> [--port N] [--storage <file>] [--namespace <ns>] [--host <version>]
       modhost dev --forget --storage <file> [--namespace <ns>]

Starts a host in development mode over <modulesDir> and serves its routes over
node:http. A saved file reloads its module in place, same version, through the
health gate: a fresh instance of the edited code starts beside the old one and
takes over; an edit that fails leaves the previous code serving, and says why.
Each reload is printed with how long it took. Every permission a module asks
for is granted. Versions loaded here are recorded as development versions: a
host not in development mode refuses them until they get a new version, or
until --forget forgets them. Ctrl+C (SIGINT) or SIGTERM stops it.

Options:
  --port N           the port to listen on, on 127.0.0.1 (default 3000; 0: any free port)
  --storage <file>   a module whose default export is a storage adapter (or a function
                     returning one), e.g. fileStorage() to keep state across restarts
                     (default: in memory)
  --namespace <ns>   the host's key namespace (default modhost)
  --host <version>   the app version modules' engines.host is checked against (default 1.0.0)
  --forget           forget every development version recorded in --storage, and exit

Exit codes: 0 stopped (or forgotten), 1 it could not start, 2 usage error.`;

/** What `modhost dev` uses of a host (`modhost`'s `Host`). */
interface DevHost {
  start(): Promise<{ readonly modules: readonly { readonly name: string; readonly version: string; readonly state: string }[] }>;
  stop(): Promise<unknown>;
  readonly events: { onAny(fn: (event: string, payload: unknown) => void): () => void };
}

/** What `modhost dev` uses of the `modhost` package. */
interface Modhost {
  createHost(options: Record<string, unknown>): DevHost;
  createRequestListener(host: DevHost, options?: Record<string, unknown>): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  forgetDevVersions(
    storage: StorageAdapter,
    options?: { namespace?: string },
  ): Promise<{ forgotten: readonly string[]; kept: readonly { module: string; reason: string }[] }>;
  readonly DEV_DEBOUNCE_MS: number;
}

/** What `modhost dev` was given on the command line. */
interface DevArgs {
  /** The modules folder, resolved. */
  readonly dir: string | undefined;
  readonly port: number;
  readonly storage: StorageAdapter | undefined;
  readonly namespace: string | undefined;
  /** The host application's version modules' `engines.host` is checked against. */
  readonly hostVersion: string;
  /** Forget the development records in `storage` and exit. */
  readonly forget: boolean;
}

/**
 * `modhost` depends on this package (it ships the `modhost` command), so this package cannot depend on it back: it
 * is loaded when `modhost dev` runs, as for the tenants commands.
 */
async function loadModhost(): Promise<Modhost> {
  const specifier = 'modhost';
  try {
    return (await import(specifier)) as Modhost;
  } catch (e) {
    throw new Error(`modhost dev needs the "modhost" package next to @modhost/cli (npm install modhost): ${(e as Error).message}`);
  }
}

/** Module log lines, as `[name] message`: what a module author wants to see while developing it. */
const devLogger =
  (io: CliIo) =>
  (module: string): Logger => ({
    debug() {},
    info: (message) => io.stdout(`  [${module}] ${message}`),
    warn: (message) => io.stderr(`  [${module}] warn: ${message}`),
    error: (message) => io.stderr(`  [${module}] error: ${message}`),
  });

/** One line per host event worth seeing while developing. */
function describe(event: string, p: Record<string, unknown>, debounceMs: number): string | undefined {
  const who = `${p.name}@${p.version}`;
  switch (event) {
    case 'module:reloaded':
      return `↻ ${who} reloaded in ${Math.round(Number(p.ms))} ms (after the ${debounceMs} ms watcher debounce)`;
    // A reload that fails is a folder problem too (its `folder:error` line below says why).
    case 'module:activated':
      return `✓ ${who} active`;
    case 'module:upgraded':
      return `↑ ${p.name} ${p.from} → ${p.to}`;
    case 'module:upgrade-failed':
      return `✗ ${p.name} ${p.from} → ${p.to} refused: ${p.message}`;
    case 'module:failed':
      return `✗ ${p.name}${p.version ? `@${p.version}` : ''} failed (${p.code}): ${p.message}`;
    case 'module:removed':
      return `- ${who} removed`;
    case 'folder:error':
      return `✗ ${p.dir}: ${p.message}`;
    case 'watch:error':
      return `! ${p.message}`;
    default:
      return undefined;
  }
}

/**
 * `modhost dev` from its parsed command line: the exit code, or `{ usage }` for a command line that is wrong.
 * Resolves once SIGINT or SIGTERM stopped the host (at once for `--forget`).
 */
export async function devCommand(io: CliIo, values: Readonly<Record<string, unknown>>, positionals: readonly string[]): Promise<number | { usage: string }> {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const forget = values.forget === true;
  const dir = positionals[0];
  if (!forget && !dir) return { usage: 'name the modules folder: modhost dev <modulesDir>' };
  const port = Number(str(values.port) ?? '3000');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) return { usage: `--port must be a port number, not "${str(values.port)}"` };
  const storageFile = str(values.storage);
  if (forget && !storageFile) return { usage: '--forget needs --storage <file>: the storage whose development versions to forget' };
  let storage: StorageAdapter | undefined;
  try {
    storage = storageFile ? await loadStorage(storageFile, io.cwd) : undefined;
  } catch (e) {
    return { usage: (e as Error).message };
  }
  try {
    return await dev(io, {
      dir: dir === undefined ? undefined : resolvePath(io.cwd, dir),
      port,
      storage,
      namespace: str(values.namespace),
      hostVersion: str(values.host) ?? '1.0.0',
      forget,
    });
  } catch (e) {
    io.stderr(`modhost dev: ${(e as Error).message}`);
    await storage?.dispose?.();
    return 1;
  }
}

/** Runs `modhost dev`: resolves with the exit code once SIGINT or SIGTERM stopped it (or at once, for `--forget`). */
async function dev(io: CliIo, args: DevArgs): Promise<number> {
  const modhost = await loadModhost();
  if (args.forget) {
    if (!args.storage) throw new Error('--forget needs --storage <file>: the storage whose development records to forget');
    const report = await modhost.forgetDevVersions(args.storage, { ...(args.namespace ? { namespace: args.namespace } : {}) });
    io.stdout(report.forgotten.length === 0 ? '✓ no development records to forget' : `✓ forgot ${report.forgotten.join(', ')}`);
    for (const k of report.kept) io.stdout(`  • kept ${k.module}: ${k.reason}`);
    await args.storage.dispose?.();
    return 0;
  }
  if (!args.dir) throw new Error('name the modules folder: modhost dev <modulesDir>');
  const debounceMs = modhost.DEV_DEBOUNCE_MS;
  const host = modhost.createHost({
    version: args.hostVersion,
    dev: true,
    modulesDir: args.dir,
    logger: devLogger(io),
    // The modules under development are the developer's own: each gets what it asks for.
    policy: { decide: () => true },
    ...(args.storage ? { storage: args.storage } : {}),
    ...(args.namespace ? { namespace: args.namespace } : {}),
  });
  host.events.onAny((event, payload) => {
    const line = describe(event, payload as Record<string, unknown>, debounceMs);
    if (line === undefined) return;
    if (line.startsWith('✗') || line.startsWith('!')) io.stderr(line);
    else io.stdout(line);
  });
  const server = createServer(modhost.createRequestListener(host, { onError: () => {} }));
  let report: Awaited<ReturnType<DevHost['start']>>;
  try {
    report = await host.start();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(args.port, '127.0.0.1', resolve);
    });
  } catch (e) {
    await host.stop();
    throw e;
  }
  const { port } = server.address() as AddressInfo;
  const active = report.modules.filter((m) => m.state === 'active');
  io.stdout(`modhost dev: ${active.length} module(s) from ${args.dir} on http://127.0.0.1:${port} (port ${port})`);
  io.stdout(`watching ${args.dir}: a saved file reloads its module in place; Ctrl+C stops`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await host.stop();
  await args.storage?.dispose?.();
  io.stdout('modhost dev: stopped');
  return 0;
}
