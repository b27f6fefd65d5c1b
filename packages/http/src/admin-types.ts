import type { ManagementApiOptions, ManagementHost } from './management-types.js';
import type { HttpHandler } from './types.js';

/** What the admin console needs of a host: the management API's, plus its events for the live view. */
export interface AdminHost extends ManagementHost {
  /** The host's events (`createHost()`'s `host.events`): health changes, swaps, failures, tenant progress. */
  readonly events?: { onAny(listener: (event: string | number | symbol, payload: unknown) => void): () => void };
}

/**
 * Options for {@link createAdminConsole}: the management API's (the same `authenticate`, `resolveTenant`, `roles` or
 * `authorize` decide every call the console makes), plus where the console lives.
 */
export interface AdminConsoleOptions<P = unknown> extends ManagementApiOptions<P> {
  /**
   * The path the console is mounted at, as the browser sees it (default `/admin`): the page's links, and the redirect
   * from the bare path, are made from it. The handler itself gets paths below the mount, like every other handler.
   */
  prefix?: string;
  /**
   * A management API handler to call instead of making one from these options (for an app that already made one).
   * The identity and role options must still be given: they decide the session, the live stream and the buttons.
   */
  api?: HttpHandler;
  /** Origins (`https://admin.example.com`) besides the request's own host allowed to send changing requests. */
  allowedOrigins?: readonly string[];
  /** How many host events the live stream keeps for clients that reconnect (default 500). */
  eventBuffer?: number;
  /** How long one live-stream response waits for an event before it ends and the browser reconnects, ms (default 25,000). */
  holdMs?: number;
  /**
   * How many live-stream responses may wait for events at once (default 200): past it, a response answers at once
   * and tells the browser to come back in 5 s, so open streams cannot pile up sockets.
   */
  maxLiveConnections?: number;
  /** The page title (default `modhost admin`). */
  title?: string;
}

/** The admin console: an {@link HttpHandler} to mount at its prefix, and `close()` to end the live streams it holds. */
export interface AdminConsole extends HttpHandler {
  /** Stops listening to the host's events and answers every held live-stream request now (call it before stopping the server). */
  close(): void;
}
