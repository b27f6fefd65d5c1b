// Probes the PostgreSQL server once for the whole run: the test files ask with inject('postgresServer'), and when
// there is none, this one line says what they do instead.
import type { TestProject } from 'vitest/node';
import { probeServer, SERVER_URL, withoutPassword } from './backend.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The server's URL when one answered, else null. */
    postgresServer: string | null;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const probe = await probeServer();
  if (!probe.ok) {
    console.info(
      `storage-postgres: no PostgreSQL server at ${withoutPassword(SERVER_URL)} (${probe.reason}); running against PGlite, and skipping the cases that need a server`,
    );
  }
  project.provide('postgresServer', probe.ok ? SERVER_URL : null);
}
