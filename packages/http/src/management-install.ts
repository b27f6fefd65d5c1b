// Installing a module through the API: from a folder inside an allowed root, or from an uploaded package.
import { readdir, realpath, rm } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { ModhostError } from '@modhost/core';
import { readManifest } from '@modhost/manifest';
import { registryStatus } from './management-status.js';
import type { ManagementHost, ModuleStatusLike } from './management-types.js';
import { servesView, summary } from './management-view.js';
import { type UnpackOptions, unpackModulePackage } from './package-archive.js';

/** A module package uploaded as the request body, and where and within what it is unpacked. */
export interface UploadedPackage extends UnpackOptions {
  readonly bytes: Uint8Array;
}

/** An install's answer (201 with the module) and what the audit record says it added. */
const installed = (host: ManagementHost, m: ModuleStatusLike, busy: (name: string) => string | undefined, after: Record<string, unknown>) => ({
  status: 201,
  body: summary(m, registryStatus(m, busy(m.name), servesView(host, m.name, undefined))),
  before: null,
  after: { name: m.name, version: m.version, ...after },
});

/** Installs from a folder, which must resolve (links followed) inside one of `roots`. */
export async function installFolder(host: ManagementHost, path: string, roots: readonly string[], busy: (name: string) => string | undefined) {
  const dir = await allowedFolder(path, roots);
  return installed(host, await host.install(dir), busy, { dir });
}

/**
 * Installs an uploaded package: unpacked into a fresh folder (checked in full before a byte is written), then
 * `host.install`, which records its integrity and checks its signature (when there is one, or the host requires
 * one) before any of its code runs. A package the host refuses leaves no folder behind.
 */
export async function installUpload(host: ManagementHost, upload: UploadedPackage, busy: (name: string) => string | undefined) {
  const dir = await unpackModulePackage(upload.bytes, upload);
  let m: ModuleStatusLike;
  try {
    m = await host.install(dir);
  } catch (e) {
    // Kept only if the host holds on to it (it loaded the folder before failing): its code may run from there.
    const held = await host.status().then(
      (s) => s.modules.some((x) => x.dir === dir),
      () => true,
    );
    if (!held) await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw e;
  }
  return installed(host, m, busy, { dir, upload: { bytes: upload.bytes.byteLength } });
}

/**
 * Removes the upload folders under `root` that hold one of `names` (modules the host no longer has): an uploaded
 * package's folder lives as long as its module. Best effort: a folder that cannot be read or removed stays.
 */
export async function removeUploads(root: string | undefined, names: ReadonlySet<string>): Promise<void> {
  if (root === undefined || names.size === 0) return;
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const dir = join(root, entry.name);
    const name = await readManifest(dir).then(
      (m) => m.name,
      () => undefined,
    );
    if (name !== undefined && names.has(name)) await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** The folder to install from, if it resolves (links followed) inside an allowed root; else a 403. */
async function allowedFolder(path: string, roots: readonly string[]): Promise<string> {
  const refuse = () =>
    new ModhostError('PERMISSION_DENIED', `installing from ${JSON.stringify(path)} is not allowed: it is not inside a folder this host installs from`, {
      details: { module: '', tenant: undefined, permission: 'install:folder' },
    });
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw refuse();
  }
  for (const root of roots) {
    const r = await realpath(root).catch(() => undefined);
    if (r !== undefined && real !== r && real.startsWith(r.endsWith(sep) ? r : `${r}${sep}`)) return real;
  }
  throw refuse();
}
