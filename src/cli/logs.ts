// `routines logs <id> [--follow]`.
//
// Without --follow: the stored entries, paged through RoutineRun.logs. With --follow: the run's
// event stream from its first event, printing the entry each LOG event carries. Entries get their
// LOG events in the order written, and watchRun delivers each event once across reconnects, so
// replaying from sequence 0 gives every entry once, in order, then the live ones; the entries
// after the last one announced (if any) are paged in once the run has ended.
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
  // Entries without a LOG event (a service older than live logs, or one that announced the last
  // entries after the run ended) follow the streamed ones: print whatever the stream did not.
  for await (const entry of storedLogs(client, runId, streamed)) printEntry(entry, mode);
  const run = await fetchRun(client, runId);
  return exitCodeFor(run.status);
}

/** The run's stored entries in the order written, after the first `skip` of them. */
async function* storedLogs(client: GraphQLClient, runId: string, skip = 0): AsyncGenerator<LogEntry> {
  let after: string | null = null;
  let seen = 0;
  for (;;) {
    const { run }: RunLogsData = await client.request<RunLogsData>(RUN_LOGS, { id: runId, after });
    if (!run) throw new UsageError(`Run not found: ${runId}`);
    if (run.logs.totalCount <= skip) return;
    for (const edge of run.logs.edges) if (++seen > skip) yield edge.node;
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
