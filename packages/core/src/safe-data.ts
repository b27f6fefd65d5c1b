import type { Issue } from './errors.js';

/** Keys that can rewrite prototypes when merged or assigned; rejected anywhere in input. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** True for `{}`-style objects (prototype is Object.prototype or null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Data nested deeper than this is rejected, so later recursive copies cannot overflow the stack. */
const MAX_DEPTH = 64;

const tooDeep = `nested deeper than ${MAX_DEPTH} levels; flatten the data`;

/** A path as a parent-linked list, so a deep walk does not copy arrays at every level. */
interface PathNode {
  readonly parent: PathNode | undefined;
  readonly seg: string | number;
}

function materialize(base: readonly (string | number)[], node: PathNode | undefined): (string | number)[] {
  const segs: (string | number)[] = [];
  for (let n = node; n; n = n.parent) segs.push(n.seg);
  return [...base, ...segs.reverse()];
}

/**
 * Walks `value` without recursion and in linear time (hostile input may be very deep) and
 * reports every prototype-polluting key with its path. `skip` prunes subtrees that are not
 * data (a schema object); it is given the path relative to `value`.
 */
export function findForbiddenKeys(
  value: unknown,
  basePath: readonly (string | number)[] = [],
  skip?: (node: unknown, path: readonly (string | number)[]) => boolean,
): Issue[] {
  const issues: Issue[] = [];
  const seen = new Set<unknown>();
  const stack: [unknown, PathNode | undefined, number][] = [[value, undefined, 0]];
  while (stack.length > 0) {
    const [node, path, depth] = stack.pop() as [unknown, PathNode | undefined, number];
    if (node === null || typeof node !== 'object' || seen.has(node)) continue;
    if (skip && depth <= 4 && skip(node, materialize([], path))) continue;
    seen.add(node);
    if (depth >= MAX_DEPTH) {
      issues.push({ path: materialize(basePath, path), message: tooDeep });
      continue;
    }
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], { parent: path, seg: i }, depth + 1]);
      continue;
    }
    for (const key of Object.keys(node)) {
      if (FORBIDDEN_KEYS.has(key)) {
        issues.push({ path: materialize(basePath, { parent: path, seg: key }), message: `key "${key}" is not allowed (prototype pollution)` });
        continue;
      }
      stack.push([(node as Record<string, unknown>)[key], { parent: path, seg: key }, depth + 1]);
    }
  }
  return issues;
}

/**
 * Checks that `value` is JSON data (plain objects, arrays, strings, finite numbers, booleans, null)
 * with no forbidden keys and no shared or circular references, and reports every problem with its path.
 */
export function findNonJsonData(value: unknown, basePath: readonly (string | number)[] = []): Issue[] {
  const issues: Issue[] = [];
  const stack: [unknown, PathNode | undefined, number][] = [[value, undefined, 0]];
  const seen = new Set<unknown>();
  const at = (path: PathNode | undefined) => materialize(basePath, path);
  while (stack.length > 0) {
    const [node, path, depth] = stack.pop() as [unknown, PathNode | undefined, number];
    if (node === null || typeof node === 'string' || typeof node === 'boolean') continue;
    if (typeof node === 'number') {
      if (!Number.isFinite(node)) issues.push({ path: at(path), message: 'numbers must be finite' });
      continue;
    }
    if (typeof node !== 'object') {
      issues.push({ path: at(path), message: `${typeof node} is not JSON data` });
      continue;
    }
    if (seen.has(node)) {
      issues.push({ path: at(path), message: 'value is circular or shared; use plain JSON data' });
      continue;
    }
    seen.add(node);
    if (depth >= MAX_DEPTH) {
      issues.push({ path: at(path), message: tooDeep });
      continue;
    }
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], { parent: path, seg: i }, depth + 1]);
      continue;
    }
    if (!isPlainObject(node)) {
      issues.push({ path: at(path), message: 'only plain objects are allowed' });
      continue;
    }
    for (const key of Object.keys(node)) {
      if (FORBIDDEN_KEYS.has(key)) {
        issues.push({ path: at({ parent: path, seg: key }), message: `key "${key}" is not allowed (prototype pollution)` });
      } else {
        stack.push([node[key], { parent: path, seg: key }, depth + 1]);
      }
    }
  }
  return issues;
}

/** Formats an issue path as `a.b[0].c` for messages. */
export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Deep-copies JSON data into fresh plain objects (never assigning forbidden keys). */
export function cloneData<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => cloneData(v)) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    out[key] = cloneData((value as Record<string, unknown>)[key]);
  }
  return out as T;
}

/** JSON with object keys sorted, so equal data always gives equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

/** A fast 53-bit string hash (cyrb53), as 14 hex digits. For change detection, not security. */
export function hashString(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}
