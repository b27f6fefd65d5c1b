import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { moduleFiles, tar, zip } from './archives.js';

/** The limits the hostile packages are built against: 1 MiB unpacked, 5 entries. */
export const HOSTILE_LIMITS = { maxUnpackedBytes: 1024 * 1024, maxEntries: 5 };

const files = moduleFiles('greeter');
const tarOf = (prefix: string) => tar(Object.entries(files).map(([name, data]) => ({ name: `${prefix}${name}`, data })));
const manifest = { name: 'package/modhost.json', data: files['modhost.json'] as string };
const zeros = (n: number) => new Uint8Array(n);

/**
 * Every hostile package, by what makes it hostile, with the code and the words it is refused with under
 * {@link HOSTILE_LIMITS}. Whatever escapes would land on a name in {@link escapesOf}.
 */
export const HOSTILE: readonly (readonly [string, () => Uint8Array, string, RegExp])[] = [
  ['a ../ path', () => tar([manifest, { name: '../escaped.js', data: 'x' }]), 'MANIFEST_INVALID', /has a \.\. segment/],
  ['an absolute path', () => tar([manifest, { name: '/tmp/modhost-escaped.js', data: 'x' }]), 'MANIFEST_INVALID', /is an absolute path/],
  ['a path that climbs out (a/../../x)', () => tar([manifest, { name: 'a/../../escaped.js', data: 'x' }]), 'MANIFEST_INVALID', /\.\. segment/],
  [
    'a pax path that climbs out',
    () => tar([manifest, { name: 'package/fine.js', pax: { path: '../../escaped.js' }, data: 'x' }]),
    'MANIFEST_INVALID',
    /\.\. segment/,
  ],
  [
    'a drive letter',
    () =>
      zip([
        { name: 'modhost.json', data: '{}' },
        { name: 'C:/Windows/x.js', data: 'x' },
      ]),
    'MANIFEST_INVALID',
    /drive letter/,
  ],
  [
    'a backslash',
    () =>
      zip([
        { name: 'modhost.json', data: '{}' },
        { name: '..\\escaped.js', data: 'x' },
      ]),
    'MANIFEST_INVALID',
    /backslash/,
  ],
  [
    'a NUL in a name',
    () =>
      zip([
        { name: 'modhost.json', data: '{}' },
        { name: 'a.js\0.png', data: 'x' },
      ]),
    'MANIFEST_INVALID',
    /NUL/,
  ],
  [
    'a symlink',
    () => tar([manifest, { name: 'package/passwd', type: '2', linkname: '/etc/passwd' }]),
    'LINK_OUTSIDE_MODULE',
    /symbolic link \(to "\/etc\/passwd"\)/,
  ],
  ['a hard link', () => tar([manifest, { name: 'package/passwd', type: '1', linkname: '/etc/passwd' }]), 'LINK_OUTSIDE_MODULE', /hard link/],
  [
    'a zip symlink',
    () =>
      zip([
        { name: 'modhost.json', data: '{}' },
        { name: 'passwd', data: '/etc/passwd', unixMode: 0o120777 },
      ]),
    'LINK_OUTSIDE_MODULE',
    /symbolic link/,
  ],
  ['a device', () => tar([manifest, { name: 'package/tty', type: '3' }]), 'MANIFEST_INVALID', /character device/],
  ['a fifo', () => tar([manifest, { name: 'package/pipe', type: '6' }]), 'MANIFEST_INVALID', /fifo/],
  [
    'a zip fifo',
    () =>
      zip([
        { name: 'modhost.json', data: '{}' },
        { name: 'pipe', unixMode: 0o010644 },
      ]),
    'MANIFEST_INVALID',
    /fifo/,
  ],
  [
    'too many entries (tar)',
    () => tar([manifest, ...Array.from({ length: 5 }, (_, i) => ({ name: `package/${i}.js`, data: '' }))]),
    'MANIFEST_INVALID',
    /more than 5 entries/,
  ],
  [
    'too many entries (zip)',
    () => zip([{ name: 'modhost.json', data: '{}' }, ...Array.from({ length: 5 }, (_, i) => ({ name: `${i}.js` }))]),
    'MANIFEST_INVALID',
    /more than 5 entries/,
  ],
  ['files over the cap', () => tar([manifest, { name: 'package/big.bin', data: zeros(1024 * 1024) }]), 'MANIFEST_INVALID', /more than 1048576 bytes/],
  ['a gzip bomb', () => gzipSync(tar([manifest, { name: 'package/bomb.bin', data: zeros(8 * 1024 * 1024) }])), 'MANIFEST_INVALID', /more than 1048576 bytes/],
  [
    'a zip entry that declares little and inflates to much',
    () =>
      zip([
        { name: 'modhost.json', data: '{}' },
        { name: 'bomb.bin', data: zeros(4 * 1024 * 1024), method: 8, declaredSize: 100 },
      ]),
    'MANIFEST_INVALID',
    /inflates past the 100 bytes it declares/,
  ],
  [
    'zip entries that declare more than the cap',
    () =>
      zip([
        { name: 'modhost.json', data: '{}' },
        { name: 'big.bin', data: zeros(2 * 1024 * 1024), method: 8 },
      ]),
    'MANIFEST_INVALID',
    /more than 1048576 bytes/,
  ],
  ['a truncated .tgz', () => gzipSync(tarOf('package/')).subarray(0, 60), 'MANIFEST_INVALID', /truncated/],
  ['a tar cut inside an entry', () => tarOf('package/').subarray(0, 700), 'MANIFEST_INVALID', /truncated/],
  ['a tar cut before its end block', () => tar([manifest], { end: false }), 'MANIFEST_INVALID', /truncated/],
  ['a tar header with a size past the end', () => tar([{ ...manifest, size: 99_999 }]), 'MANIFEST_INVALID', /truncated/],
  ['a truncated zip', () => zip([{ name: 'modhost.json', data: '{}' }]).subarray(0, 40), 'MANIFEST_INVALID', /truncated/],
  [
    'a tar with a damaged header',
    () => {
      const t = tarOf('package/');
      t[0] = 0x41;
      return t;
    },
    'MANIFEST_INVALID',
    /checksum/,
  ],
  [
    'a zip whose bytes do not match their CRC',
    () => {
      const z = zip([{ name: 'modhost.json', data: '{"a":1}' }]);
      z[30 + 'modhost.json'.length] = 0x41;
      return z;
    },
    'MANIFEST_INVALID',
    /CRC/,
  ],
  ['not an archive', () => Buffer.from('{"name":"greeter"}'), 'MANIFEST_INVALID', /not a tar, a gzipped tar .* or a zip/],
  ['gzip of something else', () => gzipSync(Buffer.from('just text')), 'MANIFEST_INVALID', /not a tar archive/],
  ['an empty body', () => new Uint8Array(), 'MANIFEST_INVALID', /not a tar/],
  ['a file entry twice', () => tar([manifest, manifest]), 'MANIFEST_INVALID', /appears twice/],
  [
    'a file that is also a folder',
    () => tar([manifest, { name: 'package/a', data: 'x' }, { name: 'package/a/b', data: 'y' }]),
    'MANIFEST_INVALID',
    /both a file and a folder/,
  ],
  ['no modhost.json', () => tar([{ name: 'package/index.mjs', data: 'x' }]), 'MANIFEST_INVALID', /no modhost\.json/],
];

/** Where a file from a hostile package would land if it escaped the fresh folder made in `into`. */
export const escapesOf = (into: string): string[] => [
  join(into, 'escaped.js'),
  join(into, '..', 'escaped.js'),
  '/tmp/modhost-escaped.js',
  join(tmpdir(), 'escaped.js'),
  '/escaped.js',
];
