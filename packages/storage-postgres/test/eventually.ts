/**
 * Waits for something the server does on its own time (a notification, a terminated backend) by polling,
 * bounded: throws with `what` after `timeoutMs`. Between polls `onPoll` runs (e.g. to step a fake clock).
 */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
  onPoll?: () => unknown,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await onPoll?.();
    await new Promise((r) => setTimeout(r, 5));
  }
}
