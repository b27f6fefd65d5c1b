// Plumbing shared by modhost's own packages (the CLI's doctor reads integrity records): `@modhost/sandbox/internal`
// carries no semver promise.
export { integrityKey } from './integrity.js';
