// The guest side of an isolated module: runs in a worker thread or a child process, loads the module's
// entry, builds its ctx from the capability description the host sent (every ctx call is a message to the
// host, which checks it against the grants), and answers the host's calls. Plain JavaScript on purpose: it
// is loaded as is by `new Worker()` and `spawn()`, with nothing compiled or bundled in. In the sandboxed tier
// (a worker started with `workerData.tier === 'sandboxed'`), `lockdown()` runs first and the module's code is
// loaded into a Hardened JavaScript Compartment (see sandboxed-loader.mjs) instead of being imported.

import { AsyncLocalStorage } from 'node:async_hooks';
import { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';

// Before anything else: lockdown() freezes the shared intrinsics while only this runtime's code has run.
const sandboxed = parentPort && workerData?.tier === 'sandboxed' ? await import('./sandboxed-loader.mjs') : undefined;
// The sandboxed module's compartment, once loaded: its errors are made from the compartments' shared Error.
let compartment;
let ErrorClass = Error;

// The host treats a longer log line as a protocol breach: cut it here, so a chatty module is not crashed for it.
const MAX_LOG_MESSAGE_LENGTH = 16_384;

// A worker talks over its parentPort. A child process talks over a socket pair on fd 3, in frames of a 4-byte
// big-endian length and a V8-serialized value (the host reads them with its own parser, not Node's IPC).
let send;
let listen;
if (parentPort) {
  send = (m) => parentPort.postMessage(m);
  listen = (fn) => parentPort.on('message', fn);
} else {
  const channel = new Socket({ fd: 3, readable: true, writable: true });
  // No host, no guest: without this, a guest whose host died would run on with nobody to answer.
  channel.on('end', () => process.exit(0));
  channel.on('error', () => process.exit(0));
  send = (m) => {
    const body = serialize(m);
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(body.length, 0);
    channel.write(Buffer.concat([head, body]));
  };
  const fns = [];
  let pending = Buffer.alloc(0);
  channel.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const size = pending.readUInt32BE(0);
      if (pending.length < 4 + size) break;
      const m = deserialize(pending.subarray(4, 4 + size));
      pending = pending.subarray(4 + size);
      for (const fn of fns) fn(m);
    }
  });
  listen = (fn) => fns.push(fn);
}

let definition;
let ctx;
let api;
let nextCtxCall = 0;
const waiting = new Map();

function serializeError(e) {
  if (e === null || typeof e !== 'object') return { name: 'Error', message: String(e) };
  return {
    name: String(e.name ?? 'Error'),
    message: String(e.message ?? e),
    code: typeof e.code === 'string' ? e.code : undefined,
    stack: typeof e.stack === 'string' ? e.stack : undefined,
    details: e.details && typeof e.details === 'object' ? plainClone(e.details) : undefined,
    permission: typeof e.permission === 'string' ? e.permission : undefined,
    resource: typeof e.resource === 'string' ? e.resource : undefined,
  };
}

function safeClone(v) {
  try {
    return structuredClone(v);
  } catch {
    return undefined;
  }
}

// The host accepts only plain objects as log fields and error details: anything else (an Error, a Map, a
// string) is dropped here rather than sent as a protocol breach.
function plainClone(v) {
  const c = safeClone(v);
  if (c === null || typeof c !== 'object') return undefined;
  const proto = Object.getPrototypeOf(c);
  return proto === Object.prototype || proto === null ? c : undefined;
}

// A record made while serving a request names it (the host adds the module and version itself).
function withRequest(fields) {
  const r = serving.getStore();
  if (r === undefined || (r.requestId === undefined && r.tenant === undefined)) return fields;
  return { ...fields, ...(r.requestId !== undefined ? { requestId: r.requestId } : {}), ...(r.tenant !== undefined ? { tenant: r.tenant } : {}) };
}

function reviveError(s) {
  const e = new ErrorClass(s.message);
  e.name = s.name;
  if (s.code) e.code = s.code;
  if (s.details) e.details = s.details;
  return e;
}

// The request being served: its traceparent (the host hangs each ctx call under the request's span), and its id and
// tenant (on the module's log records).
const serving = new AsyncLocalStorage();
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

function ctxCall(path, args, scope) {
  nextCtxCall += 1;
  const id = nextCtxCall;
  const trace = serving.getStore()?.trace;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    const m = { t: 'ctx', id, path, args };
    if (scope !== undefined) m.scope = scope;
    if (trace !== undefined) m.trace = trace;
    try {
      send(m);
    } catch (e) {
      // The clone error is a Node class: the module gets a plain Error of its own realm instead.
      waiting.delete(id);
      reject(new ErrorClass(`ctx.${path}: its arguments cannot cross to the host (plain data only): ${e?.message ?? e}`));
    }
  });
}

