// `routines`: the command line client of the public GraphQL API (see shared API docs, "Console and
// CLI"). Exit codes: 0 COMPLETED (or a command that did its job), 1 FAILED, 2 CANCELLED, 3 bad
// usage, unreachable service, refused token or unknown id.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { downloadArtifact } from './artifacts.ts';
import { DEFAULT_URL, GraphQLClient, resolveConnection, UsageError } from './client.ts';
import { createInstanceCommand, listInstances } from './instances.ts';
import { logsCommand } from './logs.ts';
import { outputMode, USAGE_EXIT_CODE, type OutputMode } from './output.ts';
import { cancelCommand, listRuns, runCommand, watchToEnd } from './runs.ts';

interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 100) throw new InvalidArgumentError('a whole number from 1 to 100');
  return parsed;
}

export function buildProgram(onExit: (code: number) => void): Command {
  const program = new Command('routines')
    .description('Start, watch and inspect routine runs through the Routine Runs GraphQL API.')
    .addOption(new Option('--url <url>', `GraphQL endpoint (default: ROUTINES_URL or ${DEFAULT_URL})`))
    .addOption(new Option('--token <token>', 'API token (default: ROUTINES_TOKEN or the dev token in $DATA_DIR/dev-token)'))
    .option('--json', 'machine-readable output: one JSON document, NDJSON for streams; no progress bar')
    .showHelpAfterError('(routines --help for usage)')
    .exitOverride();

  // Every action: connect with the global options, run, and hand its exit code on.
  const act =
    <TArgs extends unknown[]>(action: (client: GraphQLClient, mode: OutputMode, ...args: TArgs) => Promise<number>) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const globals = command.optsWithGlobals<GlobalOptions>();
      const client = new GraphQLClient(resolveConnection(globals));
      onExit(await action(client, outputMode(globals.json === true), ...(args.slice(0, -1) as TArgs)));
    };

  program
    .command('run')
    .description('Start a run of a routine method on an instance')
    .argument('<routine>', 'routine name, e.g. montecarlo')
    .argument('<method>', 'method name, e.g. estimatePi')
    .requiredOption('--instance <name|id>', 'the instance: its name (within the routine) or its id')
    .option('--input <name=value>', 'a method parameter; the value is JSON when it parses, else text (repeatable)', collect, [])
    .option('--inputs-file <file>', 'a JSON object of parameters (--input values override it)')
    .option('--label <label>', 'a label for the run (repeatable)', collect, [])
    .option('--watch', 'follow the run to its end; exit 0 COMPLETED, 1 FAILED, 2 CANCELLED')
    .action(
      act((client, mode, routine: string, method: string, options: Parameters<typeof runCommand>[3]) =>
        runCommand(client, routine, method, options, mode),
      ),
    );

  const runs = program.command('runs').description('List and watch runs');
  runs
    .command('list')
    .description('The newest runs first')
    .option('--status <status>', 'only runs in this status (repeatable or comma-separated)', collect, [])
    .option('--label <label>', 'only runs carrying this label (repeatable: all of them)', collect, [])
    .option('--routine <name>', 'only runs of this routine')
    .option('--method <name>', 'only runs of this method')
    .option('--instance <id>', 'only runs of this instance (its id: `instances list`)')
    .option('--search <text>', 'only runs whose name or description contains it (any case)')
    .option('--first <n>', 'how many runs (1 to 100)', positiveInt, 20)
    .action(act((client, mode, options: Parameters<typeof listRuns>[1]) => listRuns(client, options, mode)));
  runs
    .command('watch')
    .description('Follow a run to its end; exit 0 COMPLETED, 1 FAILED, 2 CANCELLED')
    .argument('<id>', 'run id')
    .action(act((client, mode, id: string) => watchToEnd(client, id, mode)));

  program
    .command('logs')
    .description("Print a run's log entries")
    .argument('<id>', 'run id')
    .option('-f, --follow', 'stream new entries live until the run ends (exit code as for watch)')
    .action(act((client, mode, id: string, options: { follow?: boolean }) => logsCommand(client, id, options, mode)));

  program
    .command('cancel')
    .description('Ask a run to stop')
    .argument('<id>', 'run id')
    .option('--reason <text>', 'why, kept on the run')
    .action(act((client, mode, id: string, options: { reason?: string }) => cancelCommand(client, id, options.reason, mode)));

  const instances = program.command('instances').description('List and create routine instances');
  instances
    .command('list')
    .description('The newest instances first')
    .option('--routine <name>', 'only instances of this routine')
    .option('--first <n>', 'how many instances (1 to 100)', positiveInt, 50)
    .action(act((client, mode, options: { routine?: string; first: number }) => listInstances(client, options, mode)));
  instances
    .command('create')
    .description('Create an instance of a routine (a stateful one then needs its constructor run)')
    .argument('<routine>', 'routine name, e.g. kmeans')
    .argument('<name>', 'the instance name, unique within the routine')
    .option('--description <text>', 'what the instance is for')
    .action(
      act((client, mode, routine: string, name: string, options: { description?: string }) =>
        createInstanceCommand(client, routine, name, options, mode),
      ),
    );

  const artifacts = program.command('artifacts').description("A run's artifacts");
  artifacts
    .command('download')
    .description("Download an artifact's data file (checked against its SHA-256)")
    .argument('<run-id>', 'run id')
    .argument('<name>', 'artifact name')
    .option('-o, --output <file>', 'where to write it (default: the artifact name)')
    .action(
      act((client, mode, runId: string, name: string, options: { output?: string }) =>
        downloadArtifact(client, runId, name, options, mode),
      ),
    );

  return program;
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((exitCode) => {
    code = exitCode;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through the same override, with code 0.
      return error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`routines: ${message}\n`);
    if (!(error instanceof UsageError) && process.env.ROUTINES_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    return USAGE_EXIT_CODE;
  }
}

process.exit(await main(process.argv));
