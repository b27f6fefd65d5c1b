import { type ArchiveEntry, type ArchiveLimits, packageInvalid, tooLarge, tooManyEntries, truncated } from './archive-entry.js';

const BLOCK = 512;
// A pax or GNU long-name header describes one path: anything bigger is not a package's.
const MAX_META_BYTES = 64 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** True when the bytes look like a ustar (POSIX or GNU) archive: `ustar` at offset 257. */
export const isTar = (bytes: Uint8Array): boolean => bytes.byteLength >= BLOCK && String.fromCharCode(...bytes.subarray(257, 262)) === 'ustar';

const text = (bytes: Uint8Array, what: string): string => {
  const end = bytes.indexOf(0);
  try {
    return utf8.decode(end < 0 ? bytes : bytes.subarray(0, end));
  } catch {
    throw packageInvalid(`a tar ${what} is not UTF-8`);
  }
};

/** An octal header field (space or NUL padded); base-256 sizes (over 8 GiB) are refused. */
function octal(field: Uint8Array, what: string): number {
  if (((field[0] ?? 0) & 0x80) !== 0) throw packageInvalid(`a tar header's ${what} is in base-256, which is only needed past 8 GiB`);
  const digits = String.fromCharCode(...field)
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (!/^[0-7]*$/.test(digits)) throw packageInvalid(`a tar header's ${what} is not an octal number; the archive is damaged`);
  return digits === '' ? 0 : Number.parseInt(digits, 8);
}

/** The header's checksum: its bytes summed with the checksum field read as spaces (signed sums are old tars'). */
function checksumFits(header: Uint8Array): boolean {
  const stored = octal(header.subarray(148, 156), 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (header[i] as number);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** pax extended header records: `<length> <key>=<value>\n`. */
function paxRecords(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.byteLength) {
    const space = data.indexOf(0x20, at);
    const length = space < 0 ? Number.NaN : Number(String.fromCharCode(...data.subarray(at, space)));
    if (!Number.isSafeInteger(length) || length <= space - at || at + length > data.byteLength || data[at + length - 1] !== 0x0a)
      throw packageInvalid('a tar pax header is malformed; the archive is damaged');
    const record = text(data.subarray(space + 1, at + length - 1), 'pax header');
    const eq = record.indexOf('=');
    if (eq <= 0) throw packageInvalid('a tar pax header is malformed; the archive is damaged');
    out.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return out;
}

const TYPES: Readonly<Record<string, ArchiveEntry['kind']>> = { '0': 'file', '\0': 'file', '7': 'file', '5': 'directory', '1': 'hardlink', '2': 'symlink' };
const SPECIAL: Readonly<Record<string, string>> = { '3': 'a character device', '4': 'a block device', '6': 'a fifo' };

/**
 * Reads a ustar archive (POSIX, with pax `path`/`linkpath`/`size` records, or GNU, with long names). Every header's
 * checksum is checked, and the archive must end with its zero block: a cut-short upload never passes as a smaller
 * package. Stops at the limits before reading further.
 */
export function readTar(bytes: Uint8Array, limits: ArchiveLimits): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  let total = 0;
  let at = 0;
  // What pax 'x' or GNU 'L'/'K' headers said about the next entry.
  let next: { path?: string; linkpath?: string; size?: number } = {};
  for (;;) {
    if (at + BLOCK > bytes.byteLength) throw truncated(at === 0 ? 'its first header' : 'a header, before the end-of-archive block');
    const header = bytes.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) return entries;
    if (String.fromCharCode(...header.subarray(257, 262)) !== 'ustar') throw packageInvalid('a tar header has no ustar mark; the archive is damaged');
    if (!checksumFits(header)) throw packageInvalid('a tar header fails its checksum; the archive is damaged');
    const type = String.fromCharCode(header[156] as number);
    const meta = type === 'x' || type === 'g' || type === 'L' || type === 'K';
    // A pax size is the next entry's, never another meta header's.
    const size = (meta ? undefined : next.size) ?? octal(header.subarray(124, 136), 'size');
    const start = at + BLOCK;
    const end = start + size;
    at = start + Math.ceil(size / BLOCK) * BLOCK;
    if (at > bytes.byteLength) throw truncated("an entry's data");
    const data = bytes.subarray(start, end);

    if (meta) {
      if (size > MAX_META_BYTES)
        throw packageInvalid(`a tar ${type === 'L' || type === 'K' ? 'long-name' : 'pax'} header is larger than ${MAX_META_BYTES} bytes`);
      if (type === 'L') next = { ...next, path: text(data, 'long name') };
      else if (type === 'K') next = { ...next, linkpath: text(data, 'long link name') };
      else {
        const records = paxRecords(data);
        // A global header applies to every entry after it: only comments (git archive writes one) are taken.
        if (type === 'g') {
          if (['path', 'linkpath', 'size'].some((k) => records.has(k))) throw packageInvalid('a tar global pax header sets a path or a size');
          continue;
        }
        const [path, linkpath, paxSize] = [records.get('path'), records.get('linkpath'), records.get('size')];
        if (paxSize !== undefined && !/^\d{1,15}$/.test(paxSize)) throw packageInvalid('a tar pax size is not a number; the archive is damaged');
        next = {
          ...next,
          ...(path !== undefined ? { path } : {}),
          ...(linkpath !== undefined ? { linkpath } : {}),
          ...(paxSize !== undefined ? { size: Number(paxSize) } : {}),
        };
      }
      continue;
    }

    // POSIX ustar splits long names into prefix/name; GNU keeps other fields where the prefix would be.
    const posix = header[262] === 0;
    const prefix = posix ? text(header.subarray(345, 500), 'name prefix') : '';
    const name = next.path ?? (prefix !== '' ? `${prefix}/${text(header.subarray(0, 100), 'name')}` : text(header.subarray(0, 100), 'name'));
    const linkpath = next.linkpath ?? text(header.subarray(157, 257), 'link name');
    next = {};
    if (entries.length >= limits.maxEntries) throw tooManyEntries(limits);
    const kind = TYPES[type];
    if (kind === undefined) {
      entries.push({ name, kind: 'special', what: SPECIAL[type] ?? `a tar entry of type ${JSON.stringify(type)}` });
      continue;
    }
    if (kind === 'symlink' || kind === 'hardlink') {
      entries.push({ name, kind, target: linkpath });
      continue;
    }
    if (kind === 'directory') {
      entries.push({ name, kind });
      continue;
    }
    total += size;
    if (total > limits.maxUnpackedBytes) throw tooLarge(limits);
    entries.push({ name, kind, data });
  }
}