const sealed = (entries) => Object.freeze(Object.assign(Object.create(null), entries));

function methods(prefix, names, scope) {
  return sealed(Object.fromEntries(names.map((m) => [m, (...args) => ctxCall(`${prefix}.${m}`, args, scope)])));
}

let currentConfig;

let initMessage;

// The module's own ctx (`scope` undefined), or one for a tenant's request: its ctx calls carry the request's scope id,
// so the host runs them through that tenant's ctx (grants, storage), and it sees that tenant's config.
function buildContext(init, scope) {
  const caps = init.caps;
  const entries = {
    module: sealed({ name: init.module, version: init.version }),
    tenant: scope ? scope.tenant : init.tenant,
    // The config as the host last sent it: a getter, so it follows `reconfigure`.
    get config() {
      return scope ? scope.config : currentConfig;
    },
    logger: sealed(
      Object.fromEntries(
        ['debug', 'info', 'warn', 'error'].map((level) => [
          level,
          (message, fields) => send({ t: 'log', level, message: String(message).slice(0, MAX_LOG_MESSAGE_LENGTH), fields: withRequest(plainClone(fields)) }),
        ]),
      ),
    ),
    deps: sealed(Object.fromEntries(Object.entries(caps.deps).map(([name, names]) => [name, methods(`deps.${name}`, names, scope?.id)]))),
    services: sealed(Object.fromEntries(Object.entries(caps.services).map(([name, names]) => [name, methods(`services.${name}`, names, scope?.id)]))),
  };
  // `ctx.dep(name)` and `ctx.tenantConfig(tenant?)`, as in process: the latter is the host's `tenant` service, so it
  // crosses as `services.tenant.config` and the host checks it like any other service call.
  entries.dep = (name) => {
    if (!Object.hasOwn(entries.deps, name)) {
      const e = new ErrorClass(
        `${init.module}: ctx.dep("${name}") names no dependency it has: declare it in "dependencies" (an optional one that did not resolve is absent; read ctx.deps["${name}"] for those)`,
      );
      e.code = 'DEPENDENCY_UNSATISFIED';
      throw e;
    }
    return entries.deps[name];
  };
  const tenant = entries.tenant;
  const tenantService = Array.isArray(caps.services.tenant) && caps.services.tenant.includes('config');
  entries.tenantConfig = (t) =>
    tenantService
      ? ctxCall('services.tenant.config', [t ?? tenant], scope?.id)
      : Promise.reject(
          Object.assign(
            new ErrorClass(`${init.module}: ctx.tenantConfig() needs the host's "tenant" service, and this host offers none (createHost offers it)`),
            {
              code: 'INVALID_ARGUMENT',
            },
          ),
        );
  if (caps.storage) entries.storage = methods('storage', ['get', 'set', 'delete', 'keys'], scope?.id);
  if (caps.net) entries.net = sealed({ fetch: (url, init) => ctxCall('net.fetch', [String(url), init ?? {}], scope?.id) });
  if (caps.fs) entries.fs = methods('fs', ['readFile', 'readdir', 'writeFile'], scope?.id);
  // Descriptors, not values: `config` stays a getter.
  const built = Object.freeze(Object.defineProperties(Object.create(null), Object.getOwnPropertyDescriptors(entries)));
  // Sandboxed: everything reachable from ctx is frozen too (its functions, their properties).
  return sandboxed ? harden(built) : built;
}

function deepFreeze(v) {
  const stack = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (x === null || typeof x !== 'object' || Object.isFrozen(x)) continue;
    Object.freeze(x);
    for (const k of Object.keys(x)) stack.push(x[k]);
  }
  return v;
}

function describe(def) {
  const fn = (k) => typeof def[k] === 'function';
  return {
    name: def.name,
    version: def.version,
    permissions: Array.isArray(def.permissions) ? def.permissions.filter((p) => typeof p === 'string') : [],
    dependencies: safeClone(def.dependencies) ?? {},
    optionalDependencies: safeClone(def.optionalDependencies) ?? {},
    engines: safeClone(def.engines),
    stateMode: typeof def.stateMode === 'string' ? def.stateMode : undefined,
    hooks: ['activate', 'deactivate', 'health', 'exportState', 'importState', 'reconfigure'].filter(fn),
    routes: (def.routes ?? []).map((r) => ({ method: r.method, path: r.path, permission: r.permission, accepts: safeClone(r.accepts) })),
    storageScope: typeof def.storageScope === 'string' ? def.storageScope : undefined,
    jobs: (def.jobs ?? []).map((j) => ({ name: j.name, schedule: j.schedule, timeout: j.timeout, retries: j.retries })),
    migrations: (def.migrations ?? []).map((m) => ({ name: m.name, down: typeof m.down === 'function' })),
  };
}

