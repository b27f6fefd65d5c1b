import type { Logger } from '@modhost/core';

/**
 * A fresh logger that drops every line, for tests that do not look at logs.
 *
 * It also fits as is wherever a `logger: (module) => Logger` option is asked for (each module then gets its
 * own silent logger): `createActivator({ registry, logger: silentLogger })`, `createHost({ logger: silentLogger })`.
 *
 * @example
 * ```ts
 * const log = silentLogger()
 * log.error('nobody hears this') // prints nothing
 * ```
 */
export function silentLogger(): Logger {
  return { debug() {}, info() {}, warn() {}, error() {} };
}
