import type { Clock } from '@modhost/core';
import { isJsonType } from './media-type.js';
import type { HttpBody } from './types.js';

/** The body, decoded for the handler, or why the request is refused. */
export type BodyOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly status: 400 | 408 | 413; readonly detail: string };

/** How a body is read. */
export interface BodyLimits {
  readonly limit: number;
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** The request has a `content-encoding` (its declared length is the compressed one). */
  readonly encoded?: boolean;
}

const TEXT_TYPES = new Set(['application/x-www-form-urlencoded', 'application/xml', 'application/javascript']);

type BodyRefusal = Exclude<BodyOutcome, { ok: true }>;
const tooLarge = (limit: number): BodyRefusal => ({ ok: false, status: 413, detail: `the request body is larger than ${limit} bytes` });

/** JSON types parse, text types and an untyped body give a string, anything else the bytes. */
function decode(bytes: Uint8Array, type: string | undefined): BodyOutcome {
  if (bytes.byteLength === 0) return { ok: true, value: undefined };
  if (type === undefined || type.startsWith('text/') || TEXT_TYPES.has(type) || isJsonType(type)) {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return { ok: false, status: 400, detail: 'the request body is not valid UTF-8' };
    }
    if (!isJsonType(type)) return { ok: true, value: text };
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch {
      return { ok: false, status: 400, detail: 'the request body is not valid JSON' };
    }
  }
  return { ok: true, value: bytes };
}

const concat = (chunks: readonly Uint8Array[], size: number) => {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
};

/** Reads a stream to its end, or stops at the limit or the deadline (cancelling the stream). */
async function drain(body: Extract<HttpBody, { kind: 'stream' }>, limits: BodyLimits): Promise<{ ok: true; bytes: Uint8Array } | BodyRefusal> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: unknown;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = limits.clock.setTimeout(() => resolve('timeout'), limits.timeoutMs);
  });
  const iterator = body.stream[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), deadline]);
      if (next === 'timeout') {
        body.cancel?.();
        void iterator.return?.()?.catch?.(() => {});
        return { ok: false, status: 408, detail: `the request body did not arrive within ${limits.timeoutMs} ms` };
      }
      if (next.done) break;
      const chunk = typeof next.value === 'string' ? new TextEncoder().encode(next.value) : next.value;
      size += chunk.byteLength;
      if (size > limits.limit) {
        body.cancel?.();
        void iterator.return?.()?.catch?.(() => {});
        return tooLarge(limits.limit);
      }
      chunks.push(chunk);
    }
  } catch {
    return { ok: false, status: 400, detail: 'the request body could not be read' };
  } finally {
    limits.clock.clearTimeout(timer);
  }
  return { ok: true, bytes: concat(chunks, size) };
}

/** The size of a body a framework parsed: its declared length, else its bytes, its text, or its JSON. */
function parsedSize(value: unknown, declaredLength: string | undefined, encoded: boolean): number {
  const declared = Number(declaredLength);
  // A compressed body's declared length is not its size once the framework inflated it: measure it.
  if (!encoded && declaredLength !== undefined && Number.isFinite(declared)) return declared;
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === 'string') return new TextEncoder().encode(value).byteLength;
  try {
    return new TextEncoder().encode(JSON.stringify(value) ?? '').byteLength;
  } catch {
    return 0;
  }
}

/** Reads and decodes a request body within the limits. Never throws. */
export async function readBody(body: HttpBody, type: string | undefined, declaredLength: string | undefined, limits: BodyLimits): Promise<BodyOutcome> {
  switch (body.kind) {
    case 'none':
      return { ok: true, value: undefined };
    case 'parsed':
      // A framework's parser may allow more than the pipeline does: the pipeline's cap holds either way.
      if (parsedSize(body.value, declaredLength, limits.encoded === true) > limits.limit) return tooLarge(limits.limit);
      // A framework parser that gives bytes (Fastify's buffer parser) is decoded here, by the same rules.
      return body.value instanceof Uint8Array
        ? body.value.byteLength > limits.limit
          ? tooLarge(limits.limit)
          : decode(body.value, type)
        : { ok: true, value: body.value };
    case 'bytes':
      return body.bytes.byteLength > limits.limit ? tooLarge(limits.limit) : decode(body.bytes, type);
    case 'stream': {
      // A declared length over the limit is refused before a byte is read.
      if (declaredLength !== undefined && Number(declaredLength) > limits.limit) {
        body.cancel?.();
        return tooLarge(limits.limit);
      }
      const read = await drain(body, limits);
      return read.ok ? decode(read.bytes, type) : read;
    }
  }
}
