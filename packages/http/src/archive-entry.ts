import { ModhostError } from '@modhost/core';

/** One entry of an archive as its reader found it; what a package may hold is decided by `package-archive.ts`. */
export interface ArchiveEntry {
  /** The name as stored (not yet checked: it may be absolute, hold `..`, a backslash, a NUL). */
  readonly name: string;
  readonly kind: 'file' | 'directory' | 'symlink' | 'hardlink' | 'special';
  /** A file's bytes (a view into the archive or its inflated copy). */
  readonly data?: Uint8Array;
  /** Where a link points, as stored. */
  readonly target?: string;
  /** What a `special` entry is (a device, a fifo, a socket…), for the message. */
  readonly what?: string;
}

/** What a reader stops at. */
export interface ArchiveLimits {
  /** The most bytes the files may hold together (and a `.tgz` may inflate to). */
  readonly maxUnpackedBytes: number;
  /** The most entries (files, folders, links…). */
  readonly maxEntries: number;
}

/** An entry name as a message shows it: quoted, control characters escaped, never longer than 200 characters. */
export const shown = (name: string): string => {
  const quoted = JSON.stringify(name);
  return quoted.length > 200 ? `${quoted.slice(0, 199)}…` : quoted;
};

/** A package refused for its shape or its bytes: nothing of it was written. */
export function packageInvalid(message: string, entry?: string): ModhostError<'MANIFEST_INVALID'> {
  return new ModhostError('MANIFEST_INVALID', `the uploaded package was refused: ${message}`, {
    details: { ...(entry !== undefined ? { entry } : {}), issues: [{ path: entry !== undefined ? [entry] : [], message }] },
  });
}

/** The archive ends inside a header or an entry's data. */
export const truncated = (where: string): ModhostError<'MANIFEST_INVALID'> =>
  packageInvalid(`the archive is truncated (it ends inside ${where}); upload the whole file`);

/** More entries, or more bytes, than the limits allow. */
export const tooManyEntries = (limits: ArchiveLimits): ModhostError<'MANIFEST_INVALID'> => packageInvalid(`it holds more than ${limits.maxEntries} entries`);
export const tooLarge = (limits: ArchiveLimits): ModhostError<'MANIFEST_INVALID'> => packageInvalid(`it unpacks to more than ${limits.maxUnpackedBytes} bytes`);
