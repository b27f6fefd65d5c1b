export type { PGliteLike, PgClientLike, PgPoolClientLike, PgPoolLike, PgQuery, PostgresStorageOptions } from './options.js';
export { postgresStorage } from './postgres-storage.js';
