/** Which module version a route table belongs to. */
export interface RouteOwner {
  readonly module: string;
  readonly version: string;
}

/** A route to compile: method, path (with `:params`) and whatever the host calls to serve it. */
export interface RouteSpec<H> {
  readonly method: string;
  readonly path: string;
  readonly handler: H;
  /** The permission the route declares, for the HTTP pipeline's `authorize`. */
  readonly permission?: string | undefined;
  /** The body media types it takes (415 for others). */
  readonly accepts?: readonly string[] | undefined;
}

/** What a table says of one of its routes. */
export interface RouteInfo {
  readonly method: string;
  readonly path: string;
  readonly permission?: string;
  readonly accepts?: readonly string[];
}

/** A matched route. `params` has no prototype, so a `:__proto__` segment is just a key. */
export interface RouteMatch<H> {
  readonly handler: H;
  readonly params: Readonly<Record<string, string>>;
  /** The route's pattern, e.g. `/tasks/:id`. */
  readonly pattern: string;
  /** The route's method as declared (`GET` for a HEAD it serves). */
  readonly method: string;
  readonly owner: RouteOwner;
  /** The permission the route declares, if any. */
  readonly permission?: string | undefined;
  /** The body media types it takes, if it says. */
  readonly accepts?: readonly string[] | undefined;
}

/**
 * The routes of one module version, compiled once and never changed. A hot swap builds a new table and
 * points the module's slot at it; no route is ever removed from a table that is serving.
 * The in-flight counter is what lets the old version drain.
 */
export interface RouteTable<H> {
  readonly owner: RouteOwner;
  readonly routes: readonly RouteInfo[];
  match(method: string, path: string): RouteMatch<H> | undefined;
  /** @internal `match` for a path already split into canonical segments as sent (see `rawSegments`): the router's hot path. */
  matchSegments(method: string, segments: readonly string[]): RouteMatch<H> | undefined;
  /** Methods that would match `path` (for a 405 with an `Allow` header). */
  allowedMethods(path: string): string[];
  /** Requests this table is serving now. */
  readonly inFlight: number;
  /** Resolves when no request is in flight (at once if none is). */
  idle(): Promise<void>;
  /** @internal Called by the router around each request. */
  enter(): void;
  /** @internal */
  leave(): void;
}

interface Node<H> {
  readonly statics: Map<string, Node<H>>;
  param?: { readonly name: string; readonly node: Node<H> };
  readonly handlers: Map<string, { readonly handler: H; readonly pattern: string; readonly names: readonly string[]; readonly info: RouteInfo }>;
}

const newNode = <H>(): Node<H> => ({ statics: new Map(), handlers: new Map() });

