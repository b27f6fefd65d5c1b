export {
  type AuditEvents,
  type AuditFilter,
  type AuditInput,
  type AuditKind,
  type AuditLog,
  type AuditLogOptions,
  type AuditRecord,
  type AuditSink,
  createAuditLog,
  readAudit,
  type StorageAuditOptions,
  storageAuditSink,
  type UsageCounter,
} from './audit.js';
export {
  type BuiltContext,
  type Caller,
  type CapabilityContextInput,
  type CapabilityContextOptions,
  createCapabilityContext,
  type FsCapability,
  type NetCapability,
  type SandboxedContext,
  type ServiceFactory,
  type ServiceMethod,
} from './capability-context.js';
export { isWithin, matchScope, resolveInScopes } from './fs-scope.js';
export {
  createGrants,
  type GrantCell,
  type GrantScope,
  type Grants,
  type GrantsOptions,
  type GrantTable,
  type PermissionPolicy,
  permissionDenied,
} from './grants.js';
export type { CrashKind, GuestExit, WorkerLimits } from './guest-channel.js';
export {
  computeIntegrity,
  type FileIntegrity,
  type IntegrityDiff,
  type IntegrityOptions,
  type IntegrityRecord,
  integrityKey,
  type ModuleSignature,
  type SignedSubject,
  signModule,
  type TrustedKeys,
  verifyIntegrity,
  verifySignature,
} from './integrity.js';
export { type GuestDescription, type IsolatedModule, type IsolatedModuleOptions, type Isolation, loadIsolatedModule } from './isolated-module.js';
export { type NodePermissionInput, nodePermissionFlags, permissionFlag } from './node-permissions.js';
export { hostMatches, normalizeHost, type Permission, parsePermission, permits } from './permission.js';
export { type AdmitInput, createSandbox, type Sandbox, type SandboxOptions } from './sandbox.js';
export type { CallLimits, RestartPolicy, SupervisorEvent, SupervisorEvents, SupervisorState, SupervisorStatus } from './supervisor.js';
