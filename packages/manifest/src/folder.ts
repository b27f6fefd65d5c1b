import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Issue, ModhostError } from '@modhost/core';
import { parseManifest } from './parse.js';
import type { Manifest } from './schema.js';

const invalid = (dir: string, message: string, issues: Issue[] = [], cause?: unknown) =>
  new ModhostError('MANIFEST_INVALID', `${dir}: ${message}`, { ...(cause ? { cause } : {}), details: { dir, issues } });

/** Reads and parses `<dir>/modhost.json`; throws `MANIFEST_INVALID` with every issue. */
export async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(dir, 'modhost.json'), 'utf8');
  } catch (cause) {
    throw invalid(dir, 'has no readable modhost.json; a module folder needs one (see `modhost create`)', [], cause);
  }
  const parsed = parseManifest(text);
  if (!parsed.ok) {
    throw invalid(
      dir,
      `modhost.json is not valid:\n  - ${parsed.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('\n  - ')}`,
      parsed.issues,
    );
  }
  return parsed.value;
}

/** Contract problems between the manifest and what the entry's code declares. */
export function contractIssues(
  manifest: Manifest,
  code: { name?: unknown; version?: unknown; routes: { method: string; path: string }[]; jobs: { name: string }[] },
): Issue[] {
  const issues: Issue[] = [];
  if (code.name !== undefined && code.name !== manifest.name)
    issues.push({ path: ['name'], message: `the entry says "${String(code.name)}", modhost.json says "${manifest.name}"` });
  if (code.version !== undefined && code.version !== manifest.version) {
    issues.push({ path: ['version'], message: `the entry says ${String(code.version)}, modhost.json says ${manifest.version}` });
  }
  const declared = new Set((manifest.routes ?? []).map((r) => `${r.method} ${r.path}`));
  const implemented = new Set(code.routes.map((r) => `${r.method} ${r.path}`));
  for (const r of declared)
    if (!implemented.has(r)) issues.push({ path: ['routes'], message: `route ${r} is declared in modhost.json but the entry has no handler for it` });
  for (const r of implemented)
    if (!declared.has(r)) issues.push({ path: ['routes'], message: `the entry handles ${r}, which modhost.json does not declare; add it to "routes"` });
  const jobs = new Set((manifest.jobs ?? []).map((j) => j.name));
  for (const j of code.jobs)
    if (!jobs.has(j.name)) issues.push({ path: ['jobs'], message: `the entry runs job "${j.name}", which modhost.json does not declare; add it to "jobs"` });
  for (const j of jobs)
    if (!code.jobs.some((c) => c.name === j))
      issues.push({ path: ['jobs'], message: `job "${j}" is declared in modhost.json but the entry does not implement it` });
  return issues;
}
