// Core compiles without DOM or Node typings (it must run in any JS runtime), so the few
// globals it touches are typed here by hand.
interface RuntimeGlobals {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  console?: { error(...args: unknown[]): void; info(...args: unknown[]): void };
}

/** @internal */
export const runtime = globalThis as unknown as RuntimeGlobals;

/** Reports an error that has nowhere else to go (a throwing listener). @internal */
export function reportError(message: string, error: unknown): void {
  runtime.console?.error(message, error);
}
