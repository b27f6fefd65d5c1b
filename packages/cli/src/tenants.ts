import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { type Issue, isModhostError, type StorageAdapter } from '@modhost/core';

/** A tenant's enablement of a module, before or after a change. */
type Enablement = { readonly enabled: boolean; readonly range?: string };

/** A change as `modhost`'s `host.tenants` reports it (the fields the CLI prints). */
type Step = { readonly tenant: string; readonly module: string; readonly note?: string } & (
  | { readonly action: 'enable' | 'disable'; readonly before: Enablement; readonly after: Enablement }
  | { readonly action: 'configure'; readonly before: Readonly<Record<string, unknown>>; readonly after: Readonly<Record<string, unknown>> }
);

/** `modhost`'s `TenantApplyReport`, as far as the CLI reads it. */
interface Report {
  readonly ok: boolean;
  readonly dryRun: boolean;
  readonly changes: readonly Step[];
  readonly problems: readonly {
    readonly tenant: string;
    readonly module?: string;
    readonly path: readonly (string | number)[];
    readonly code: string;
    readonly message: string;
  }[];
  readonly progress: { readonly done: number; readonly total: number };
  readonly rolledBack: boolean;
  readonly snapshotId?: string;
}

/** What the tenants commands use of `host.tenants` (`modhost`'s `HostTenants`). */
export interface TenantsBackend {
  apply(changes: never, options?: { dryRun?: boolean; onFailure?: 'rollback' | 'stop' }): Promise<Report>;
  rollback(snapshotId: string): Promise<Report>;
  export(tenants?: readonly string[]): Promise<unknown>;
}

/** What a tenants command was given on the command line. */
interface TenantsArgs {
  /** The storage module's path as typed, to print the undo command. */
  readonly storageFile: string;
  readonly dryRun: boolean;
  readonly onFailure: 'rollback' | 'stop';
  readonly json: boolean;
}

/**
 * `host.tenants` of a host over `storage`, never started: nothing runs, and it writes only what a command changes.
 * `modhost` depends on this package (it ships the `modhost` command), so this package cannot depend on it back: it
 * is loaded when a tenants command runs. Every app that hosts modules has it.
 */
export async function hostTenants(storage: StorageAdapter): Promise<TenantsBackend> {
  const specifier = 'modhost';
  let modhost: { createHost(options: { version: string; storage: StorageAdapter }): { tenants: TenantsBackend } };
  try {
    modhost = await import(specifier);
  } catch (e) {
    throw new Error(`tenants commands need the "modhost" package next to @modhost/cli (npm install modhost): ${(e as Error).message}`);
  }
  // The host's version only gates modules' engines.host, which tenants commands never check.
  return modhost.createHost({ version: '0.0.0', storage }).tenants;
}

type Io = { stdout(text: string): void; stderr(text: string): void; cwd: string };

const json = (v: unknown) => JSON.stringify(v);

/** One line per change: what it does to which module of which tenant. */
function changeLine(c: Step): string {
  const what =
    c.action === 'configure'
      ? `configure ${c.module} ${json(c.before)} → ${json(c.after)}`
      : c.action === 'disable'
        ? `disable ${c.module}`
        : c.before.enabled
          ? `enable ${c.module} (range ${c.before.range ?? 'none'} → ${c.after.range ?? 'none'})`
          : `enable ${c.module}${c.after.range ? ` (range ${c.after.range})` : ''}`;
  return `  ${c.tenant}: ${what}${c.note ? `\n      • ${c.note}` : ''}`;
}