/** Splits a path into decoded segments; `undefined` for a malformed escape. Query and fragment are ignored. */
export function pathSegments(path: string): string[] | undefined {
  let clean = path;
  const cut = clean.search(/[?#]/);
  if (cut >= 0) clean = clean.slice(0, cut);
  const out: string[] = [];
  for (const raw of clean.split('/')) {
    if (raw === '') continue;
    // Most segments have no escape: skip the decoder for them.
    if (!raw.includes('%')) {
      out.push(raw);
      continue;
    }
    try {
      out.push(decodeURIComponent(raw));
    } catch {
      return undefined;
    }
  }
  return out;
}

// What a path segment may carry as it is (RFC 3986 pchar); everything else is percent-encoded.
const PCHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]*$/;

/** A decoded segment in its one canonical form: what must be escaped, escaped (upper-case hex), nothing else. */
export function canonicalSegment(decoded: string): string {
  if (PCHARS.test(decoded)) return decoded;
  let out = '';
  for (const ch of decoded) out += PCHARS.test(ch) ? ch : encodeURIComponent(ch).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return out;
}

/**
 * Splits a request path into its segments as sent, or `undefined` when the path is not canonical: an empty segment
 * inside it (`//`), a malformed escape, or an escape of a character that needs none (`%61` for `a`). Frameworks and
 * app middleware match paths as sent, so routing on another spelling of the same path would walk around an app's
 * own path guards. One trailing slash is allowed. Query and fragment are ignored.
 */
export function rawSegments(path: string): string[] | undefined {
  let clean = path;
  const cut = clean.search(/[?#]/);
  if (cut >= 0) clean = clean.slice(0, cut);
  const parts = clean.split('/');
  const out: string[] = [];
  for (let i = parts[0] === '' ? 1 : 0; i < parts.length; i++) {
    let seg = parts[i] as string;
    if (seg === '') {
      if (i === parts.length - 1) break;
      return undefined;
    }
    if (!PCHARS.test(seg)) {
      seg = seg.replace(/%[0-9a-f]{2}/gi, (e) => e.toUpperCase());
      let decoded: string;
      try {
        decoded = decodeURIComponent(seg);
      } catch {
        return undefined;
      }
      if (canonicalSegment(decoded) !== seg) return undefined;
    }
    out.push(seg);
  }
  return out;
}

const decodeSegment = (raw: string) => (raw.includes('%') ? decodeURIComponent(raw) : raw);

const infoOf = <H>(s: RouteSpec<H>): RouteInfo =>
  Object.freeze({
    method: s.method.toUpperCase(),
    path: s.path,
    ...(s.permission !== undefined ? { permission: s.permission } : {}),
    ...(s.accepts !== undefined ? { accepts: Object.freeze([...s.accepts]) } : {}),
  });

/** Compiles a module version's routes into an immutable table (a trie per path; static segments win over params). */
export function createRouteTable<H>(owner: RouteOwner, specs: readonly RouteSpec<H>[]): RouteTable<H> {
  const root = newNode<H>();
  for (const spec of specs) {
    let node = root;
    const names: string[] = [];
    for (const seg of spec.path.split('/').filter((s) => s !== '')) {
      if (seg.startsWith(':')) {
        // `/a/:id` (GET) and `/a/:key` (POST) share a node; each route keeps its own parameter names.
        node.param ??= { name: seg.slice(1), node: newNode<H>() };
        names.push(seg.slice(1));
        node = node.param.node;
      } else {
        // Matched against segments as sent, in their canonical spelling.
        const key = canonicalSegment(seg);
        const next = node.statics.get(key) ?? newNode<H>();
        node.statics.set(key, next);
        node = next;
      }
    }
    const method = spec.method.toUpperCase();
    if (node.handlers.has(method)) throw new TypeError(`createRouteTable: duplicate route ${method} ${spec.path} in ${owner.module}@${owner.version}`);
    node.handlers.set(method, { handler: spec.handler, pattern: spec.path, names, info: infoOf(spec) });
  }

  /**
   * Finds the node for a path: static before param, with backtracking. It recurses at most as deep as the table's
   * longest route (a longer path stops where the trie ends), so a hostile path cannot exhaust the stack.
   */
  const walk = (node: Node<H>, segments: readonly string[], i: number, values: string[], accept: (n: Node<H>) => boolean): Node<H> | undefined => {
    if (i === segments.length) return accept(node) ? node : undefined;
    const seg = segments[i] as string;
    const next = node.statics.get(seg);
    if (next) {
      const found = walk(next, segments, i + 1, values, accept);
      if (found) return found;
    }
    if (!node.param) return undefined;
    values.push(seg);
    const found = walk(node.param.node, segments, i + 1, values, accept);
    if (!found) values.pop();
    return found;
  };
  const find = (segments: readonly string[], accept: (n: Node<H>) => boolean): { node: Node<H>; values: string[] } | undefined => {
    const values: string[] = [];
    const node = walk(root, segments, 0, values, accept);
    return node ? { node, values } : undefined;
  };
  const byMethod = new Map<string, (n: Node<H>) => boolean>();
  const acceptsMethod = (m: string) => {
    let accept = byMethod.get(m);
    if (!accept) {
      accept = (n: Node<H>) => n.handlers.has(m) || (m === 'HEAD' && n.handlers.has('GET'));
      if (byMethod.size < 16) byMethod.set(m, accept);
    }
    return accept;
  };

  let inFlight = 0;
  let waiters: (() => void)[] = [];
  const table: RouteTable<H> = {
    owner: Object.freeze({ ...owner }),
    routes: Object.freeze(specs.map(infoOf)),
    match(method, path) {
      const segments = rawSegments(path);
      return segments ? table.matchSegments(method, segments) : undefined;
    },
    matchSegments(method, segments) {
      const m = method.toUpperCase();
      const found = find(segments, acceptsMethod(m));
      if (!found) return undefined;
      const h = found.node.handlers.get(m) ?? found.node.handlers.get('GET');
      if (!h) return undefined;
      const params: Record<string, string> = Object.create(null);
      h.names.forEach((name, i) => {
        params[name] = decodeSegment(found.values[i] as string);
      });
      // One shape for every match (no conditional spreads): this runs on every request.
      // Prototype-less, not frozen: freezing a dictionary-mode object costs more than the whole match.
      return {
        handler: h.handler,
        params,
        pattern: h.pattern,
        method: h.info.method,
        owner: table.owner,
        permission: h.info.permission,
        accepts: h.info.accepts,
      };
    },
    allowedMethods(path) {
      const segments = rawSegments(path);
      const found = segments && find(segments, (n) => n.handlers.size > 0);
      return found ? [...found.node.handlers.keys()].sort() : [];
    },
    get inFlight() {
      return inFlight;
    },
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    enter() {
      inFlight++;
    },
    leave() {
      inFlight--;
      if (inFlight === 0) {
        const done = waiters;
        waiters = [];
        for (const w of done) w();
      }
    },
  };
  return table;
}
