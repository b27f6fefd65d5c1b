// Plumbing shared by modhost's own packages: `@modhost/core/internal` carries no semver promise. Applications use
// the main entry; nothing here is documented API.
export { CODE_FINGERPRINT, codeFingerprintOf, fingerprintDefinition, toManifest } from './define-module.js';
export { RUNNING_STATES } from './lifecycle.js';
export { assertTenant } from './registry-internals.js';
export { FORBIDDEN_KEYS, findForbiddenKeys, findNonJsonData, isPlainObject } from './safe-data.js';
export { parseSemver, SEMVER_PATTERN, type SemVer } from './semver.js';
export { createStore, KEEP, type Store, type StoreOptions } from './store.js';
export { HOMEPAGE_PATTERN, METADATA_LIMITS, REPOSITORY_PATTERN, TAG_PATTERN } from './validate-metadata.js';
