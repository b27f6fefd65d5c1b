export { memoryStorage, recoveryHint } from '@modhost/core';
export { createHost, type FolderProblem, type Host, type HostEventSource, type HostEvents, type HostOptions, type HostPlan, type StopReport } from './host.js';
export { createRequestListener, type RequestListenerOptions } from './http.js';
export type { IsolationTier, MinimumIsolation } from './isolation-policy.js';
export { contractIssues, type FolderModule, type IsolatedLimits, type LoadFolderOptions, loadModuleFolder, readManifest } from './load-folder.js';
export type { ModuleStatus } from './module-status.js';
export { createFolderWatcher, type FolderWatcher, type FolderWatcherOptions } from './watch.js';
