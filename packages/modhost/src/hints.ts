/** What to do about a module's last error, by code: shown by `host.status()` and `modhost doctor`. */
const HINTS: Record<string, string> = {
  MANIFEST_INVALID: 'fix the listed problems in modhost.json or the entry, then save the folder again',
  MODULE_NOT_FOUND: 'install the missing module, or remove the dependency on it',
  DEPENDENCY_UNSATISFIED: 'install a version of the dependency that satisfies the range, or relax the range',
  DEPENDENCY_CYCLE: 'break the cycle: move the shared part into a module both can depend on',
  HOST_INCOMPATIBLE: "use a module version whose engines.host includes this host's version",
  ACTIVATION_TIMEOUT: 'make the slow hook faster or raise the matching timeout, then upgrade to a fixed version',
  HEALTH_CHECK_FAILED: 'fix what health() depends on and install a fixed version',
  MIGRATION_FAILED: 'fix the migration and publish a new version; the batch was undone',
  CONFIG_INVALID: "fix the config with host.configure(name, values) so it passes the module's schema",
  PERMISSION_DENIED: "grant the permission in the host's policy (or sandbox.grant) if the module should have it",
  INTEGRITY_MISMATCH: 'reinstall the module from a trusted source; a changed module must be a new version',
  SIGNATURE_INVALID: 'sign the module with a key the host trusts (trustedKeys)',
  QUOTA_EXCEEDED: 'find the slow call in the audit log or raise the limit',
  MODULE_CRASHED: "read the module's crash records in the audit log, fix it, and install a fixed version",
  VERSION_REJECTED: 'publish a fixed version, or clear the rejection with registry.clearRejection(name, version) once the cause is fixed',
  VERSION_UNAVAILABLE: "copy that version's files back into its folder (the host loads them afresh), or install it from a folder of its own",
  LINK_OUTSIDE_MODULE: 'ship the files instead of links that lead outside the module folder',
  ROLLBACK_FAILED: 'repair by hand what the failed undo left behind (see the error), then activate again',
  STORAGE_ADAPTER_FAILED: 'check the storage backend (connection, permissions, disk) and retry',
};

/** A recovery hint for an error code. */
export function recoveryHint(code: string | undefined): string | undefined {
  return code === undefined ? undefined : (HINTS[code] ?? 'read the error message and docs/errors.md');
}