/** Prints a report readably: a headline, a line per change, the problems, the snapshot. */
function print(io: Io, report: Report, args: TenantsArgs, what: 'apply' | 'rollback') {
  if (args.json) {
    io.stdout(JSON.stringify(report, null, 2));
    return;
  }
  const n = report.changes.length;
  const tenants = new Set(report.changes.map((c) => c.tenant)).size;
  const p = report.problems.length;
  const { done, total } = report.progress;
  const headline =
    what === 'rollback'
      ? report.ok
        ? `✓ rolled back to snapshot ${report.snapshotId}: ${n} change(s) in ${tenants} tenant(s)`
        : `✗ the rollback to snapshot ${report.snapshotId} did not finish (${done} of ${total} tenant(s)); run it again once the problems are fixed`
      : report.dryRun
        ? `${report.ok ? '✓' : '✗'} dry run: ${n} change(s) in ${tenants} tenant(s)${p ? `, ${p} problem(s)` : ''}; nothing was written`
        : report.snapshotId === undefined
          ? report.ok
            ? '✓ nothing to change'
            : `✗ ${p} problem(s); nothing was changed`
          : report.ok
            ? `✓ applied ${n} change(s) to ${tenants} tenant(s)`
            : report.rolledBack
              ? `✗ a step failed after ${done} of ${total} tenant(s); every tenant was rolled back`
              : args.onFailure === 'stop'
                ? `✗ a step failed after ${done} of ${total} tenant(s); what was applied stays (--on-failure stop)`
                : `✗ a step failed after ${done} of ${total} tenant(s), and the rollback did not finish`;
  io.stdout(headline);
  for (const c of report.changes) io.stdout(changeLine(c));
  if (p > 0) io.stdout('problems:');
  for (const x of report.problems)
    io.stdout(`  ✗ ${x.path.length > 0 ? x.path.join('.') : `${x.tenant}${x.module ? ` ${x.module}` : ''}`}: [${x.code}] ${x.message}`);
  if (report.problems.some((x) => x.code === 'CONFIG_INVALID'))
    io.stdout(
      "      → the CLI does not load modules' code, so it cannot check config against their schemas: apply config from the app (host.tenants.apply, or POST /tenants/apply)",
    );
  if (what === 'apply' && report.snapshotId && !report.rolledBack)
    io.stdout(`snapshot ${report.snapshotId}; undo with: modhost tenants rollback ${report.snapshotId} --storage ${args.storageFile}`);
}

/** `modhost tenants apply <file>`: 0 applied (or nothing to do), 1 problems (in the file or while applying), or a usage error. */
export async function applyFile(io: Io, tenants: TenantsBackend, file: string, args: TenantsArgs): Promise<0 | 1 | { usage: string }> {
  let changes: unknown;
  try {
    changes = JSON.parse(await readFile(resolvePath(io.cwd, file), 'utf8'));
  } catch (e) {
    return { usage: `cannot read ${file} as JSON: ${(e as Error).message}` };
  }
  try {
    const report = await tenants.apply(changes as never, { dryRun: args.dryRun, onFailure: args.onFailure });
    print(io, report, args, 'apply');
    return report.ok ? 0 : 1;
  } catch (e) {
    if (!isModhostError(e, 'INVALID_ARGUMENT')) throw e;
    const issues = (e.details.issues ?? []) as Issue[];
    if (args.json) io.stdout(JSON.stringify({ ok: false, code: e.code, issues }, null, 2));
    else {
      io.stdout(`✗ ${file}: ${issues.length} issue(s); nothing was changed`);
      for (const i of issues) io.stdout(`  ✗ ${i.path.join('.') || '(root)'}: ${i.message}`);
    }
    return 1;
  }
}

/** `modhost tenants rollback <snapshot-id>`: 0 rolled back, 1 problems, or a usage error (an unknown id). */
export async function rollbackSnapshot(io: Io, tenants: TenantsBackend, id: string, args: TenantsArgs): Promise<0 | 1 | { usage: string }> {
  try {
    const report = await tenants.rollback(id);
    print(io, report, args, 'rollback');
    return report.ok ? 0 : 1;
  } catch (e) {
    if (isModhostError(e, 'INVALID_ARGUMENT')) return { usage: e.message };
    throw e;
  }
}
