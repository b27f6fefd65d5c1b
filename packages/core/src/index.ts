export { type Clock, systemClock, type TimerHandle } from './clock.js';
export { type ConfigValues, maskConfig, mergeConfig, REDACTED } from './config.js';
export { assertValidDefinition, defineModule, type ModuleManifest } from './define-module.js';
export {
  ErrorCode,
  type ErrorDetails,
  type Issue,
  isModhostError,
  ModhostError,
  type ModhostErrorOptions,
  RECOVERY_HINTS,
  recoveryHint,
  summarizeCause,
} from './errors.js';
export { createEmitter, type Emitter, type EmitterOptions, type Listener } from './events.js';
export {
  assertTransition,
  canTransition,
  isLifecycleState,
  LIFECYCLE_STATES,
  LIFECYCLE_TRANSITIONS,
  type LifecyclePhase,
  type LifecycleState,
} from './lifecycle.js';
export { childLogger, createJsonLogger, fromPino, type JsonLoggerOptions, type LogLevel, type PinoLike } from './logger.js';
export type {
  AnyModuleDefinition,
  ConfigDefinition,
  ConfigPath,
  DeepPartial,
  HealthResult,
  HttpMethod,
  JobDefinition,
  Logger,
  MigrationDefinition,
  ModuleApi,
  ModuleConfig,
  ModuleConfigLayer,
  ModuleContext,
  ModuleDefinition,
  ModuleMetadata,
  ModuleStorage,
  NoConfig,
  RouteDefinition,
  RouteRequest,
  RouteResponse,
  StateMode,
  StopSignal,
  TenantService,
  UiContributions,
  UiNavigationEntry,
  UiPage,
} from './module.js';
export { createRegistry, type Registry } from './registry.js';
export type {
  ConfigScope,
  ConfigureOptions,
  ConfigVersion,
  ImportResult,
  InstanceLease,
  ListFilter,
  ModuleErrorRecord,
  ModuleRecord,
  ModuleVersionRecord,
  ObservedState,
  PageOptions,
  ReadConfigOptions,
  RegistryEvents,
  RegistryOptions,
  RegistrySnapshot,
  RejectedVersion,
  ResolvedConfig,
  SnapshotEntry,
  TenantEnablement,
  TransitionOptions,
  TransitionRecord,
  UnregisterOptions,
} from './registry-types.js';
export { compareSemver, isValidSemver } from './semver.js';
export type {
  InferSchemaInput,
  InferSchemaOutput,
  StandardSchemaIssue,
  StandardSchemaProps,
  StandardSchemaResult,
  StandardSchemaV1,
} from './standard-schema.js';
export { type MaybePromise, type MemoryStorageOptions, memoryStorage, type StorageAdapter, type StorageChange } from './storage.js';
export {
  combineTelemetry,
  isTraceparent,
  noopTelemetry,
  type SpanParent,
  type Telemetry,
  type TelemetryAttributes,
  type TelemetrySpan,
} from './telemetry.js';
export {
  isValidModuleName,
  isValidPermission,
  MODULE_NAME_PATTERN,
  PERMISSION_PATTERN,
  type ValidationResult,
  validateDefinition,
} from './validate-definition.js';
