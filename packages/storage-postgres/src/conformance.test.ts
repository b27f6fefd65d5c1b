// The conformance suite against a real PostgreSQL server (a database of this file's own), or PGlite when no
// server is reachable (one line says so).
import { describeStorageAdapter } from '@modhost/testkit';
import { afterAll } from 'vitest';
import { brokenAdapter, openTestBackend } from '../test/backend.js';

const backend = await openTestBackend();
afterAll(() => backend.close());

describeStorageAdapter(`postgres on ${backend.label}`, {
  create: () => backend.adapter(),
  // Another adapter with a pool of its own: another process, as far as the server can tell.
  createPeer: () => backend.adapter(),
  createBroken: () => brokenAdapter(backend.kind),
});
