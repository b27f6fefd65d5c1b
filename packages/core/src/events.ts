import { reportError } from './runtime.js';

/** A listener for one event type. */
export type Listener<T> = (payload: T) => void;

/** A typed event emitter whose listeners cannot break it or each other. */
export interface Emitter<Events extends Record<string, unknown>> {
  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void;
  /** Subscribes for one emission. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void;
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void;
  /** Subscribes to every event. */
  onAny(listener: (event: keyof Events, payload: Events[keyof Events]) => void): () => void;
  emit<K extends keyof Events>(event: K, payload: Events[K]): void;
}

/** Options for {@link createEmitter}. */
export interface EmitterOptions {
  /**
   * Called when a listener throws. The error never reaches the emitter's caller or the other
   * listeners. Default: `console.error`.
   */
  onListenerError?: (error: unknown, event: string) => void;
}

/** Creates a typed emitter. A listener that throws (or rejects) is reported and skipped. */
export function createEmitter<Events extends Record<string, unknown>>(options: EmitterOptions = {}): Emitter<Events> {
  const listeners = new Map<keyof Events, Set<Listener<never>>>();
  const any = new Set<(event: keyof Events, payload: Events[keyof Events]) => void>();
  const report = options.onListenerError ?? ((error: unknown, event: string) => reportError(`[modhost] a listener for "${event}" threw:`, error));

  const safely = (event: keyof Events, fn: () => unknown) => {
    try {
      const r = fn();
      // An async listener's rejection is reported too, never left unhandled.
      if (r && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).then(undefined, (e) => report(e, String(event)));
    } catch (e) {
      report(e, String(event));
    }
  };

  const emitter: Emitter<Events> = {
    on(event, listener) {
      const set = listeners.get(event) ?? new Set<Listener<never>>();
      listeners.set(event, set);
      set.add(listener as Listener<never>);
      return () => emitter.off(event, listener);
    },
    once(event, listener) {
      const off = emitter.on(event, (payload) => {
        off();
        listener(payload);
      });
      return off;
    },
    off(event, listener) {
      listeners.get(event)?.delete(listener as Listener<never>);
    },
    onAny(listener) {
      any.add(listener);
      return () => any.delete(listener);
    },
    emit(event, payload) {
      // Copy so a listener that (un)subscribes during emit does not change this round.
      for (const l of [...(listeners.get(event) ?? [])]) safely(event, () => (l as Listener<Events[typeof event]>)(payload));
      for (const l of [...any]) safely(event, () => l(event, payload));
    },
  };
  return emitter;
}
