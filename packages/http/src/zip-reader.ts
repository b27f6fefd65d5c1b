import { inflateRawSync } from 'node:zlib';
import { type ArchiveEntry, type ArchiveLimits, packageInvalid, shown, tooLarge, tooManyEntries, truncated } from './archive-entry.js';

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const END_SIZE = 22;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** True when the bytes start with a zip local file header (`PK\x03\x04`). */
export const isZip = (bytes: Uint8Array): boolean => bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;

// zlib.crc32 is Node ≥ 20.15; the table is small enough to keep the package on every Node 20.
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** The CRC-32 a zip records for each entry's bytes. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// Unix file types in the upper half of the external attributes of entries made on Unix (3) or macOS (19).
const UNIX_TYPES = new Map<number, string>([
  [0o100000, 'file'],
  [0o040000, 'directory'],
  [0o120000, 'symlink'],
  [0o020000, 'a character device'],
  [0o060000, 'a block device'],
  [0o010000, 'a fifo'],
  [0o140000, 'a socket'],
]);

/**
 * Reads a zip archive from its central directory, each entry checked against its local header (same name, same
 * method) and its CRC. Stored and deflated entries only; no zip64, no encryption, no multi-disk archives. A deflated
 * entry is inflated to at most its declared size, and the declared sizes together to at most `maxUnpackedBytes`, so
 * an entry that claims little and inflates to much is refused, not written.
 */
export function readZip(bytes: Uint8Array, limits: ArchiveLimits): ArchiveEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);

  // The end record is the last thing in the file, after an optional comment of up to 64 KiB.
  let end = -1;
  for (let at = bytes.byteLength - END_SIZE; at >= Math.max(0, bytes.byteLength - END_SIZE - 0xffff); at--) {
    if (u32(at) === END && at + END_SIZE + u16(at + 20) === bytes.byteLength) {
      end = at;
      break;
    }
  }
  if (end < 0) throw packageInvalid('the zip has no end-of-central-directory record where it belongs: the archive is truncated or damaged');
  if (u16(end + 4) !== 0 || u16(end + 6) !== 0 || u16(end + 8) !== u16(end + 10)) throw packageInvalid('a zip split over several disks is not taken');
  const count = u16(end + 10);
  const size = u32(end + 12);
  const offset = u32(end + 16);
  if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) throw packageInvalid('zip64 archives are not taken');
  if (count > limits.maxEntries) throw tooManyEntries(limits);
  if (offset + size > end) throw packageInvalid('the zip central directory lies outside the file; the archive is damaged');

  const entries: ArchiveEntry[] = [];
  let declared = 0;
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > offset + size || u32(at) !== CENTRAL) throw packageInvalid('the zip central directory is damaged');
    const madeOn = u16(at + 4) >> 8;
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const crc = u32(at + 16);
    const compressed = u32(at + 20);
    const uncompressed = u32(at + 24);
    const nameLength = u16(at + 28);
    const external = u32(at + 38);
    const local = u32(at + 42);
    const rawName = bytes.subarray(at + 46, at + 46 + nameLength);
    at += 46 + nameLength + u16(at + 30) + u16(at + 32);
    if (at > offset + size) throw packageInvalid('the zip central directory is damaged');
    if (compressed === 0xffffffff || uncompressed === 0xffffffff || local === 0xffffffff) throw packageInvalid('zip64 archives are not taken');
    let name: string;
    try {
      name = utf8.decode(rawName);
    } catch {
      throw packageInvalid('a zip entry name is not UTF-8');
    }
    if ((flags & 0x41) !== 0) throw packageInvalid(`${shown(name)} is encrypted`, name);

    const unixType = madeOn === 3 || madeOn === 19 ? UNIX_TYPES.get((external >>> 16) & 0o170000) : undefined;
    const isDir = name.endsWith('/') || (madeOn === 0 && (external & 0x10) !== 0);
    const kind = unixType ?? (isDir ? 'directory' : 'file');
    if (kind !== 'file' && kind !== 'directory' && kind !== 'symlink') {
      entries.push({ name, kind: 'special', what: kind });
      continue;
    }
    if (kind === 'directory') {
      entries.push({ name, kind });
      continue;
    }

    // The local header must agree: a reader that trusts only one of them could see another package.
    if (local + 30 > bytes.byteLength) throw truncated(`the local header of ${shown(name)}`);
    if (u32(local) !== LOCAL) throw packageInvalid(`the local header of ${shown(name)} is missing; the archive is damaged`, name);
    const localName = bytes.subarray(local + 30, local + 30 + u16(local + 26));
    if (Buffer.compare(localName, rawName) !== 0 || u16(local + 8) !== method)
      throw packageInvalid(`the local header of ${shown(name)} does not match its central directory entry`, name);
    const start = local + 30 + localName.byteLength + u16(local + 28);
    if (start + compressed > bytes.byteLength) throw truncated(`the data of ${shown(name)}`);
    const stored = bytes.subarray(start, start + compressed);

    if (kind === 'symlink') {
      // Refused whatever it points at; the target is read only to say where.
      entries.push({ name, kind, target: method === 0 ? Buffer.from(stored.subarray(0, 1024)).toString('utf8') : '(compressed)' });
      continue;
    }
    declared += uncompressed;
    if (declared > limits.maxUnpackedBytes) throw tooLarge(limits);
    let data: Uint8Array;
    if (method === 0) {
      if (compressed !== uncompressed) throw packageInvalid(`${shown(name)} is stored, yet its sizes differ; the archive is damaged`, name);
      data = stored;
    } else if (method === 8) {
      try {
        data = inflateRawSync(stored, { maxOutputLength: Math.max(1, uncompressed) });
      } catch (e) {
        const bomb = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
        throw packageInvalid(
          bomb ? `${shown(name)} inflates past the ${uncompressed} bytes it declares` : `${shown(name)} does not inflate; the archive is damaged`,
          name,
        );
      }
      if (data.byteLength !== uncompressed) throw packageInvalid(`${shown(name)} inflates to other than the ${uncompressed} bytes it declares`, name);
    } else throw packageInvalid(`${shown(name)} uses zip compression method ${method}; only stored and deflated entries are taken`, name);
    if (crc32(data) !== crc) throw packageInvalid(`${shown(name)} fails its CRC check; the archive is damaged`, name);
    entries.push({ name, kind, data });
  }
  return entries;
}
