import { ModhostError } from '@modhost/core';
import type { RouteMatch, RouteTable } from './route-table.js';
import { canonicalSegment, pathSegments, rawSegments } from './route-table.js';

/** What a slot points at: one assignment replaces it whole, so a request sees either the old state or the new. */
interface SlotState<H> {
  readonly stable: RouteTable<H>;
  readonly canary?: { readonly table: RouteTable<H>; readonly percent: number };
}

/**
 * A module's place in the router: a prefix and a reference to the table serving it. Switching versions is one
 * assignment; requests already running finish on the table they started with.
 */
export interface RouteSlot<H> {
  readonly prefix: string;
  /** The table that serves requests not sent to a canary. */
  readonly current: RouteTable<H>;
  readonly canary: { readonly table: RouteTable<H>; readonly percent: number } | undefined;
  /** Points the slot at `table` (ending any canary) and returns the table it replaced. */
  switchTo(table: RouteTable<H>): RouteTable<H>;
  /** Sends `percent` (0–100) of requests, chosen by a stable request key, to `table`. */
  setCanary(table: RouteTable<H>, percent: number): void;
  /** Makes the canary the stable table; returns the table it replaced. */
  promoteCanary(): RouteTable<H>;
  /** Sends everything back to the stable table; returns the canary table, if any. */
  abortCanary(): RouteTable<H> | undefined;
  /** The table that serves a request with this key. */
  pick(key: string | undefined): RouteTable<H>;
  /**
   * Holds new requests for this slot (in `router.handle`) until the returned function is called: what a
   * `quiesce` hand-off uses, so no request reaches either version while state moves between them.
   */
  hold(): () => void;
  /** @internal Resolves when the slot is not held. */
  whenOpen(): Promise<void> | undefined;
}

/** A dispatched request: what to call, and on which table it runs. */
export interface Dispatch<H> extends RouteMatch<H> {
  readonly table: RouteTable<H>;
  readonly slot: RouteSlot<H>;
}

/** The framework-agnostic dispatcher HTTP adapters use: method + path (+ a stable key) → handler and params. */
export interface Router<H> {
  /** Gives a module its prefix. One slot per prefix; `/` is allowed. */
  mount(prefix: string, table: RouteTable<H>): RouteSlot<H>;
  /** Removes a module's slot (after it has drained); returns the table it held. */
  unmount(prefix: string): RouteTable<H> | undefined;
  slot(prefix: string): RouteSlot<H> | undefined;
  readonly prefixes: readonly string[];
  /** Finds the handler for a request, by the longest mounted prefix. */
  dispatch(method: string, path: string, key?: string): Dispatch<H> | undefined;
  /**
   * Dispatches and runs `invoke` while counting the request as in flight on its table, so a swapped-out version
   * can drain. Waits while the module's slot is held. Returns `undefined` when no route matches. `dispatched`, the
   * result of `dispatch` with the same arguments a moment ago, saves routing again when its slot is open.
   */
  handle<R>(method: string, path: string, invoke: (d: Dispatch<H>) => R | Promise<R>, key?: string, dispatched?: Dispatch<H>): Promise<R | undefined>;
}

/** A stable bucket in [0, 10000) for a request key (FNV-1a), so a user stays on one side of a canary. */
export function canaryBucket(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % 10_000;
}

const normalizePrefix = (prefix: string): string => {
  const segs = pathSegments(prefix);
  if (!segs || !prefix.startsWith('/'))
    throw new ModhostError('INVALID_ARGUMENT', `route prefix ${JSON.stringify(prefix)} must start with "/"`, { details: { prefix } });
  return `/${segs.map(canonicalSegment).join('/')}`;
};

