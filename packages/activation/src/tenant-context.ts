import { type AnyModuleDefinition, ModhostError, type ModuleContext, type Registry, type StorageAdapter } from '@modhost/core';
import { type ContextFactory, type ContextParts, createModuleContext, createModuleStorage } from './module-context.js';

/** What a version's tenant contexts are made from. @internal */
interface TenantContextOptions {
  /** The version's own context parts (host-wide). */
  readonly parts: ContextParts;
  readonly def: AnyModuleDefinition;
  readonly registry: Registry;
  readonly storage: StorageAdapter;
  readonly namespace: string;
  readonly contextFactory: ContextFactory | undefined;
}

interface TenantEntry {
  readonly ctx: ModuleContext;
  readonly revoke?: (() => void) | undefined;
  readonly checkServe?: (() => void) | undefined;
  readonly cell: { value: Readonly<Record<string, unknown>> };
}

/**
 * A module version's contexts bound to a tenant: one per tenant, made on its first request through the same
 * context factory as the version's own (so the sandbox checks that tenant's grants), with that tenant's effective
 * config and, for `storageScope: 'tenant'`, that tenant's storage. All of them are revoked with the version. @internal
 */
export function createTenantContexts(options: TenantContextOptions) {
  const { parts, def, registry } = options;
  const entries = new Map<string, Promise<TenantEntry>>();
  let revoked = false;

  const readConfig = async (tenant: string) => {
    const resolved = await registry.getConfig(parts.module, { tenant, reveal: true });
    if (resolved.issues.length > 0)
      throw new ModhostError(
        'CONFIG_INVALID',
        `${parts.module}: its config for tenant "${tenant}" does not pass its schema: ${resolved.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
        { details: { module: parts.module, tenant, issues: resolved.issues } },
      );
    return Object.freeze({ ...resolved.values });
  };

  const make = async (tenant: string): Promise<TenantEntry> => {
    const cell = { value: await readConfig(tenant) };
    const tenantParts: ContextParts = {
      ...parts,
      tenant,
      config: cell.value,
      liveConfig: () => cell.value,
      storage: def.storageScope === 'tenant' ? createModuleStorage(options.storage, options.namespace, parts.module, tenant) : parts.storage,
    };
    const built = options.contextFactory ? await options.contextFactory(tenantParts, def) : { ctx: createModuleContext(tenantParts) };
    // Revoked while it was being made: it never serves.
    if (revoked) built.revoke?.();
    return { ctx: built.ctx, revoke: built.revoke, checkServe: built.checkServe, cell };
  };

  return {
    async get(tenant: string): Promise<ModuleContext> {
      if (revoked)
        throw new ModhostError('PERMISSION_DENIED', `${parts.module}@${parts.version} has stopped: its contexts are revoked`, {
          details: { module: parts.module, reason: 'revoked-on-stop' },
        });
      let entry = entries.get(tenant);
      if (!entry) {
        entry = make(tenant);
        entries.set(tenant, entry);
        // A failed make (a storage error, config its schema refuses) is tried again on the next request.
        entry.catch(() => entries.delete(tenant));
      }
      const e = await entry;
      e.checkServe?.();
      return e.ctx;
    },
    async refresh(): Promise<void> {
      await Promise.all(
        [...entries].map(async ([tenant, p]) => {
          const entry = await p.catch(() => undefined);
          if (!entry) return;
          // Values the schema refuses keep the old ones, as for the host-wide config.
          entry.cell.value = await readConfig(tenant).catch(() => entry.cell.value);
        }),
      );
    },
    revoke(): void {
      revoked = true;
      for (const p of entries.values()) void p.then((e) => e.revoke?.()).catch(() => {});
      entries.clear();
    },
  };
}
