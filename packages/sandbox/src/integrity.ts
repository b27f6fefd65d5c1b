import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { ModhostError } from '@modhost/core';
import { followLinks, isWithin } from './fs-scope.js';

/** One file in an integrity record. */
export interface FileIntegrity {
  /** Path relative to the module's root, with `/` separators. */
  readonly path: string;
  readonly size: number;
  /** `sha512-<base64>` of the file's bytes (of the link text for a symlink). */
  readonly integrity: string;
  readonly symlink?: true;
}

/** The integrity of a module folder: one SRI hash over the canonical file list, and the list itself. */
export interface IntegrityRecord {
  /** `sha512-<base64>`, SRI format. */
  readonly integrity: string;
  readonly files: readonly FileIntegrity[];
}

/** Options for {@link computeIntegrity}. */
export interface IntegrityOptions {
  /**
   * Folder or file names left out **at the module's root only** (default `.git` and `modhost.sig`). The same name
   * deeper down is hashed, and so is everything else, bundled `node_modules/` included: whatever a module can
   * run is covered. Setting this replaces the default list.
   */
  ignore?: readonly string[];
}

// Only what cannot run: the repository's own metadata, and the signature (which signs the rest).
const DEFAULT_IGNORE = ['.git', 'modhost.sig'];
const sri = (data: string | Uint8Array) => `sha512-${createHash('sha512').update(data).digest('base64')}`;

/**
 * Hashes a module folder. The canonical list is every file's relative path (with `/`), sorted by code unit,
 * each line `path NUL size NUL sha512-of-contents LF`; the record's integrity is sha-512 over that list. Symlinks
 * are recorded by their target text and never followed, so a link swapped to point elsewhere changes the hash.
 * Only the names in `options.ignore` at the root are left out (see {@link IntegrityOptions}).
 */
export async function computeIntegrity(root: string, options: IntegrityOptions = {}): Promise<IntegrityRecord> {
  const ignore = new Set(options.ignore ?? DEFAULT_IGNORE);
  const files: FileIntegrity[] = [];
  const stack = [''];
  while (stack.length > 0) {
    const rel = stack.pop() as string;
    for (const entry of await readdir(join(root, rel), { withFileTypes: true })) {
      if (rel === '' && ignore.has(entry.name)) continue;
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const full = join(root, path);
      if (entry.isSymbolicLink()) {
        const target = await readlink(full);
        files.push({ path, size: target.length, integrity: sri(target), symlink: true });
      } else if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile()) {
        const bytes = await readFile(full);
        files.push({ path, size: bytes.length, integrity: sri(bytes) });
      }
    }
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const list = files.map((f) => `${f.path}\u0000${f.size}\u0000${f.integrity}${f.symlink ? '\u0000symlink' : ''}\n`).join('');
  return { integrity: sri(list), files };
}

/** Why the link at `path` is not safe to ship (leads out, or through a link outside, which could be re-pointed unseen), or `undefined`. */
async function linkLeavesModule(realRoot: string, path: string): Promise<string | undefined> {
  const { leads, links } = await followLinks(path);
  const through = links.find((l) => !isWithin(realRoot, l));
  if (through !== undefined) return `goes through ${through}, a link outside the folder`;
  // A loop of links leads nowhere, so it reaches nothing outside.
  return leads === undefined || isWithin(realRoot, leads) ? undefined : `leads outside the folder (to ${leads})`;
}

/**
 * Throws `LINK_OUTSIDE_MODULE` for the first symlink in `record` that leads outside the module's real folder,
 * following links as the OS would, or that goes through a link outside it. A dangling link counts by where it
 * would land, so one that points out is refused before its target exists. Links that stay inside are fine:
 * what they reach is hashed on its own.
 */
export async function assertLinksInside(root: string, record: IntegrityRecord, module: string, who = module): Promise<void> {
  const realRoot = await realpath(root);
  for (const file of record.files) {
    const why = file.symlink ? await linkLeavesModule(realRoot, join(realRoot, file.path)) : undefined;
    if (why === undefined) continue;
    const target = await readlink(join(realRoot, file.path));
    throw new ModhostError(
      'LINK_OUTSIDE_MODULE',
      `${who}: its folder ships a link "${file.path}" -> "${target}" that ${why}, so what it runs could change unseen. It was not installed. Ship the file itself instead of a link to it (links inside the folder are fine)`,
      { details: { module, path: file.path, target } },
    );
  }
}

/**
 * What `sandbox.admit()` stores per name@version: the folder's integrity, who signed it, and `dev: true` when a
 * sandbox in development mode recorded it (its files may be edited in place, so only development mode loads it).
 */
export interface StoredIntegrity extends IntegrityRecord {
  readonly signedBy?: string;
  readonly dev?: true;
}

/** The `INTEGRITY_MISMATCH` a sandbox not in development mode throws for a version recorded in development mode. */
export function devRecordRefused(name: string, version: string): ModhostError {
  return new ModhostError(
    'INTEGRITY_MISMATCH',
    `${name}@${version} was recorded in development mode (createHost({ dev: true }) or modhost dev), where its files may change without a new version, so a host not in development mode does not load it. Bump its version to publish the change, or forget the development records with forgetDevVersions(storage) from modhost (or: modhost dev --forget --storage <file>) and load it again`,
    { details: { module: name, version, dev: true } },
  );
}

