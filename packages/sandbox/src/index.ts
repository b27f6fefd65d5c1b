export {
  type AuditEvents,
  type AuditFilter,
  type AuditInput,
  type AuditKind,
  type AuditLog,
  type AuditLogOptions,
  type AuditRecord,
  type AuditRetention,
  type AuditSink,
  createAuditLog,
  readAudit,
  type StorageAuditOptions,
  storageAuditSink,
  type UsageCounter,
} from './audit.js';
export type {
  BuiltContext,
  Caller,
  CapabilityContextInput,
  CapabilityContextOptions,
  FsCapability,
  NetCapability,
  SandboxedContext,
  ServiceFactory,
  ServiceMethod,
} from './capability-context.js';
export type {
  GrantCell,
  GrantScope,
  Grants,
  GrantsOptions,
  GrantTable,
  PermissionPolicy,
} from './grants.js';
export type { CrashKind, GuestExit, WorkerLimits } from './guest-channel.js';
export {
  computeIntegrity,
  type FileIntegrity,
  type IntegrityDiff,
  type IntegrityOptions,
  type IntegrityRecord,
  type ModuleSignature,
  type SignedSubject,
  signModule,
  type TrustedKeys,
  verifySignature,
} from './integrity.js';
export { type GuestDescription, type IsolatedModule, type IsolatedModuleOptions, type Isolation, loadIsolatedModule } from './isolated-module.js';
export { type Permission, parsePermission, permits } from './permission.js';
export { type AdmitInput, createSandbox, type Sandbox, type SandboxOptions } from './sandbox.js';
export type { CallLimits, RestartPolicy, SupervisorEvent, SupervisorEvents, SupervisorState, SupervisorStatus } from './supervisor.js';
