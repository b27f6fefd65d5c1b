import { readFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliIo } from './cli-io.js';
import { doctor, graphOf, isError, loadStorage, type Problem, readFolders, toDot, validateFolder } from './commands.js';
import { DEV_HELP, devCommand } from './dev.js';
import { writeTypes } from './module-files.js';
import { scaffold } from './scaffold.js';
import { applyFile, hostTenants, rollbackSnapshot } from './tenants.js';

/** Exit codes: 0 fine, 1 problems found, 2 the command line itself is wrong. */
export const EXIT = { OK: 0, PROBLEMS: 1, USAGE: 2 } as const;

const HELP: Record<string, string> = {
  main: `modhost: build, check and inspect modhost modules

Usage: modhost <command> [options]

Commands:
  create <name>      scaffold a module folder (JavaScript with JSDoc types, or --ts) that validates and passes its tests
  validate <dir>     check a module folder: manifest, entry, contract, permissions, package.json's version
  types [dir]        regenerate modhost-env.d.ts (the module's ctx, routes and hooks) from modhost.json
  graph <dir>        print the activation plan (waves) of a modules folder, or why there is none
  doctor [dir]       diagnose a modules folder and (with --storage) a host's storage
  tenants <action>   set many tenants' modules from a file (with a snapshot), export them, roll back
  dev <dir>          serve a modules folder in development mode: a saved file reloads its module in place

Run "modhost <command> --help" for a command's options.
Exit codes: 0 fine, 1 problems found, 2 usage error.`,
  create: `Usage: modhost create <name> [--dir <parent>] [--ts] [--isolation worker|process|in-process]

Writes <parent>/<name>/ with modhost.json, the code (a route, a health check),
index.test.mjs (node --test), modhost-env.d.ts (the types of its ctx, from
modhost.json), tsconfig.json and package.json (npm test, typecheck, types, validate).
JavaScript: index.mjs, // @ts-check with JSDoc types. --ts: src/index.mts, which
"npm run build" (tsc) compiles to dist/index.mjs, the manifest's "main".

modhost.json's "$schema" is the path to node_modules/@modhost/manifest/schema.json
found from the new folder (an app's, for <app>/modules/<name>), else the module's own.
package.json asks for this CLI's version (^x.y.z), not "*".

Options:
  --dir <parent>      where to create the folder (default: the current directory)
  --ts                a TypeScript module, built by tsc
  --isolation <tier>  the isolation tier written to modhost.json (default worker)

Exit codes: 0 created, 2 bad name or the folder exists.`,
  types: `Usage: modhost types [dir] [--check]

Writes <dir>/modhost-env.d.ts (default dir: .) from <dir>/modhost.json: ctx.config
from config.schema, ctx.deps from the dependencies, ctx.storage, ctx.net and ctx.fs
from the permissions, the declared routes and jobs, and the hooks, as a Module
type for the entry. Run it after changing modhost.json. When the manifest's
"$schema" leads nowhere from the folder (it moved into an app), it is pointed at
the @modhost/manifest/schema.json found from there.

Options:
  --check   write nothing; exit 1 when modhost-env.d.ts is missing or stale (for CI)

Exit codes: 0 written (or up to date), 1 stale (--check) or the manifest is invalid, 2 usage error.`,
  validate: `Usage: modhost validate <dir> [--json]

Checks a module folder and lists every problem: modhost.json against its schema,
the entry file, the entry's routes and jobs against the manifest (the contract),
the permissions' grammar and scopes, and package.json's "version" against the
manifest's. Advice (does not fail): a "$schema" that leads nowhere, a stale
modhost-env.d.ts, no health() hook. The code is loaded in a child process under
Node's permission model with no grants: it may read only its own folder.

Options:
  --json   print { ok, module, problems } for machines

Exit codes: 0 valid, 1 problems found, 2 usage error.`,
  graph: `Usage: modhost graph <dir> [--format text|dot|json] [--host <version>]

Resolves every module folder under <dir> from the manifests alone (no code runs)
and prints the activation waves, or the explanation of why there is no plan.

Options:
  --format text|dot|json   text (default), Graphviz dot, or JSON
  --host <version>         check engines.host against this host version

Exit codes: 0 a plan exists, 1 no plan (or broken manifests), 2 usage error.`,
  doctor: `Usage: modhost doctor [dir] [--storage <file>] [--namespace <ns>] [--host <version>] [--json]

Diagnoses a modules folder (default: ./modules) from the manifests alone (no
code runs): broken manifests and unmet dependencies. With --storage, also the
host's storage: modules failed, blocked or rolled back (on any instance) with
their recovery steps, instances whose lease expired, modules in storage with no
folder, folders not in storage, folders holding a version storage never saw, and
files changed since they were installed.

Options:
  --storage <file>   a module whose default export is the host's storage adapter
                     (or a function returning it); .mjs/.js, or .ts/.mts with tsx
                     installed (or the CLI run under node --import tsx)
  --namespace <ns>   the host's key namespace (default modhost)
  --host <version>   check engines.host against this host version
  --json             print { ok, problems } for machines

Exit codes: 0 healthy, 1 problems found, 2 usage error.`,
  dev: DEV_HELP,
  tenants: `Usage: modhost tenants apply <file.json> --storage <file> [--dry-run] [--on-failure rollback|stop] [--json]
       modhost tenants export [tenant...] --storage <file>
       modhost tenants rollback <snapshot-id> --storage <file> [--json]

apply sets the enabled modules (and ranges) of every tenant in the file, as
host.tenants.apply does: { "tenants": { "<tenant>": { "modules": [...] } } }.
It checks everything first and writes nothing when something is wrong; then it
stores a snapshot, applies tenant by tenant, and rolls every tenant back if a
step fails. It prints a line per change, the problems, and the snapshot id.
export prints the tenants' current state as such a file; rollback goes back to
a snapshot. Config values are checked against the modules' schemas, which the
CLI does not load: apply config changes from the app (host.tenants.apply).

Options:
  --storage <file>       a module whose default export is the host's storage adapter
                         (or a function returning it); needs the modhost package
  --dry-run              list every change and problem, write nothing
  --on-failure <what>    rollback (default): undo every tenant; stop: keep what was applied
  --json                 print the report for machines

Exit codes: 0 applied (or nothing to change), 1 problems found, 2 usage error.`,
};

