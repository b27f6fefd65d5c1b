import { createHash, type KeyObject, sign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../src/zip-reader.js';

// Tiny archive writers for tests: enough of ustar and zip to build good packages and hostile ones byte by byte.

/** One tar entry: `type` is the ustar typeflag ('0' file, '5' folder, '1' hard link, '2' symlink, '3', '6', 'x', …). */
export interface TarEntry {
  readonly name: string;
  readonly type?: string;
  readonly data?: string | Uint8Array;
  readonly linkname?: string;
  /** Written as a pax extended header before the entry. */
  readonly pax?: Readonly<Record<string, string>>;
  /** A size field other than the data's length (a lying header). */
  readonly size?: number;
}

const bytesOf = (data: string | Uint8Array | undefined) => (typeof data === 'string' ? Buffer.from(data) : Buffer.from(data ?? new Uint8Array()));
const octal = (n: number, width: number) => `${n.toString(8).padStart(width - 1, '0')}\0`;

function header(name: string, type: string, size: number, linkname = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100);
  h.write(octal(0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(0, 12), 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write(linkname, 157, 100);
  h.write('ustar\u000000', 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

const padded = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

/** A ustar archive; `end: false` leaves out the two zero blocks that end it. */
export function tar(entries: readonly TarEntry[], options: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.pax) {
      const records = Object.entries(e.pax).map(([k, v]) => {
        const body = ` ${k}=${v}\n`;
        let length = Buffer.byteLength(body) + 1;
        while (String(length).length + Buffer.byteLength(body) !== length) length++;
        return `${length}${body}`;
      });
      const data = Buffer.from(records.join(''));
      parts.push(header('PaxHeader', 'x', data.length), padded(data));
    }
    const data = bytesOf(e.data);
    parts.push(header(e.name, e.type ?? '0', e.size ?? data.length, e.linkname), padded(data));
  }
  if (options.end !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** One zip entry. */
export interface ZipEntry {
  readonly name: string;
  readonly data?: string | Uint8Array;
  /** 0 stored (default), 8 deflated. */
  readonly method?: 0 | 8;
  /** A Unix mode (with its file type bits): the entry is then marked as made on Unix. */
  readonly unixMode?: number;
  /** An uncompressed size other than the data's (a lying entry). */
  readonly declaredSize?: number;
}

/** A zip archive of the entries, with its central directory and end record. */
export function zip(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = bytesOf(e.data);
    const stored = e.method === 8 ? deflateRawSync(data) : data;
    const name = Buffer.from(e.name);
    const size = e.declaredSize ?? data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(e.method ?? 0, 8);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(e.unixMode !== undefined ? (3 << 8) | 20 : 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(e.method ?? 0, 10);
    central.writeUInt32LE(crc32(data), 16);
    central.writeUInt32LE(stored.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(e.unixMode !== undefined ? (e.unixMode << 16) >>> 0 : 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, stored);
    centrals.push(central, name);
    offset += local.length + name.length + stored.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** A module folder's files: `modhost.json` and an entry serving `GET /` with `text`. */
export function moduleFiles(name: string, version = '1.0.0', text = `hello from ${name}`): Record<string, string> {
  return {
    'modhost.json': JSON.stringify({ name, version, permissions: ['routes:mount'], isolation: 'in-process', routes: [{ method: 'GET', path: '/' }] }),
    'index.mjs': `export default { routes: [{ method: 'GET', path: '/', handler: () => ({ body: ${JSON.stringify(text)} }) }] };`,
  };
}

const sri = (data: string | Uint8Array) => `sha512-${createHash('sha512').update(data).digest('base64')}`;

/**
 * `modhost.sig` for these files (as docs/security.md describes it: ed25519 over `modhost-signature-v1`, name@version
 * and the folder's integrity, the sorted `path NUL size NUL sha512` list).
 */
export function signatureFor(files: Readonly<Record<string, string>>, name: string, version: string, key: KeyObject, keyId: string): string {
  const list = Object.keys(files)
    .sort()
    .map((path) => `${path}\u0000${Buffer.byteLength(files[path] as string)}\u0000${sri(files[path] as string)}\n`)
    .join('');
  const message = Buffer.from(`modhost-signature-v1\n${name}@${version}\n${sri(list)}\n`);
  return JSON.stringify({ keyId, signature: sign(null, message, key).toString('base64') });
}
