// Kernel attribute names are short (`module`, `phase`); in a trace backend they sit beside every other library's,
// so they get a `modhost.` namespace.
import type { TelemetryAttributes } from '@modhost/core';
import type { Attributes } from '@opentelemetry/api';

// How much of an error message a span keeps: messages are for operators, but a stack dump is not an attribute.
const MAX_MESSAGE_LENGTH = 500;

// The kernel uses a handful of names: each prefixed name is made once, not per span.
const prefixed = new Map<string, string>();

/** `attributes` with `modhost.` before each key and undefined values dropped. */
export function toOtelAttributes(attributes: TelemetryAttributes): Attributes {
  const out: Attributes = {};
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined) continue;
    let name = prefixed.get(key);
    if (name === undefined) {
      name = `modhost.${key}`;
      if (prefixed.size < 1000) prefixed.set(key, name);
    }
    out[name] = value;
  }
  return out;
}

/** `message` cut to 500 characters, marked with `…` when cut. */
export function boundMessage(message: string): string {
  return message.length <= MAX_MESSAGE_LENGTH ? message : `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}
