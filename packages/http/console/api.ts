// Same-origin calls to the management API under the console's prefix: the browser sends the app's session cookie;
// every changing call carries the CSRF header.

/** A problem document, or a network failure as one. */
export interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly code?: string;
  readonly hint?: string;
  readonly issues?: readonly { path: readonly (string | number)[]; message: string }[];
}

/** What a call answers: the JSON body, or the problem. */
export type Result<T> = { ok: true; value: T } | { ok: false; problem: Problem };

/** Calls `api/<path>` (relative to the page's base, so the prefix is the mount's). */
export async function call<T>(method: string, path: string, body?: unknown): Promise<Result<T>> {
  let res: Response;
  try {
    res = await fetch(`api${path}`, {
      method,
      credentials: 'same-origin',
      headers: {
        accept: 'application/json',
        ...(method === 'GET' ? {} : { 'x-modhost-csrf': '1' }),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    return { ok: false, problem: { status: 0, title: 'Network error', detail: 'the server did not answer' } };
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.ok) return { ok: true, value: json as T };
  const p = (json ?? {}) as Partial<Problem>;
  return { ok: false, problem: { status: res.status, title: p.title ?? res.statusText, detail: p.detail ?? res.statusText, ...pick(p) } };
}

const pick = (p: Partial<Problem>) => ({
  ...(p.code ? { code: p.code } : {}),
  ...(p.hint ? { hint: p.hint } : {}),
  ...(p.issues ? { issues: p.issues } : {}),
});

/** Reads a JSON document the console serves beside the API (`session`). */
export async function getJson<T>(path: string): Promise<T | undefined> {
  try {
    const res = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}
