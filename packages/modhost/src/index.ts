export { memoryStorage, recoveryHint } from '@modhost/core';
export { createRequestListener } from '@modhost/http/node';
// readManifest and contractIssues live in @modhost/manifest; re-exported here as before.
export { contractIssues, readManifest } from '@modhost/manifest';
export { DEV_DEBOUNCE_MS, type ForgetDevOptions, type ForgetDevReport, forgetDevVersions } from './dev-mode.js';
export { type FileStorageOptions, fileStorage } from './file-storage.js';
export {
  createHost,
  type FleetInstance,
  type FolderProblem,
  type Host,
  type HostEventSource,
  type HostEvents,
  type HostHealth,
  type HostOptions,
  type HostPlan,
  type HostUpgradeOptions,
  type StopReport,
} from './host.js';
export type { ConfigValuesFor, HostModules, ModuleName, ModulesOf, TypedHost } from './host-modules.js';
export type { IsolationTier, MinimumIsolation } from './isolation-policy.js';
export { type FolderModule, type IsolatedLimits, type LoadFolderOptions, loadModuleFolder } from './load-folder.js';
export type { ModuleStatus } from './module-status.js';
export type {
  HostTenants,
  TenantApplyOptions,
  TenantApplyReport,
  TenantChange,
  TenantChanges,
  TenantConfigStep,
  TenantEnablementState,
  TenantEnablementStep,
  TenantModuleChange,
  TenantProblem,
  TenantSnapshotInfo,
  TenantStep,
} from './tenant-types.js';
export { createFolderWatcher, type FolderWatcher, type FolderWatcherOptions } from './watch.js';