/** Where `sandbox.admit()` records a module version's integrity in the storage port. */
export function integrityKey(name: string, version: string, namespace = 'modhost'): string {
  return `${encodeURIComponent(namespace)}:integrity:${encodeURIComponent(name)}@${encodeURIComponent(version)}`;
}

/** What changed between a recorded integrity and a folder now. */
export interface IntegrityDiff {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
}

function diff(recorded: IntegrityRecord, now: IntegrityRecord): IntegrityDiff {
  const before = new Map(recorded.files.map((f) => [f.path, f.integrity]));
  const after = new Map(now.files.map((f) => [f.path, f.integrity]));
  return {
    added: [...after.keys()].filter((p) => !before.has(p)),
    removed: [...before.keys()].filter((p) => !after.has(p)),
    changed: [...after].filter(([p, h]) => before.has(p) && before.get(p) !== h).map(([p]) => p),
  };
}

/**
 * Hashes the folder again and throws `INTEGRITY_MISMATCH` (listing added, removed and changed files) unless it
 * matches the record. Returns the fresh record.
 */
export async function verifyIntegrity(root: string, recorded: IntegrityRecord, who: string, options: IntegrityOptions = {}): Promise<IntegrityRecord> {
  let now: IntegrityRecord;
  try {
    now = await computeIntegrity(root, options);
  } catch (cause) {
    throw new ModhostError('INTEGRITY_MISMATCH', `${who}: cannot read its files at ${root} to check them; reinstall it`, {
      cause,
      details: { module: who, root },
    });
  }
  if (now.integrity === recorded.integrity) return now;
  const d = diff(recorded, now);
  const parts = [
    d.changed.length ? `changed: ${d.changed.join(', ')}` : '',
    d.added.length ? `added: ${d.added.join(', ')}` : '',
    d.removed.length ? `removed: ${d.removed.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  throw new ModhostError(
    'INTEGRITY_MISMATCH',
    `${who}: its files no longer match the integrity recorded when it was installed (${parts}). It was not loaded. Reinstall it from a trusted source`,
    { details: { module: who, root, recorded: recorded.integrity, now: now.integrity, ...d } },
  );
}

/** A signature over a module's identity and integrity, as stored next to it (`modhost.sig`). */
export interface ModuleSignature {
  /** Which trusted key made it. */
  readonly keyId: string;
  /** Base64 ed25519 signature. */
  readonly signature: string;
}

/** What a signature covers. */
export interface SignedSubject {
  readonly name: string;
  readonly version: string;
  readonly integrity: string;
}

const message = (s: SignedSubject) => Buffer.from(`modhost-signature-v1\n${s.name}@${s.version}\n${s.integrity}\n`, 'utf8');

/** Signs a module with an ed25519 private key (a `KeyObject` or PEM). */
export function signModule(subject: SignedSubject, privateKey: KeyObject | string, keyId: string): ModuleSignature {
  return { keyId, signature: sign(null, message(subject), privateKey).toString('base64') };
}

/** Keys the host trusts: key id → ed25519 public key (`KeyObject` or PEM). */
export type TrustedKeys = Readonly<Record<string, KeyObject | string>>;

/**
 * Verifies a module's signature against the trusted keys. Returns the key id; throws `SIGNATURE_INVALID`
 * when it is missing, malformed, made by an unknown key, or does not match.
 */
export function verifySignature(subject: SignedSubject, signature: unknown, trusted: TrustedKeys): string {
  const who = `${subject.name}@${subject.version}`;
  const fail = (why: string, details: Record<string, unknown> = {}) =>
    new ModhostError('SIGNATURE_INVALID', `${who}: ${why}. It was not loaded`, { details: { module: subject.name, version: subject.version, ...details } });
  if (signature === undefined || signature === null)
    throw fail('the host requires signed modules and this one has no signature (modhost.sig); sign it with a trusted key');
  const sig = signature as Partial<ModuleSignature>;
  if (typeof sig.keyId !== 'string' || typeof sig.signature !== 'string') throw fail('its signature is not { keyId, signature }');
  if (!Object.hasOwn(trusted, sig.keyId))
    throw fail(`it is signed by key "${sig.keyId}", which the host does not trust; add the key to trustedKeys if you trust it`, { keyId: sig.keyId });
  const key = trusted[sig.keyId] as KeyObject | string;
  let ok = false;
  try {
    ok = verify(null, message(subject), typeof key === 'string' ? createPublicKey(key) : key, Buffer.from(sig.signature, 'base64'));
  } catch (cause) {
    throw fail(`its signature could not be checked: ${cause instanceof Error ? cause.message : String(cause)}`, { keyId: sig.keyId });
  }
  if (!ok) throw fail(`its signature does not match its files (or was made for another name or version) with key "${sig.keyId}"`, { keyId: sig.keyId });
  return sig.keyId;
}
