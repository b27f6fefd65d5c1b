import { ModhostError } from '@modhost/core';

/** A permission string taken apart: `<domain>:<action>[:<scope>]`. */
export interface Permission {
  readonly domain: string;
  readonly action: string;
  readonly scope: string | undefined;
  /** The string as written. */
  readonly text: string;
}

const GRAMMAR = /^([a-z][a-z0-9-]*):([a-z*][a-z0-9-*]*)(?::(\S+))?$/;
/** Domains whose scope is a resource and must be written out (no blanket `fs:read`). */
const SCOPED_DOMAINS = new Set(['fs', 'net']);

/**
 * Parses a permission string, or throws `MANIFEST_INVALID` saying what the grammar is. `fs:*` and `net:*`
 * permissions must name their scope: a blanket `fs:read` would be everything, and the model is allow-list only.
 */
export function parsePermission(text: string): Permission {
  const m = typeof text === 'string' && text.length <= 512 ? GRAMMAR.exec(text) : null;
  if (!m) {
    throw new ModhostError(
      'MANIFEST_INVALID',
      `"${String(text)}" is not a permission; write <domain>:<action>[:<scope>], e.g. "tasks:read" or "fs:read:./data"`,
      {
        details: { permission: String(text) },
      },
    );
  }
  const [, domain = '', action = '', scope] = m;
  if (SCOPED_DOMAINS.has(domain) && scope === undefined) {
    throw new ModhostError('MANIFEST_INVALID', `"${text}" needs a scope: write ${domain === 'fs' ? '"fs:read:./data"' : '"net:fetch:api.example.com"'}`, {
      details: { permission: text },
    });
  }
  if (domain === 'net' && scope !== undefined) normalizeHost(scope, text);
  return { domain, action, scope, text };
}

/**
 * Normalises a network scope to `host:port`: lower case, no trailing dot, the port defaulting to 443
 * (`http://` scopes default to 80). A leading `*.` matches subdomains (not the bare domain).
 */
export function normalizeHost(scope: string, permission = scope): string {
  let rest = scope.toLowerCase();
  let port = '443';
  if (rest.startsWith('https://')) rest = rest.slice(8);
  else if (rest.startsWith('http://')) {
    rest = rest.slice(7);
    port = '80';
  }
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  const bracket = rest.startsWith('[') ? rest.indexOf(']') : -1;
  const colon = rest.lastIndexOf(':');
  if (colon > bracket) {
    port = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (rest.endsWith('.')) rest = rest.slice(0, -1);
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535 || !/^(\*\.)?[a-z0-9.[\]:-]+$/.test(rest) || rest.includes('/') || rest === '*.') {
    throw new ModhostError('MANIFEST_INVALID', `"${permission}": "${scope}" is not a host; write host[:port], e.g. "api.example.com" or "localhost:8080"`, {
      details: { permission },
    });
  }
  return `${rest}:${Number(port)}`;
}

/** True when a granted network scope (normalised) allows `host:port` (normalised). */
export function hostMatches(granted: string, target: string): boolean {
  if (granted === target) return true;
  if (!granted.startsWith('*.')) return false;
  // `*.example.com:443` allows `a.example.com:443` and `a.b.example.com:443`, never `example.com` or `badexample.com`.
  return target.endsWith(granted.slice(1)) && target.length > granted.length - 1;
}

/**
 * True when `granted` allows `requested`, by their strings alone: same domain, same action (or `*`), and for
 * network scopes the normalised host and port. File scopes compare as lexical paths here; the fs capability
 * checks the real path (after symlinks) every time it is used.
 */
export function permits(granted: Permission, requested: Permission): boolean {
  if (granted.domain !== requested.domain) return false;
  if (granted.action !== '*' && granted.action !== requested.action) return false;
  if (granted.scope === requested.scope) return true;
  if (granted.scope === undefined || requested.scope === undefined) return false;
  if (granted.domain === 'net') return hostMatches(normalizeHost(granted.scope), normalizeHost(requested.scope));
  if (granted.domain === 'fs') return isWithinLexically(granted.scope, requested.scope);
  return false;
}

/** `./data` contains `./data/x` and `data/x/y`, but not `./database` or `./data/../etc`. */
function isWithinLexically(outer: string, inner: string): boolean {
  if (isAbsolutePath(outer) !== isAbsolutePath(inner)) return false;
  const a = lexicalSegments(outer);
  const b = lexicalSegments(inner);
  if (a === undefined || b === undefined || b.length < a.length) return false;
  return a.every((s, i) => s === b[i]);
}

/** Splits a relative path into segments, resolving `.` and `..`; `undefined` when it climbs above its root. */
function lexicalSegments(path: string): string[] | undefined {
  const out: string[] = [];
  for (const s of path.split(/[\\/]+/)) {
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(s);
  }
  return out;
}

/** `/x`, `\\x` and `C:\\x` are absolute; scopes without that are relative to the module's root. */
function isAbsolutePath(path: string): boolean {
  return /^([\\/]|[a-zA-Z]:[\\/])/.test(path);
}
