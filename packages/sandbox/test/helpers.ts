import { createModuleStorage } from '@modhost/activation';
import { type Logger, memoryStorage, type StorageAdapter } from '@modhost/core';
import { createFakeClock } from '@modhost/testkit';
import { createAuditLog } from '../src/audit.js';
import type { CapabilityContextInput } from '../src/capability-context.js';
import type { PermissionPolicy } from '../src/grants.js';
import { createSandbox, type SandboxOptions } from '../src/sandbox.js';

/** A logger that keeps lines for assertions. */
export function memoryLogger(lines: string[] = []): Logger {
  const at = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A sandbox on a fake clock, and a way to make context inputs for it. */
export function setup(policy: PermissionPolicy = {}, options: Partial<SandboxOptions> = {}) {
  const clock = createFakeClock({ now: 1_000 });
  const audit = createAuditLog({ clock });
  const adapter: StorageAdapter = memoryStorage();
  const sandbox = createSandbox({ policy, clock, audit, ...options });
  const input = (module: string, extra: Partial<CapabilityContextInput> = {}): CapabilityContextInput => ({
    module,
    version: '1.0.0',
    config: {},
    logger: memoryLogger(),
    storage: createModuleStorage(adapter, 'modhost', module),
    deps: new Map(),
    ...extra,
  });
  return { clock, audit, adapter, sandbox, input };
}
