// The globals a sandboxed module gets besides the language itself: each chosen on purpose, each hardened, none
// handing out a Node object (a timer handle, a Node error class) whose prototype the module could poison or use
// to walk back into the worker. The list is documented in docs/security.md ("Endowments of the sandboxed tier").

/** Turns a host error into one of the shared, frozen error classes (a Node error class must not reach the module). */
const plainError = (e, ErrorClass) => {
  const out = new ErrorClass(String(e?.message ?? e));
  if (typeof e?.code === 'string') out.code = e.code;
  return out;
};

/** Calls `fn`, rethrowing whatever it throws as a shared intrinsic error. */
const safely = (fn, ErrorClass) =>
  function (...args) {
    try {
      return Reflect.apply(fn, this, args);
    } catch (e) {
      throw plainError(e, ErrorClass);
    }
  };

/** A subclass of a host class whose constructor and static methods throw only shared intrinsic errors. */
function safeClass(Base, ErrorClass, statics = []) {
  const Safe = class extends Base {
    constructor(...args) {
      try {
        super(...args);
      } catch (e) {
        throw plainError(e, ErrorClass);
      }
    }
  };
  Object.defineProperty(Safe, 'name', { value: Base.name });
  for (const s of statics) if (typeof Base[s] === 'function') Object.defineProperty(Safe, s, { value: safely(Base[s], ErrorClass) });
  return Safe;
}

/** Formats console arguments as Node's console would, roughly, without handing them to Node's inspector. */
function format(args) {
  return args
    .map((a) => {
      if (typeof a === 'string') return a;
      if (a instanceof Error) return `${a.name}: ${a.message}`;
      if (typeof a === 'object' && a !== null) {
        try {
          return JSON.stringify(a);
        } catch {
          return Object.prototype.toString.call(a);
        }
      }
      return String(a);
    })
    .join(' ');
}

/**
 * Makes the endowments of one module: `log(level, message)` receives its console; the timers are tracked so
 * `stopTimers()` clears every one (the module's deactivate, or its end).
 */
export function makeEndowments({ log, TypeError: SharedTypeError }) {
  const timers = new Map();
  let nextTimer = 0;
  let stopped = false;
  const schedule =
    (repeat) =>
    (callback, ms, ...args) => {
      if (typeof callback !== 'function') throw new SharedTypeError('the callback must be a function (no strings: they would be code)');
      if (stopped) return 0;
      nextTimer += 1;
      const id = nextTimer;
      const run = () => {
        if (!repeat) timers.delete(id);
        Reflect.apply(callback, undefined, args);
      };
      // The Node handle stays here: the module gets a number.
      timers.set(id, repeat ? setInterval(run, Number(ms) || 0) : setTimeout(run, Number(ms) || 0));
      return id;
    };
  const cancel = (id) => {
    const handle = timers.get(id);
    if (handle === undefined) return;
    timers.delete(id);
    clearTimeout(handle);
  };
  const console = {};
  for (const [name, level] of [
    ['debug', 'debug'],
    ['log', 'info'],
    ['info', 'info'],
    ['warn', 'warn'],
    ['error', 'error'],
    ['trace', 'debug'],
  ])
    console[name] = (...args) => log(level, format(args));

  const globals = {
    console,
    setTimeout: schedule(false),
    setInterval: schedule(true),
    clearTimeout: cancel,
    clearInterval: cancel,
    queueMicrotask: (fn) => {
      if (typeof fn !== 'function') throw new SharedTypeError('queueMicrotask needs a function');
      Promise.resolve().then(() => fn());
    },
    TextEncoder: safeClass(TextEncoder, SharedTypeError),
    TextDecoder: safeClass(TextDecoder, SharedTypeError),
    URL: safeClass(URL, SharedTypeError, ['canParse']),
    URLSearchParams: safeClass(URLSearchParams, SharedTypeError),
    atob: safely(atob, SharedTypeError),
    btoa: safely(btoa, SharedTypeError),
    // The real clock and Math.random (a compartment's own throw): time is a side channel, documented as such.
    Date,
    Math,
    crypto: {
      randomUUID: () => crypto.randomUUID(),
      getRandomValues: safely((array) => crypto.getRandomValues(array), SharedTypeError),
    },
  };
  // Hardened: the module cannot change what the guest runtime's own use of these does.
  for (const v of Object.values(globals)) harden(v);
  // Methods of the host classes are reached through the subclasses' prototypes: hardened with them.
  for (const C of [TextEncoder, TextDecoder, URL, URLSearchParams]) harden(C);
  return {
    globals,
    stopTimers() {
      stopped = true;
      for (const handle of timers.values()) clearTimeout(handle);
      timers.clear();
    },
  };
}
