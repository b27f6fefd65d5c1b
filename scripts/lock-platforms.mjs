// Repairs package-lock.json after `npm install` on a registry that lacks some platform builds.
//
// Why: npm leaves an optional platform package (e.g. @rollup/rollup-darwin-arm64) out of the lockfile when the
// registry cannot serve that exact version, and then its own `npm ci` refuses the lockfile as "out of sync"
// (npm/cli#4828, #8320). The registry this project is built against is such a mirror. This script adds the missing
// entries, marked optional and tagged with the os/cpu their names declare, so `npm ci` sees a complete tree and skips
// them on every other platform without fetching anything. Run it after changing dependencies:
//   npm install && node scripts/lock-platforms.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const OS = ['android', 'darwin', 'freebsd', 'linux', 'openbsd', 'netbsd', 'openharmony', 'sunos', 'win32', 'aix'];
const CPU = { arm: 'arm', 'arm-eabi': 'arm', arm64: 'arm64', x64: 'x64', ia32: 'ia32', loong64: 'loong64', ppc64: 'ppc64', riscv64: 'riscv64', s390x: 's390x' };

/** Reads os, cpu and libc from names like `cli-linux-x64-musl` or `rollup-linux-arm-gnueabihf`. */
function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const i = parts.findIndex((p) => OS.includes(p));
  if (i < 0) return undefined;
  const os = parts[i];
  const rest = parts.slice(i + 1);
  const cpuKey = Object.keys(CPU).find((k) => rest.join('-').startsWith(k) && (rest.join('-').length === k.length || rest.join('-')[k.length] === '-'));
  if (!cpuKey) return undefined;
  const tail = rest.join('-').slice(cpuKey.length);
  const libc = /musl/.test(tail) ? 'musl' : /gnu/.test(tail) ? 'glibc' : undefined;
  return { os: [os], cpu: [CPU[cpuKey]], ...(libc && os === 'linux' ? { libc: [libc] } : {}) };
}

let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    // Resolve where npm would place it: hoisted to the root unless nested beside its parent.
    const nested = `${path}/node_modules/${dep}`;
    const hoisted = `node_modules/${dep}`;
    if (lock.packages[nested] || lock.packages[hoisted]) continue;
    const platform = platformOf(dep);
    if (!platform) continue;
    lock.packages[hoisted] = { version, dev: entry.dev === true ? true : undefined, optional: true, ...platform };
    added++;
  }
}
if (added > 0) {
  lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
}
console.log(`lock-platforms: recorded ${added} platform package(s) the registry could not serve`);
