import type { Activator } from '@modhost/activation';
import type { AuditLog } from '@modhost/sandbox';
import { errorSummary } from './error-summary.js';
import type { FolderSync } from './folder-sync.js';
import type { StopReport } from './host-types.js';

/**
 * Stops a host, best effort: the watcher and any scan first, then every module (dependents first), then every
 * guest, then the audit trail's flush. Whatever fails is reported, and the rest still stops. Never rejects.
 */
export async function stopHost(parts: { activator: Activator; folders: FolderSync; audit: AuditLog; end?: () => Promise<void> }): Promise<StopReport> {
  const problems: { name?: string; version?: string; code: string; message: string }[] = [];
  const attempt = async (work: () => Promise<unknown>) => work().catch((e: unknown) => problems.push(errorSummary(e)));
  await attempt(() => parts.folders.quiet());
  await attempt(async () => {
    const outcomes = await parts.activator.deactivate(undefined, { cascade: true });
    for (const o of outcomes.filter((x) => x.state === 'failed'))
      problems.push({ name: o.name, version: o.version, code: o.error?.code ?? 'ROLLBACK_FAILED', message: o.error?.message ?? '' });
  });
  for (const f of await parts.folders.dispose()) problems.push({ name: f.name, version: f.version, ...errorSummary(f.error) });
  // The lease last: until here, this instance still runs modules.
  if (parts.end) await attempt(parts.end);
  await attempt(() => parts.audit.flush());
  return { ok: problems.length === 0, problems };
}
