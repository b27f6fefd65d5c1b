export { EXIT, run } from './cli.js';
export type { CliIo } from './cli-io.js';
export { doctor, graphOf, type Problem, readFolders, toDot, validateFolder } from './commands.js';
export { ENV_TYPES_FILE, envTypes } from './env-types.js';
export { type TypesOutcome, writeTypes } from './module-files.js';
export { type ScaffoldOptions, scaffold, scaffoldFiles } from './scaffold.js';
