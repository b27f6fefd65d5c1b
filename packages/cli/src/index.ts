export { type CliIo, EXIT, run } from './cli.js';
export { doctor, graphOf, type Problem, readFolders, toDot, validateFolder } from './commands.js';
export { scaffold, scaffoldFiles } from './scaffold.js';