const printProblems = (io: CliIo, problems: readonly Problem[]) => {
  for (const p of problems) {
    io.stdout(`  ${p.level === 'advice' ? '•' : '✗'} ${p.where}: ${p.message}`);
    if (p.hint) io.stdout(`      → ${p.hint}`);
  }
};

/** Runs the CLI with `argv` (without node and the script). Returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(HELP.main as string);
    return command ? EXIT.OK : EXIT.USAGE;
  }
  if (!HELP[command] || command === 'main') {
    io.stderr(`modhost: unknown command "${command}"\n\n${HELP.main}`);
    return EXIT.USAGE;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...rest],
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        json: { type: 'boolean' },
        ts: { type: 'boolean' },
        check: { type: 'boolean' },
        dir: { type: 'string' },
        isolation: { type: 'string' },
        format: { type: 'string' },
        host: { type: 'string' },
        storage: { type: 'string' },
        namespace: { type: 'string' },
        'dry-run': { type: 'boolean' },
        'on-failure': { type: 'string' },
        port: { type: 'string' },
        forget: { type: 'boolean' },
      },
    });
  } catch (e) {
    io.stderr(`modhost ${command}: ${(e as Error).message}\n\n${HELP[command]}`);
    return EXIT.USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(HELP[command] as string);
    return EXIT.OK;
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const usage = (message: string) => {
    io.stderr(`modhost ${command}: ${message}\n\n${HELP[command]}`);
    return EXIT.USAGE;
  };

  switch (command) {
    case 'create': {
      const name = positionals[0];
      if (!name) return usage('name the module: modhost create <name>');
      const isolation = str(values.isolation) ?? 'worker';
      if (!['worker', 'process', 'in-process'].includes(isolation)) return usage(`--isolation must be worker, process or in-process, not "${isolation}"`);
      try {
        const typescript = values.ts === true;
        const dir = await scaffold(resolvePath(io.cwd, str(values.dir) ?? '.'), name, { isolation: isolation as 'worker', typescript });
        // Standalone, its own npm install brings modhost and TypeScript; inside an app, the app's node_modules has them.
        const standalone = (JSON.parse(await readFile(join(dir, 'modhost.json'), 'utf8')) as { $schema: string }).$schema.startsWith('./');
        io.stdout(
          [
            `created ${dir}${typescript ? ' (TypeScript)' : ''}`,
            '',
            'next:',
            `  cd ${dir}`,
            ...(standalone ? ['  npm install              # modhost and TypeScript, for the scripts below'] : []),
            `  npm test                 # ${typescript ? 'builds it (tsc), then runs ' : ''}its own tests`,
            '  npm run typecheck        # the code against modhost-env.d.ts (npm run types after changing modhost.json)',
            '  npm run validate         # the checks a host makes',
            standalone
              ? "  then copy the folder (without node_modules) into your host's modules folder, and run npx modhost types there"
              : '  the host installs it on its next scan of this modules folder',
          ].join('\n'),
        );
        return EXIT.OK;
      } catch (e) {
        return usage((e as Error).message);
      }
    }
    case 'validate': {
      const dir = positionals[0];
      if (!dir) return usage('name the module folder: modhost validate <dir>');
      const { manifest, problems } = await validateFolder(resolvePath(io.cwd, dir));
      const ok = !problems.some(isError);
      if (values.json) {
        io.stdout(JSON.stringify({ ok, module: manifest ? `${manifest.name}@${manifest.version}` : null, problems }, null, 2));
      } else if (ok) {
        io.stdout(`✓ ${manifest?.name}@${manifest?.version} is valid`);
        printProblems(io, problems);
      } else {
        io.stdout(`✗ ${dir}: ${problems.filter(isError).length} problem(s)`);
        printProblems(io, problems);
      }
      return ok ? EXIT.OK : EXIT.PROBLEMS;
    }
    case 'types': {
      const dir = resolvePath(io.cwd, positionals[0] ?? '.');
      let outcome: Awaited<ReturnType<typeof writeTypes>>;
      try {
        outcome = await writeTypes(dir, { check: values.check === true });
      } catch (e) {
        io.stdout(`✗ ${(e as Error).message}`);
        return EXIT.PROBLEMS;
      }
      if (values.check) {
        const due = [
          outcome.stale ? `${outcome.file} is missing or older than modhost.json` : '',
          outcome.schema ? `"$schema" leads nowhere; it should be ${outcome.schema.to}` : '',
        ].filter(Boolean);
        io.stdout(due.length === 0 ? `✓ ${outcome.file} is up to date` : `✗ ${due.join('; ')}: run modhost types`);
        return due.length === 0 ? EXIT.OK : EXIT.PROBLEMS;
      }
      io.stdout(outcome.stale ? `✓ wrote ${outcome.file}` : `✓ ${outcome.file} is up to date`);
      if (outcome.schema) io.stdout(`✓ pointed "$schema" at ${outcome.schema.to} (it was ${outcome.schema.from})`);
      return EXIT.OK;
    }
    case 'graph': {
      const dir = positionals[0];
      if (!dir) return usage('name the modules folder: modhost graph <dir>');
      const format = str(values.format) ?? 'text';
      if (!['text', 'dot', 'json'].includes(format)) return usage(`--format must be text, dot or json, not "${format}"`);
      const { manifests, problems } = await readFolders(resolvePath(io.cwd, dir)).catch((e: Error) => ({
        manifests: [],
        problems: [{ where: dir, message: e.message }],
      }));
      if (problems.length > 0) {
        io.stderr('these folders were left out:');
        printProblems({ ...io, stdout: io.stderr }, problems);
      }
      const host = str(values.host);
      const result = graphOf(manifests, host);
      if (!result.ok) {
        if (format === 'json')
          io.stdout(JSON.stringify({ ok: false, code: result.error.code, explanation: result.explanation.text, hints: result.hints }, null, 2));
        else io.stdout(`no plan: ${result.explanation.text}${result.hints.length ? `\n\nhints:\n${result.hints.map((h) => `  - ${h}`).join('\n')}` : ''}`);
        return EXIT.PROBLEMS;
      }
      const waves = result.plan.waves;
      if (format === 'dot') io.stdout(toDot(manifests, waves));
      else if (format === 'json')
        io.stdout(JSON.stringify({ ok: true, waves, versions: Object.fromEntries(result.plan.order.map((n) => [n, result.plan.versionOf(n)])) }, null, 2));
      else for (const [i, wave] of waves.entries()) io.stdout(`wave ${i + 1}: ${wave.map((n) => `${n}@${result.plan.versionOf(n)}`).join(', ')}`);
      return problems.length > 0 ? EXIT.PROBLEMS : EXIT.OK;
    }
    case 'doctor': {
      const dir = resolvePath(io.cwd, positionals[0] ?? 'modules');
      let storage: Awaited<ReturnType<typeof loadStorage>> | undefined;
      const storageFile = str(values.storage);
      if (storageFile) {
        try {
          storage = await loadStorage(storageFile, io.cwd);
        } catch (e) {
          return usage((e as Error).message);
        }
      }
      let problems: Problem[];
      try {
        problems = await doctor(dir, {
          ...(storage ? { storage } : {}),
          ...(str(values.namespace) ? { namespace: str(values.namespace) as string } : {}),
          ...(str(values.host) ? { host: str(values.host) as string } : {}),
        });
      } catch (e) {
        return usage(`cannot read ${dir}: ${(e as Error).message}`);
      } finally {
        await storage?.dispose?.();
      }
      if (values.json) io.stdout(JSON.stringify({ ok: problems.length === 0, problems }, null, 2));
      else if (problems.length === 0) io.stdout(`✓ ${dir}${storage ? ' and its storage' : ''}: nothing to fix`);
      else {
        io.stdout(`✗ ${problems.length} problem(s) in ${dir}${storage ? ' and its storage' : ''}:`);
        printProblems(io, problems);
      }
      return problems.length === 0 ? EXIT.OK : EXIT.PROBLEMS;
    }
    case 'dev': {
      const outcome = await devCommand(io, values, positionals);
      return typeof outcome === 'number' ? outcome : usage(outcome.usage);
    }
    case 'tenants': {
      const [action, ...targets] = positionals;
      if (action !== 'apply' && action !== 'export' && action !== 'rollback') return usage('name the action: apply, export or rollback');
      if ((action === 'apply' || action === 'rollback') && targets.length !== 1)
        return usage(action === 'apply' ? 'name the file: modhost tenants apply <file.json>' : 'name the snapshot: modhost tenants rollback <snapshot-id>');
      const onFailure = str(values['on-failure']) ?? 'rollback';
      if (onFailure !== 'rollback' && onFailure !== 'stop') return usage(`--on-failure must be rollback or stop, not "${onFailure}"`);
      const storageFile = str(values.storage);
      if (!storageFile) return usage("--storage <file> is required: the host's storage adapter module");
      let storage: Awaited<ReturnType<typeof loadStorage>>;
      try {
        storage = await loadStorage(storageFile, io.cwd);
      } catch (e) {
        return usage((e as Error).message);
      }
      try {
        const tenants = await hostTenants(storage);
        const args = { storageFile, dryRun: values['dry-run'] === true, onFailure, json: values.json === true } as const;
        if (action === 'export') {
          io.stdout(JSON.stringify(await tenants.export(targets.length > 0 ? targets : undefined), null, 2));
          return EXIT.OK;
        }
        const outcome =
          action === 'apply' ? await applyFile(io, tenants, targets[0] as string, args) : await rollbackSnapshot(io, tenants, targets[0] as string, args);
        return typeof outcome === 'number' ? outcome : usage(outcome.usage);
      } catch (e) {
        io.stderr(`modhost tenants ${action}: ${(e as Error).message}`);
        return EXIT.PROBLEMS;
      } finally {
        await storage.dispose?.();
      }
    }
  }
  return EXIT.USAGE;
}
