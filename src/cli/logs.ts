// `routines logs <id> [--follow]`.
//
// Without --follow: the stored entries, paged through RoutineRun.logs. With --follow: the run's
// event stream from its first event, printing the entry each LOG event carries. Every entry has
// exactly one LOG event, in the order written, and watchRun delivers each event once across
// reconnects, so replaying from sequence 0 gives every entry once, in order, then the live ones.
import { watchRun } from '../client/watch-run.ts';
import { UsageError, type GraphQLClient } from './client.ts';
import { RUN_LOGS, type LogEntry, type RunLogsData } from './documents.ts';
import { exitCodeFor, printJson, type OutputMode } from './output.ts';
import { fetchRun } from './runs.ts';

const FOLLOW_MAX_RETRIES = 8;

export async function logsCommand(client: GraphQLClient, runId: string, options: { follow?: boolean }, mode: OutputMode): Promise<number> {
  if (!options.follow) {
    for await (const entry of storedLogs(client, runId)) printEntry(entry, mode);
    return 0;
  }
  await fetchRun(client, runId);
  let streamed = 0;
  try {
    for await (const event of watchRun({
      url: client.connection.url,
      token: client.connection.token,
      runId,
      maxRetries: FOLLOW_MAX_RETRIES,
      onReconnect: ({ attempt }) => process.stderr.write(`connection lost; reconnecting (attempt ${attempt})\n`),
    })) {
      if (event.type !== 'LOG' || !event.log) continue;
      streamed += 1;
      printEntry(event.log, mode);
    }
  } catch (error) {
    throw new UsageError(`Lost the run's event stream: ${error instanceof Error ? error.message : String(error)}`);
  }
  // A service older than live logs writes entries without LOG events: show them once the run ended.
  if (streamed === 0) for await (const entry of storedLogs(client, runId)) printEntry(entry, mode);
  const run = await fetchRun(client, runId);
  return exitCodeFor(run.status);
}

async function* storedLogs(client: GraphQLClient, runId: string): AsyncGenerator<LogEntry> {
  let after: string | null = null;
  for (;;) {
    const { run }: RunLogsData = await client.request<RunLogsData>(RUN_LOGS, { id: runId, after });
    if (!run) throw new UsageError(`Run not found: ${runId}`);
    for (const edge of run.logs.edges) yield edge.node;
    if (!run.logs.pageInfo.hasNextPage) return;
    after = run.logs.pageInfo.endCursor;
  }
}

function printEntry(entry: LogEntry, mode: OutputMode): void {
  if (mode.json) {
    printJson(entry);
    return;
  }
  // A coalesced burst holds several lines: each gets the entry's prefix so grep sees whole lines.
  const prefix = `${entry.at} ${entry.level.toUpperCase().padEnd(5)} [${entry.attempt}]`;
  process.stdout.write(
    `${entry.message
      .split('\n')
      .map((line) => `${prefix} ${line}`)
      .join('\n')}\n`,
  );
}
