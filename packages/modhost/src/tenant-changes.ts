import { type Issue, isValidModuleName, ModhostError } from '@modhost/core';
import { assertTenant, findNonJsonData, isPlainObject } from '@modhost/core/internal';
import semver from 'semver';

type Path = readonly (string | number)[];

/** One module of one tenant, as the input asks for it. */
export interface WantedModule {
  readonly name: string;
  /** Where it is in the input, for problems. */
  readonly path: Path;
  readonly enabled: boolean;
  readonly range: string | undefined;
  readonly config: Record<string, unknown> | undefined;
}

/** One tenant, as the input asks for it. */
export interface WantedTenant {
  readonly tenant: string;
  readonly mode: 'replace' | 'merge';
  readonly modules: readonly WantedModule[];
}

const unknownKeys = (value: Record<string, unknown>, allowed: readonly string[], path: Path): Issue[] =>
  Object.keys(value)
    .filter((k) => !allowed.includes(k))
    .map((k) => ({ path: [...path, k], message: `unknown key; expected ${allowed.map((a) => `"${a}"`).join(' or ')}` }));

const moduleNameIssue = (name: unknown, path: Path): Issue[] =>
  isValidModuleName(name) ? [] : [{ path, message: `${JSON.stringify(name)} is not a module name (lowercase npm-style, e.g. "billing")` }];

function parseModule(name: string, value: unknown, path: Path, issues: Issue[]): WantedModule {
  issues.push(...moduleNameIssue(name, path));
  if (!isPlainObject(value)) {
    issues.push({ path, message: 'must be an object: { enabled?, range?, config? }' });
    return { name, path, enabled: true, range: undefined, config: undefined };
  }
  issues.push(...unknownKeys(value, ['enabled', 'range', 'config'], path));
  const { enabled = true, range, config } = value;
  if (typeof enabled !== 'boolean') issues.push({ path: [...path, 'enabled'], message: 'must be true or false' });
  if (range !== undefined) {
    if (typeof range !== 'string' || semver.validRange(range) === null)
      issues.push({ path: [...path, 'range'], message: `${JSON.stringify(range)} is not a semver range such as "^1.2.0"` });
    else if (enabled === false) issues.push({ path: [...path, 'range'], message: 'a module being disabled has no range; remove it' });
  }
  if (config !== undefined) {
    if (!isPlainObject(config)) issues.push({ path: [...path, 'config'], message: 'must be an object of config values' });
    else issues.push(...findNonJsonData(config, [...path, 'config']));
  }
  return {
    name,
    path,
    enabled: enabled !== false,
    range: typeof range === 'string' ? range : undefined,
    config: isPlainObject(config) ? config : undefined,
  };
}

function parseTenant(tenant: string, value: unknown, path: Path, issues: Issue[]): WantedTenant {
  try {
    assertTenant(tenant);
  } catch (e) {
    issues.push({ path, message: (e as Error).message });
  }
  if (!isPlainObject(value)) {
    issues.push({ path, message: 'must be an object: { modules, mode? }' });
    return { tenant, mode: 'replace', modules: [] };
  }
  issues.push(...unknownKeys(value, ['modules', 'mode'], path));
  const mode = value.mode ?? 'replace';
  if (mode !== 'replace' && mode !== 'merge') issues.push({ path: [...path, 'mode'], message: 'must be "replace" or "merge"' });
  const at = [...path, 'modules'];
  const modules: WantedModule[] = [];
  if (Array.isArray(value.modules)) {
    const seen = new Set<unknown>();
    for (const [i, name] of value.modules.entries()) {
      if (seen.has(name)) issues.push({ path: [...at, i], message: `${JSON.stringify(name)} is listed twice` });
      seen.add(name);
      issues.push(...moduleNameIssue(name, [...at, i]));
      if (typeof name === 'string') modules.push({ name, path: [...at, i], enabled: true, range: undefined, config: undefined });
    }
  } else if (isPlainObject(value.modules)) {
    for (const [name, m] of Object.entries(value.modules)) modules.push(parseModule(name, m, [...at, name], issues));
  } else {
    issues.push({ path: at, message: 'must be a list of module names, or an object of { enabled?, range?, config? } by module name' });
  }
  return { tenant, mode: mode === 'merge' ? 'merge' : 'replace', modules };
}

/**
 * Checks `input` against `TenantChanges` (every issue, with its JSON path) and returns it per tenant, in input
 * order. Throws `INVALID_ARGUMENT` with `details.issues`: a malformed input is the caller's mistake, not an outcome.
 */
export function parseTenantChanges(input: unknown): WantedTenant[] {
  const issues: Issue[] = [];
  const tenants: WantedTenant[] = [];
  if (!isPlainObject(input)) issues.push({ path: [], message: 'must be an object: { tenants: { [tenant]: { modules, mode? } } }' });
  else {
    issues.push(...unknownKeys(input, ['tenants'], []));
    if (!isPlainObject(input.tenants)) issues.push({ path: ['tenants'], message: 'must be an object of changes by tenant id' });
    else for (const [tenant, change] of Object.entries(input.tenants)) tenants.push(parseTenant(tenant, change, ['tenants', tenant], issues));
  }
  if (issues.length > 0) {
    const list = issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ModhostError(
      'INVALID_ARGUMENT',
      `tenants.apply: the changes are not valid (${issues.length} issue(s)): ${list.slice(0, 5).join('; ')}${list.length > 5 ? '; …' : ''}. Nothing was changed.`,
      { details: { argument: 'changes', issues } },
    );
  }
  return tenants;
}
