import { ErrorCode, type ErrorDetails, ModhostError } from '@modhost/core';
import type { SerializedError } from './guest-channel.js';

/** Which modhost permission lifts each refusal of Node's permission model. */
const GRANT_FOR: Readonly<Record<string, string>> = {
  FileSystemRead: 'an fs:read: permission for that path',
  FileSystemWrite: 'an fs:write: permission for that path',
  ChildProcess: 'process:spawn',
  WorkerThreads: 'worker:spawn',
};

/** Turns an error from the guest back into an Error (a Node permission denial becomes `PERMISSION_DENIED`). */
export function reviveGuestError(module: string, s: SerializedError): Error {
  if (s.code === 'ERR_ACCESS_DENIED') {
    return new ModhostError(
      'PERMISSION_DENIED',
      `${module}: the operating system refused ${s.permission ?? 'an operation'}${s.resource ? ` on ${s.resource}` : ''} (ERR_ACCESS_DENIED from Node's permission model); grant ${GRANT_FOR[s.permission ?? ''] ?? 'the matching fs: permission'} to allow it`,
      { details: { module, nodeCode: 'ERR_ACCESS_DENIED', nodePermission: s.permission, resource: s.resource } },
    );
  }
  // Only a code from the catalogue comes back as a ModhostError: a guest cannot invent codes.
  if (s.code && s.name === 'ModhostError' && Object.hasOwn(ErrorCode, s.code)) {
    const code = s.code as ErrorCode;
    return new ModhostError(code, s.message, s.details ? { details: s.details as ErrorDetails[typeof code] } : {});
  }
  const e = new Error(s.message) as Error & { code?: string };
  e.name = s.name;
  if (s.code) e.code = s.code;
  if (s.stack) e.stack = s.stack;
  return e;
}
