import type { Issue } from './errors.js';
import { type AnyModuleDefinition, DEFINITION_FIELDS, HOOK_FIELDS } from './module.js';
import { findForbiddenKeys, findNonJsonData, isPlainObject } from './safe-data.js';
import { isValidSemver } from './semver.js';
import { checkCatalogFields } from './validate-metadata.js';

/** npm's name rules: lower case, URL-safe, optionally scoped (also at most 214 characters, checked apart). */
export const MODULE_NAME_PATTERN: RegExp = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/;
/** `<domain>:<action>[:<scope>]`; the scope is free text (paths, hosts) without whitespace. */
export const PERMISSION_PATTERN: RegExp = /^[a-z][a-z0-9-]*:[a-z*][a-z0-9-*]*(?::\S+)?$/;
const NAME = MODULE_NAME_PATTERN;
const PERMISSION = PERMISSION_PATTERN;
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
const STATE_MODES = new Set(['stateless', 'snapshot', 'quiesce']);
const KNOWN = new Set<string>(DEFINITION_FIELDS);

type Path = readonly (string | number)[];

/** True when `name` follows npm's package-name rules. */
export function isValidModuleName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= 214 && NAME.test(name);
}

/** True when `permission` matches `<domain>:<action>[:<scope>]`. */
export function isValidPermission(permission: unknown): permission is string {
  return typeof permission === 'string' && permission.length <= 512 && PERMISSION.test(permission);
}

/** The result of {@link validateDefinition}: the definition, or every problem with its path. */
export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: Issue[] };

/**
 * Checks a module definition that may come from plain JS or from outside, and reports
 * every problem with its path (it does not stop at the first). Returns, never throws.
 */
export function validateDefinition(input: unknown): ValidationResult<AnyModuleDefinition> {
  if (!isPlainObject(input)) {
    return { ok: false, issues: [{ path: [], message: 'a module definition must be a plain object' }] };
  }
  // Schema objects are library instances, not data: skip them when hunting forbidden keys.
  const issues: Issue[] = findForbiddenKeys(input, [], (_node, path) => path.length === 2 && path[0] === 'config' && path[1] === 'schema');
  const add = (path: Path, message: string) => issues.push({ path, message });
  const d = input;

  for (const key of Object.keys(d)) {
    if (!KNOWN.has(key) && !issues.some((i) => i.path.length === 1 && i.path[0] === key)) {
      add([key], `unknown field "${key}"; allowed fields are ${DEFINITION_FIELDS.join(', ')}`);
    }
  }
  if (!isValidModuleName(d.name)) {
    add(['name'], 'name must be an npm-style name: lower case letters, digits, "-", ".", "_", "~", optionally "@scope/", at most 214 characters');
  }
  if (typeof d.version !== 'string' || !isValidSemver(d.version)) {
    add(['version'], 'version must be a semver.org version such as "1.2.3" or "2.0.0-beta.1"');
  }
  for (const field of ['description', 'author', 'license'] as const) {
    if (d[field] !== undefined && typeof d[field] !== 'string') add([field], `${field} must be a string`);
  }
  checkCatalogFields(d, add);
  checkEngines(d.engines, add);
  checkDependencies(d, add);
  checkPermissions(d.permissions, add);
  checkConfig(d.config, add);
  checkRoutes(d.routes, add);
  checkNamedList(d.jobs, 'jobs', 'name', add, (job, path) => {
    const s = job.schedule;
    const okSchedule = (typeof s === 'string' && s.trim() !== '') || (isPlainObject(s) && typeof s.everyMs === 'number' && s.everyMs > 0);
    if (!okSchedule) add([...path, 'schedule'], 'schedule must be a cron string or { everyMs: <positive number> }');
    if (typeof job.run !== 'function') add([...path, 'run'], 'run must be a function');
    for (const n of ['timeout', 'retries'] as const) {
      if (job[n] !== undefined && !(typeof job[n] === 'number' && (job[n] as number) >= 0)) add([...path, n], `${n} must be a non-negative number`);
    }
  });
  checkNamedList(d.migrations, 'migrations', 'name', add, (m, path) => {
    if (typeof m.up !== 'function') add([...path, 'up'], 'up must be a function');
    if (m.down !== undefined && typeof m.down !== 'function') add([...path, 'down'], 'down must be a function');
  });
  checkUi(d.ui, add);
  if (d.extensions !== undefined) {
    if (!isPlainObject(d.extensions)) add(['extensions'], 'extensions must be an object of extension point → array');
    else for (const [k, v] of Object.entries(d.extensions)) if (!Array.isArray(v)) add(['extensions', k], 'each extension point takes an array of entries');
  }
  if (d.stateMode !== undefined && !STATE_MODES.has(d.stateMode as string)) {
    add(['stateMode'], 'stateMode must be "stateless", "snapshot" or "quiesce"');
  }
  for (const hook of HOOK_FIELDS) {
    if (d[hook] !== undefined && typeof d[hook] !== 'function') add([hook], `${hook} must be a function`);
  }
  if (d.storageScope !== undefined && d.storageScope !== 'module' && d.storageScope !== 'tenant') {
    add(['storageScope'], 'storageScope must be "module" or "tenant"');
  }
  if ((d.stateMode === 'snapshot' || d.stateMode === 'quiesce') && (typeof d.exportState !== 'function' || typeof d.importState !== 'function')) {
    add(['stateMode'], `stateMode "${String(d.stateMode)}" needs both exportState and importState hooks`);
  }
  return issues.length === 0 ? { ok: true, value: input as unknown as AnyModuleDefinition } : { ok: false, issues };
}

