// What the integration tests run a host through: a modules folder on disk and a node:http server.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequestListener, type Host } from 'modhost';

/** A temporary modules folder; `write` puts a module folder (manifest and `index.mjs`) in it. */
export function modulesFolder(cleanups: (() => unknown)[]) {
  const root = mkdtempSync(join(tmpdir(), 'modhost-otel-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  return {
    root,
    write(dir: string, manifest: Record<string, unknown>, entry: string) {
      const path = join(root, dir);
      mkdirSync(path, { recursive: true });
      writeFileSync(join(path, 'modhost.json'), JSON.stringify(manifest, null, 2));
      writeFileSync(join(path, 'index.mjs'), entry);
    },
  };
}

/** Serves `host` through `createRequestListener` (`@modhost/http/node`, as `modhost` re-exports it) on a free port; returns a fetch that answers with status and JSON body. */
export async function serve(cleanups: (() => unknown)[], host: Host) {
  const server = createServer(createRequestListener(host, { onError: () => {} }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { headers });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
}
