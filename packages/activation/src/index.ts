export { createActivator } from './activator.js';
export { type Cron, parseCron } from './cron.js';
export { type HealthGateOptions, healthGate, isHealthy } from './health.js';
export { compileSchedules, createJobRunner, type JobEvent, type JobRunner, type JobRunnerOptions } from './jobs.js';
export {
  type AppliedMigration,
  checksumOf,
  type MigrationHistory,
  type MigrationResult,
  type MigrationStore,
  markServed,
  migrate,
  readHistory,
  undoBatch,
} from './migrations.js';
export { type BuiltModuleContext, type ContextFactory, type ContextParts, consoleLogger, createModuleContext, createModuleStorage } from './module-context.js';
export { createRouteTable, pathSegments, type RouteMatch, type RouteOwner, type RouteSpec, type RouteTable } from './route-table.js';
export { canaryBucket, createRouter, type Dispatch, type Router, type RouteSlot } from './router.js';
export { timeoutError, withTimeout } from './timeouts.js';
export type {
  ActivationReport,
  Activator,
  ActivatorEvents,
  ActivatorOptions,
  BoundHandler,
  ModuleOutcome,
  PhaseTimeouts,
  UpgradeOptions,
  UpgradeReport,
} from './types.js';