function apiShape(value) {
  if (value === null || typeof value !== 'object') return { methods: [], data: value === undefined ? undefined : safeClone(value) };
  const names = new Set(Object.keys(value).filter((k) => typeof value[k] === 'function'));
  for (let p = Object.getPrototypeOf(value); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) if (k !== 'constructor' && typeof value[k] === 'function') names.add(k);
  }
  const data = Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v !== 'function'));
  return { methods: [...names], data: safeClone(data) };
}

// The sandboxed tier's load: the entry and its imports evaluated in the module's compartment.
function loadSandboxed(m) {
  compartment = sandboxed.createModuleCompartment({
    root: m.root,
    entry: m.entry,
    log: (level, message) => {
      const fields = withRequest(undefined);
      send({ t: 'log', level, message: String(message).slice(0, MAX_LOG_MESSAGE_LENGTH), ...(fields ? { fields } : {}) });
    },
    refused: (message, details) =>
      Object.assign(new compartment.Error(`${m.module ?? m.entry}: ${message}`), { name: 'ModhostError', code: 'PERMISSION_DENIED', details }),
  });
  ErrorClass = compartment.Error;
  return compartment.load();
}

const ops = {
  async init([m]) {
    const loaded = sandboxed ? loadSandboxed(m) : await import(pathToFileURL(m.entry).href);
    definition = loaded.default ?? loaded.module ?? loaded;
    if (m.caps) {
      initMessage = m;
      currentConfig = deepFreeze(m.config);
      ctx = buildContext(m);
    }
    return describe(definition);
  },
  async activate() {
    api = definition.activate ? await definition.activate(ctx) : undefined;
    return apiShape(api);
  },
  async deactivate() {
    try {
      return await definition.deactivate?.(ctx);
    } finally {
      // Timers die with the module: none of them fires after its deactivate.
      compartment?.stop();
    }
  },
  health: () => (definition.health ? definition.health(ctx) : true),
  exportState: () => definition.exportState?.(ctx),
  importState: ([state, from]) => definition.importState?.(state, from, ctx),
  reconfigure: ([config]) => {
    currentConfig = deepFreeze(config);
    return definition.reconfigure?.(currentConfig, ctx);
  },
  route: ([index, req, scope]) =>
    serving.run(
      {
        trace: typeof req?.traceparent === 'string' && TRACEPARENT.test(req.traceparent) ? req.traceparent : undefined,
        requestId: typeof req?.requestId === 'string' ? req.requestId : undefined,
        tenant: typeof req?.tenant === 'string' ? req.tenant : undefined,
      },
      () =>
        definition.routes[index].handler(
          req,
          scope ? buildContext(initMessage, { id: scope.id, tenant: scope.tenant, config: deepFreeze(scope.config) }) : ctx,
        ),
    ),
  job: ([index]) => definition.jobs[index].run(ctx),
  migrateUp: ([index]) => definition.migrations[index].up(ctx),
  migrateDown: ([index]) => definition.migrations[index].down?.(ctx),
  api: ([method, args]) => {
    if (api === null || typeof api !== 'object' || typeof api[method] !== 'function') throw new Error(`its API has no method "${method}"`);
    return api[method](...args);
  },
  ping: () => 'pong',
};

listen(async (m) => {
  if (m.t === 'ctx-result') {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (w) m.ok ? w.resolve(m.value) : w.reject(reviveError(m.error));
    return;
  }
  if (m.t !== 'call') return;
  let reply;
  try {
    const value = await ops[m.op](m.args ?? []);
    reply = { t: 'result', id: m.id, ok: true, value };
  } catch (e) {
    reply = { t: 'result', id: m.id, ok: false, error: serializeError(e) };
  }
  try {
    send(reply);
  } catch (e) {
    send({
      t: 'result',
      id: m.id,
      ok: false,
      error: { name: 'DataCloneError', message: `returned a value that cannot cross to the host (plain data only): ${e.message}` },
    });
  }
});

send({ t: 'up' });
