// Where a command writes and from where it runs: its own file, so commands in files of their own need not import cli.ts.
/** Where the CLI writes and what it resolves paths against (tests pass their own). */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
}