type Add = (path: Path, message: string) => void;

function checkEngines(engines: unknown, add: Add): void {
  if (engines === undefined) return;
  if (!isPlainObject(engines)) {
    add(['engines'], 'engines must be an object such as { host: "^2.0.0", node: ">=20" }');
    return;
  }
  for (const [k, v] of Object.entries(engines)) {
    if (k !== 'host' && k !== 'node') add(['engines', k], `unknown engine "${k}"; "host" and "node" are supported`);
    else if (typeof v !== 'string' || v.trim() === '') add(['engines', k], `engines.${k} must be a non-empty semver range`);
  }
}

function checkDependencies(d: Record<string, unknown>, add: Add): void {
  const seen = new Set<string>();
  for (const field of ['dependencies', 'optionalDependencies'] as const) {
    const deps = d[field];
    if (deps === undefined) continue;
    if (!isPlainObject(deps)) {
      add([field], `${field} must be an object of module name → semver range`);
      continue;
    }
    for (const [name, range] of Object.entries(deps)) {
      if (!isValidModuleName(name)) add([field, name], `"${name}" is not a valid module name`);
      if (name === d.name) add([field, name], 'a module cannot depend on itself');
      if (seen.has(name)) add([field, name], `"${name}" is listed in both dependencies and optionalDependencies`);
      seen.add(name);
      if (typeof range !== 'string' || range.trim() === '') add([field, name], 'the range must be a non-empty string such as "^1.2.0" or "*"');
    }
  }
}

function checkPermissions(permissions: unknown, add: Add): void {
  if (permissions === undefined) return;
  if (!Array.isArray(permissions)) {
    add(['permissions'], 'permissions must be an array of strings');
    return;
  }
  const seen = new Set<unknown>();
  permissions.forEach((p, i) => {
    if (!isValidPermission(p)) add(['permissions', i], `"${String(p)}" is not a permission; use <domain>:<action>[:<scope>], e.g. "tasks:read"`);
    else if (seen.has(p)) add(['permissions', i], `permission "${p}" is listed twice`);
    seen.add(p);
  });
}

function checkConfig(config: unknown, add: Add): void {
  if (config === undefined) return;
  if (!isPlainObject(config)) {
    add(['config'], 'config must be an object { schema, defaults?, presets?, sensitive? }');
    return;
  }
  for (const key of Object.keys(config)) {
    if (!['schema', 'defaults', 'presets', 'sensitive'].includes(key)) add(['config', key], `unknown config field "${key}"`);
  }
  const standard = (config.schema as { '~standard'?: { validate?: unknown } } | undefined)?.['~standard'];
  if (typeof standard?.validate !== 'function') {
    add(['config', 'schema'], 'config.schema must be a Standard Schema (a zod, valibot or arktype schema)');
  }
  if (config.defaults !== undefined) {
    if (!isPlainObject(config.defaults)) add(['config', 'defaults'], 'config.defaults must be an object');
    else for (const i of findNonJsonData(config.defaults, ['config', 'defaults'])) add(i.path, i.message);
  }
  if (config.presets !== undefined) {
    if (!isPlainObject(config.presets)) add(['config', 'presets'], 'config.presets must be an object of preset name → values');
    else for (const i of findNonJsonData(config.presets, ['config', 'presets'])) add(i.path, i.message);
  }
  if (config.sensitive !== undefined) {
    if (!Array.isArray(config.sensitive)) add(['config', 'sensitive'], 'config.sensitive must be an array of dotted paths');
    else
      config.sensitive.forEach((p, i) => {
        if (typeof p !== 'string' || !/^[^.\s]+(\.[^.\s]+)*$/.test(p))
          add(['config', 'sensitive', i], 'each sensitive entry must be a dotted path such as "apiKey" or "db.password"');
      });
  }
}

