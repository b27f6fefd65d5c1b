export { createManagementApi } from './management-api.js';
export type { AuditQuery } from './management-audit.js';
export { statusOfCode } from './management-errors.js';
export type { RegistryStatus } from './management-status.js';
export type {
  ChangeReport,
  ManagementApiOptions,
  ManagementAuditRecord,
  ManagementAuthorizeRequest,
  ManagementHost,
  ManagementRole,
  ModuleStatusLike,
  RoleGrant,
} from './management-types.js';
