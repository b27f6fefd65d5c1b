export { describeStorageAdapter } from './describe-storage-adapter.js';
export { type DriveOptions, drive } from './drive.js';
export { createFakeClock, type FakeClock, type FakeClockOptions } from './fake-clock.js';
export { type FixtureModuleOptions, fixtureGraph, fixtureModule } from './fixtures.js';
export { silentLogger } from './silent-logger.js';
export {
  runStorageCase,
  runStorageConformance,
  type StorageCase,
  type StorageCaseContext,
  type StorageCaseResult,
  StorageCaseSkipped,
  StorageConformanceError,
  type StorageSuiteOptions,
  storageAdapterCases,
} from './storage-cases.js';
