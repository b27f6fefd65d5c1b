export { createActivator } from './activator.js';
export type { Cron } from './cron.js';
export type { HealthGateOptions } from './health.js';
export type { JobEvent, JobRunner, JobRunnerOptions } from './jobs.js';
export { type AppliedMigration, type MigrationHistory, type MigrationResult, type MigrationStore, migrate, readHistory } from './migrations.js';
export { type BuiltModuleContext, type ContextFactory, type ContextParts, consoleLogger, createModuleContext, createModuleStorage } from './module-context.js';
export { createRouteTable, type RouteInfo, type RouteMatch, type RouteOwner, type RouteSpec, type RouteTable } from './route-table.js';
export { createRouter, type Dispatch, type Router, type RouteSlot } from './router.js';
export type {
  ActivationReport,
  Activator,
  ActivatorEvents,
  ActivatorOptions,
  BoundHandler,
  HealthAction,
  HealthChange,
  HealthMonitor,
  HealthMonitorOptions,
  HealthMonitorStats,
  HealthPolicy,
  HealthStatus,
  ModuleHealth,
  ModuleHealthEvent,
  ModuleHealthSettings,
  ModuleOutcome,
  PhaseTimeouts,
  ReconfigureReport,
  RestartOptions,
  RestartReport,
  UpgradeOptions,
  UpgradeReport,
} from './types.js';
