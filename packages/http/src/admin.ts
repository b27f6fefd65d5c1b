export { createAdminConsole } from './admin-console.js';
export { CSRF_HEADER } from './admin-security.js';
export type { AdminConsole, AdminConsoleOptions, AdminHost } from './admin-types.js';
