export { memoryStorage } from '@modhost/core';
export { recoveryHint } from './hints.js';
export { createHost, type FolderProblem, type Host, type HostEvents, type HostOptions, type HostPlan, type ModuleStatus } from './host.js';
export { createRequestListener, type RequestListenerOptions } from './http.js';
export { contractIssues, type FolderModule, type LoadFolderOptions, loadModuleFolder, readManifest } from './load-folder.js';
export { createFolderWatcher, type FolderWatcher, type FolderWatcherOptions } from './watch.js';
