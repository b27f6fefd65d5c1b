// The sandboxed tier's half of the guest runtime: `lockdown()` on import (every shared intrinsic frozen, before any
// module code runs), then one Hardened JavaScript Compartment for the module, whose module loader reads only the
// module's own folder. Node built-ins, files outside the folder and URLs (data:, http:, …) are refused with an
// error that names the import and the tiers that allow it.

import { readFileSync, realpathSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import 'ses';
import { rejectEscapedEval, transformModule } from './esm-transform.mjs';
import { makeEndowments } from './sandboxed-endowments.mjs';

const BUILTINS = new Set(builtinModules);

// Errors that Node's own classes can throw at the module through an endowment: their classes are frozen by
// lockdown's `harden` below, so the module cannot poison what Node's internals inherit.
const hostErrorSamples = [
  () => new URL('not a url'),
  () => new URLSearchParams([['x']]),
  () => new TextDecoder('no-such-encoding'),
  () => atob('*'),
  () => structuredClone(() => {}),
];

lockdown({ errorTaming: 'safe', overrideTaming: 'moderate', consoleTaming: 'unsafe', stackFiltering: 'concise', domainTaming: 'unsafe' });
for (const sample of hostErrorSamples) {
  try {
    sample();
  } catch (e) {
    harden(e);
  }
}

const isInside = (root, path) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
const realOr = (path) => {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
};
const isFile = (path) => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** The nearest package.json inside `root`, from `dir` up. */
function packageOf(root, dir) {
  for (let d = dir; isInside(root, d); d = dirname(d)) {
    const file = join(d, 'package.json');
    if (isFile(file)) {
      try {
        return { dir: d, json: JSON.parse(readFileSync(file, 'utf8')) };
      } catch {
        return undefined;
      }
    }
    if (dirname(d) === d) break;
  }
  return undefined;
}

/** The entry a package's package.json names for an import (its `exports` "." or a subpath, `module`, `main`). */
function packageEntry(json, subpath) {
  const pick = (target) => {
    if (typeof target === 'string') return target;
    if (Array.isArray(target)) return target.map(pick).find((x) => x !== undefined);
    if (target && typeof target === 'object') {
      for (const condition of ['import', 'module', 'default', 'require', 'node']) {
        if (Object.hasOwn(target, condition)) {
          const hit = pick(target[condition]);
          if (hit !== undefined) return hit;
        }
      }
    }
    return undefined;
  };
  const exp = json.exports;
  if (exp !== undefined) {
    const isMap = exp && typeof exp === 'object' && !Array.isArray(exp) && Object.keys(exp).some((k) => k.startsWith('.'));
    if (!isMap) return subpath === '.' ? pick(exp) : undefined;
    return Object.hasOwn(exp, subpath) ? pick(exp[subpath]) : undefined;
  }
  if (subpath !== '.') return subpath;
  return json.module ?? json.main ?? 'index.js';
}

const CJS_EXTENSIONS = ['', '.js', '.cjs', '.mjs', '.json', '/index.js', '/index.cjs', '/index.mjs'];

/**
 * Makes the compartment of one module. `entry` and `root` are the module's entry file and folder (the host sends
 * them); `log(level, message)` is its console; `refused(message, details)` makes the error a refused import
 * throws. Returns `load()` (the entry's namespace), the compartment's shared `Error` class, and `stop()`.
 */
export function createModuleCompartment({ root, entry, log, refused }) {
  const realRoot = realOr(root) ?? root;
  const compartmentErrors = new Compartment({ __options__: true }).globalThis;
  const { globals, stopTimers } = makeEndowments({ log, TypeError: compartmentErrors.TypeError });
  const formats = new Map();
  const refuse = (specifier, referrer, why, tiers) => {
    const from = referrer ? ` (from ${relativeName(referrer)})` : '';
    throw refused(`imports "${specifier}"${from}: ${why}. ${tiers}`, { specifier, ...(referrer ? { from: relativeName(referrer) } : {}) });
  };
  const relativeName = (url) => {
    try {
      const path = fileURLToPath(url);
      return isInside(realRoot, path)
        ? `./${path
            .slice(realRoot.length + 1)
            .split(sep)
            .join('/')}`
        : path;
    } catch {
      return url;
    }
  };
  const ALLOWING = "Modules that need it run in the 'worker' or 'process' tier (modhost.json \"isolation\"), if the host allows";

  /** A file inside the module's real folder, or a refusal. */
  const inside = (specifier, referrer, path) => {
    const real = realOr(path);
    if (real === undefined) return undefined;
    if (!isInside(realRoot, real))
      refuse(specifier, referrer, "it is outside the module's folder, and the sandboxed tier loads only the module's own files", ALLOWING);
    return real;
  };

  const resolveFile = (specifier, referrer, cjs) => {
    const base = referrer ? dirname(fileURLToPath(referrer)) : realRoot;
    if (specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0]))
      refuse(
        specifier,
        referrer,
        'Node built-ins are not available in the sandboxed tier (reach files through ctx.fs and the network through ctx.net.fetch)',
        ALLOWING,
      );
    if (/^[a-z][a-z0-9+.-]*:/i.test(specifier))
      refuse(specifier, referrer, "the sandboxed tier loads no URLs (data:, file:, http:, …), only the module's own files by relative path", ALLOWING);
    if (specifier.startsWith('/'))
      refuse(specifier, referrer, 'absolute paths are not loaded in the sandboxed tier; use a relative path inside the module', ALLOWING);
    const probe = (path) => {
      for (const ext of cjs ? CJS_EXTENSIONS : ['']) {
        const real = inside(specifier, referrer, path + ext);
        if (real !== undefined && isFile(real)) return real;
      }
      return undefined;
    };
    if (specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..') {
      const found = probe(join(base, specifier));
      if (found === undefined) refuse(specifier, referrer, 'no such file in the module', 'Check the path (ES modules name the file with its extension)');
      return found;
    }
    // A bare name: a package bundled in a node_modules folder inside the module.
    const parts = specifier.split('/');
    const nameLength = specifier.startsWith('@') ? 2 : 1;
    const name = parts.slice(0, nameLength).join('/');
    const subpath = parts.length > nameLength ? `./${parts.slice(nameLength).join('/')}` : '.';
    for (let d = base; isInside(realRoot, d); d = dirname(d)) {
      const pkgDir = join(d, 'node_modules', name);
      const realPkg = realOr(pkgDir);
      if (realPkg !== undefined) {
        if (!isInside(realRoot, realPkg)) refuse(specifier, referrer, "it is outside the module's folder", ALLOWING);
        let json = {};
        try {
          json = JSON.parse(readFileSync(join(realPkg, 'package.json'), 'utf8'));
        } catch {}
        const target = packageEntry(json, subpath);
        if (target === undefined) refuse(specifier, referrer, `the package "${name}" does not export "${subpath}"`, 'Import a path its package.json exports');
        const found = probe(join(realPkg, target));
        if (found !== undefined) return found;
        break;
      }
      if (dirname(d) === d) break;
    }
    return refuse(
      specifier,
      referrer,
      "no such package in the module's own node_modules (the sandboxed tier loads only the module's own files)",
      'Bundle the dependency into the module folder',
    );
  };

  const formatOf = (path) => {
    if (path.endsWith('.mjs')) return 'esm';
    if (path.endsWith('.cjs')) return 'cjs';
    if (path.endsWith('.json')) return 'json';
    const type = packageOf(realRoot, dirname(path))?.json?.type;
    if (type === 'module') return 'esm';
    if (type === 'commonjs') return 'cjs';
    return undefined; // decided by the text: module syntax makes it ESM
  };

  let compartment;
  const sources = {
    esm(url, transformed) {
      return {
        imports: transformed.imports,
        // Declared empty: the exports are getters this loader defines itself (live, star re-exports included).
        exports: [],
        execute(exportsTarget, c, resolvedImports) {
          const functor = c.evaluate(transformed.source);
          const star = [];
          functor(
            harden({
              exports(getters) {
                for (const [name, get] of Object.entries(getters)) Object.defineProperty(exportsTarget, name, { get, enumerable: true });
              },
              reexport(ns) {
                star.push(ns);
                for (const name of Object.keys(ns))
                  if (name !== 'default' && !Object.hasOwn(exportsTarget, name))
                    Object.defineProperty(exportsTarget, name, { get: () => ns[name], enumerable: true });
              },
              importNow: (specifier) => c.importNow(resolvedImports[specifier]),
              dynamicImport: (specifier) => dynamicImport(String(specifier), url),
              importMeta: harden({ url }),
            }),
          );
        },
      };
    },
    cjs(url, text) {
      return {
        imports: [],
        exports: [],
        execute(exportsTarget, c) {
          const module = { exports: {} };
          Object.defineProperty(exportsTarget, 'default', { get: () => module.exports, enumerable: true });
          const filename = fileURLToPath(url);
          const require = (specifier) => {
            const target = pathToFileURL(resolveFile(String(specifier), url, true)).href;
            const ns = c.importNow(target);
            return formats.get(target) !== 'esm' ? ns.default : ns;
          };
          const functor = c.evaluate(`(function ($h, exports, require, module, __filename, __dirname) {${transformCjs(text)}\n})`);
          const linkage = harden({ dynamicImport: (specifier) => dynamicImport(String(specifier), url), importMeta: harden({ url }) });
          functor(linkage, module.exports, harden(require), module, filename, dirname(filename));
          for (const name of Object.keys(module.exports ?? {}))
            if (name !== 'default') Object.defineProperty(exportsTarget, name, { get: () => module.exports[name], enumerable: true });
        },
      };
    },
    json(_url, text) {
      const value = JSON.parse(text);
      return {
        imports: [],
        exports: [],
        execute(exportsTarget) {
          exportsTarget.default = value;
        },
      };
    },
  };

  const loadNow = (url) => {
    const path = fileURLToPath(url);
    const text = readFileSync(path, 'utf8');
    let format = formatOf(path);
    formats.set(url, format);
    if (format === 'json') return { source: sources.json(url, text) };
    const transformed = format === 'cjs' ? undefined : transformModule(text);
    if (format === undefined) format = transformed.hasSyntax ? 'esm' : 'cjs';
    formats.set(url, format);
    return { source: format === 'esm' ? sources.esm(url, transformed) : sources.cjs(url, text) };
  };

  const dynamicImport = (specifier, referrer) =>
    new Promise((resolve) => resolve(pathToFileURL(resolveFile(specifier, referrer, false)).href)).then((url) => compartment.import(url));

  compartment = new Compartment({
    // No Compartment constructor: a child compartment would evaluate without this one's transforms.
    globals: { ...globals, Compartment: undefined },
    // Everything evaluated here (module text, `Function`, `eval`) goes through it.
    transforms: [rejectEscapedEval],
    resolveHook: (specifier, referrer) => pathToFileURL(resolveFile(specifier, referrer, false)).href,
    importHook: async (url) => loadNow(url),
    importNowHook: (url) => loadNow(url),
    __noNamespaceBox__: true,
    noAggregateLoadErrors: true,
    __options__: true,
  });

  return {
    Error: compartment.globalThis.Error,
    TypeError: compartment.globalThis.TypeError,
    load() {
      const real = inside(entry, undefined, entry);
      if (real === undefined) refuse(entry, undefined, 'the entry does not exist', 'Check modhost.json "main"');
      return compartment.importNow(pathToFileURL(real).href);
    },
    stop: stopTimers,
  };
}

/** CommonJS text as a function body: the evaluator's text checks see the same escapes as for ES modules. */
function transformCjs(text) {
  // A CommonJS file has no module syntax, so the ES transform's rewriting applies to its `import()` and comments.
  const { source } = transformModule(text);
  return source.slice(source.indexOf('\n') + 1, source.lastIndexOf('\n'));
}