function checkRoutes(routes: unknown, add: Add): void {
  if (routes === undefined) return;
  if (!Array.isArray(routes)) {
    add(['routes'], 'routes must be an array of { method, path, handler }');
    return;
  }
  const seen = new Map<string, number>();
  routes.forEach((r, i) => {
    if (!isPlainObject(r)) {
      add(['routes', i], 'each route must be an object { method, path, handler }');
      return;
    }
    if (typeof r.method !== 'string' || !METHODS.has(r.method)) add(['routes', i, 'method'], `method must be one of ${[...METHODS].join(', ')} (upper case)`);
    if (typeof r.path !== 'string' || !/^\/[^\s?#]*$/.test(r.path)) add(['routes', i, 'path'], 'path must start with "/" and contain no spaces, "?" or "#"');
    if (typeof r.handler !== 'function') add(['routes', i, 'handler'], 'handler must be a function');
    if (r.permission !== undefined && (typeof r.permission !== 'string' || r.permission.trim() === ''))
      add(['routes', i, 'permission'], 'permission must be a non-empty string');
    const accepts = typeof r.accepts === 'string' ? [r.accepts] : r.accepts;
    if (
      accepts !== undefined &&
      !(Array.isArray(accepts) && accepts.length > 0 && accepts.every((a) => typeof a === 'string' && /^[\w.+-]+\/[\w.+*-]+$/.test(a)))
    )
      add(['routes', i, 'accepts'], 'accepts must be a media type such as "application/json" or "text/*", or a non-empty array of them');
    if (typeof r.method === 'string' && typeof r.path === 'string') {
      // `/a/:id` and `/a/:key` match the same requests: compare with parameter names erased.
      const key = `${r.method} ${r.path.replace(/:[^/]+/g, ':').replace(/\/+$/, '') || '/'}`;
      const first = seen.get(key);
      if (first !== undefined) add(['routes', i], `duplicate route ${r.method} ${r.path} (same as routes[${first}])`);
      else seen.set(key, i);
    }
  });
}

function checkNamedList(list: unknown, field: string, nameKey: string, add: Add, each: (item: Record<string, unknown>, path: Path) => void): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) {
    add([field], `${field} must be an array`);
    return;
  }
  const seen = new Set<unknown>();
  list.forEach((item, i) => {
    if (!isPlainObject(item)) {
      add([field, i], `each entry of ${field} must be an object`);
      return;
    }
    const name = item[nameKey];
    if (typeof name !== 'string' || name.trim() === '') add([field, i, nameKey], `${nameKey} must be a non-empty string`);
    else if (seen.has(name)) add([field, i, nameKey], `duplicate ${nameKey} "${name}" in ${field}`);
    seen.add(name);
    each(item, [field, i]);
  });
}

function checkUi(ui: unknown, add: Add): void {
  if (ui === undefined) return;
  if (!isPlainObject(ui)) {
    add(['ui'], 'ui must be an object { pages?, navigation? }');
    return;
  }
  for (const key of Object.keys(ui)) if (key !== 'pages' && key !== 'navigation') add(['ui', key], `unknown ui field "${key}"`);
  checkNamedList(
    ui.pages,
    'pages',
    'id',
    (p, m) => add(['ui', ...p], m),
    (page, path) => {
      if (typeof page.path !== 'string' || !page.path.startsWith('/')) add(['ui', ...path, 'path'], 'page path must start with "/"');
      if (typeof page.title !== 'string' || page.title === '') add(['ui', ...path, 'title'], 'page title must be a non-empty string');
    },
  );
  checkNamedList(
    ui.navigation,
    'navigation',
    'label',
    (p, m) => add(['ui', ...p], m),
    (nav, path) => {
      if (typeof nav.path !== 'string' || !nav.path.startsWith('/')) add(['ui', ...path, 'path'], 'navigation path must start with "/"');
      if (nav.order !== undefined && typeof nav.order !== 'number') add(['ui', ...path, 'order'], 'order must be a number');
    },
  );
}