function createSlot<H>(prefix: string, initial: RouteTable<H>): RouteSlot<H> {
  let state: SlotState<H> = { stable: initial };
  let held: { promise: Promise<void>; release: () => void } | undefined;
  const slot: RouteSlot<H> = {
    prefix,
    get current() {
      return state.stable;
    },
    get canary() {
      return state.canary;
    },
    switchTo(table) {
      const previous = state.stable;
      state = { stable: table };
      return previous;
    },
    setCanary(table, percent) {
      if (!(percent >= 0 && percent <= 100)) throw new RangeError(`canary percent must be between 0 and 100, got ${percent}`);
      state = { stable: state.stable, canary: { table, percent } };
    },
    promoteCanary() {
      const canary = state.canary;
      if (!canary) throw new ModhostError('ILLEGAL_TRANSITION', `slot ${prefix} has no canary to promote`, { details: { prefix } });
      const previous = state.stable;
      state = { stable: canary.table };
      return previous;
    },
    abortCanary() {
      const canary = state.canary?.table;
      state = { stable: state.stable };
      return canary;
    },
    hold() {
      if (!held) {
        let release!: () => void;
        const promise = new Promise<void>((r) => {
          release = r;
        });
        held = { promise, release };
      }
      const h = held;
      return () => {
        if (held === h) held = undefined;
        h.release();
      };
    },
    whenOpen: () => held?.promise,
    pick(key) {
      const s = state;
      if (!s.canary || s.canary.percent <= 0) return s.stable;
      if (s.canary.percent >= 100) return s.canary.table;
      // Without a key there is no way to keep a caller on one side: such requests stay on the stable version.
      if (key === undefined) return s.stable;
      return canaryBucket(key) < s.canary.percent * 100 ? s.canary.table : s.stable;
    },
  };
  return slot;
}

/** Creates an empty router. */
export function createRouter<H>(): Router<H> {
  const slots = new Map<string, RouteSlot<H>>();
  const router: Router<H> = {
    mount(prefix, table) {
      const p = normalizePrefix(prefix);
      if (slots.has(p)) {
        throw new ModhostError(
          'MODULE_VERSION_CONFLICT',
          `prefix ${p} is already mounted by ${slots.get(p)?.current.owner.module}; swap versions with slot.switchTo()`,
          {
            details: { prefix: p },
          },
        );
      }
      const slot = createSlot(p, table);
      slots.set(p, slot);
      return slot;
    },
    unmount(prefix) {
      const p = normalizePrefix(prefix);
      const slot = slots.get(p);
      slots.delete(p);
      return slot?.current;
    },
    slot: (prefix) => slots.get(normalizePrefix(prefix)),
    get prefixes() {
      return [...slots.keys()].sort();
    },
    dispatch(method, path, key) {
      // Segments as sent (canonical or not matched at all): slots and tables are keyed by the canonical spelling.
      const segs = rawSegments(path);
      if (!segs) return undefined;
      // Prefix keys are decoded segments joined by "/" (as mount stores them); the table matches the rest as segments,
      // so an escaped "/" inside a segment stays one segment.
      const prefixes: string[] = [''];
      for (const seg of segs) prefixes.push(`${prefixes[prefixes.length - 1]}/${seg}`);
      prefixes[0] = '/';
      for (let n = segs.length; n >= 0; n--) {
        const slot = slots.get(prefixes[n] as string);
        if (!slot) continue;
        // Read the slot once: the whole request runs on this table even if the slot switches meanwhile.
        const table = slot.pick(key);
        const match = table.matchSegments(method, n === 0 ? segs : segs.slice(n));
        if (match)
          return {
            handler: match.handler,
            params: match.params,
            pattern: match.pattern,
            method: match.method,
            owner: match.owner,
            permission: match.permission,
            accepts: match.accepts,
            table,
            slot,
          };
      }
      return undefined;
    },
    async handle(method, path, invoke, key, dispatched) {
      // A dispatch made a moment ago serves only if its slot still points at its table (no swap since) and is open.
      let d = dispatched && !dispatched.slot.whenOpen() && dispatched.slot.pick(key) === dispatched.table ? dispatched : router.dispatch(method, path, key);
      // A held slot (a quiesce hand-off): wait, then dispatch again, to whichever version serves by then.
      for (let open = d?.slot.whenOpen(); d && open; open = d?.slot.whenOpen()) {
        await open;
        d = router.dispatch(method, path, key);
      }
      if (!d) return undefined;
      d.table.enter();
      try {
        return await invoke(d);
      } finally {
        d.table.leave();
      }
    },
  };
  return router;
}
