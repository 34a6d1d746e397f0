// `routines run`, `routines runs list|watch`, `routines cancel`.
import { readFile } from 'node:fs/promises';
import { watchRun } from '../client/watch-run.ts';
import { UsageError, type GraphQLClient } from './client.ts';
import {
  CANCEL_RUN,
  CREATE_RUN,
  describeMutationError,
  INSTANCE_BY_ID,
  INSTANCE_BY_NAME,
  RUN_RESULT,
  RUNS_LIST,
  type CancelRunData,
  type CreateRunData,
  type InstanceByIdData,
  type InstanceByNameData,
  type MethodParameterShape,
  type RunResult,
  type RunResultData,
  type RunsListData,
} from './documents.ts';
import { exitCodeFor, formatBytes, formatDuration, printJson, ProgressView, table, type OutputMode } from './output.ts';

/** Reconnects in a row without an event before a watch gives up (≈ 40 s of back-off). */
const WATCH_MAX_RETRIES = 8;

export async function fetchRun(client: GraphQLClient, id: string): Promise<RunResult> {
  const { run } = await client.request<RunResultData>(RUN_RESULT, { id });
  if (!run) throw new UsageError(`Run not found: ${id}`);
  return run;
}

/**
 * Follows a run to its end (resuming across dropped sockets), then shows its outputs and
 * artifacts; the exit code says how it ended.
 */
export async function watchToEnd(client: GraphQLClient, runId: string, mode: OutputMode): Promise<number> {
  const before = await fetchRun(client, runId);
  const view = new ProgressView(mode);
  if (!mode.json) view.note(`${before.routine.name}.${before.methodName} ${before.id}`);
  try {
    for await (const event of watchRun({
      url: client.connection.url,
      token: client.connection.token,
      runId,
      maxRetries: WATCH_MAX_RETRIES,
      onReconnect: ({ attempt, afterSequence }) => {
        if (mode.json) return;
        process.stderr.write(`connection lost; reconnecting (attempt ${attempt}, after event ${afterSequence})\n`);
      },
    })) {
      if (mode.json) {
        printJson(event);
        continue;
      }
      if (event.type === 'PROGRESS' && event.progress) view.update(event.progress.percent, event.progress.message);
      else if (event.type === 'STATUS_CHANGED' && event.toStatus) view.note(`status: ${event.toStatus}`);
      else if (event.type === 'ATTEMPT_FAILED') view.note(`attempt failed: ${JSON.stringify(event.detail)}`);
    }
  } catch (error) {
    view.stop();
    throw new UsageError(`Lost the run's event stream: ${error instanceof Error ? error.message : String(error)}`);
  }
  view.stop();
  const run = await fetchRun(client, runId);
  if (mode.json) printJson({ type: 'RESULT', run });
  else printResult(run);
  return exitCodeFor(run.status);
}

function printResult(run: RunResult): void {
  const lines = [`${run.status} in ${formatDuration(run.durationMs)}`];
  // A run that was retried and then cancelled or completed still carries the earlier attempt's
  // error: it is history, not why the run ended.
  if (run.error && run.status === 'FAILED')
    lines.push(`error (${run.error.phase}, attempt ${run.error.attempt}): ${run.error.type}: ${run.error.message}`);
  else if (run.error)
    lines.push(`attempt ${run.error.attempt} had failed before (${run.error.phase}): ${run.error.type}: ${run.error.message}`);
  if (run.outputs !== null && run.outputs !== undefined) lines.push('outputs:', JSON.stringify(run.outputs, null, 2));
  if (run.artifacts.length) {
    lines.push('artifacts:');
    for (const artifact of run.artifacts) {
      lines.push(
        `  ${artifact.name}  ${artifact.contentType}  ${formatBytes(artifact.sizeBytes)}  sha256:${artifact.checksum.slice(0, 12)}`,
      );
    }
  } else if (run.artifactsUnavailableReason) {
    lines.push(`artifacts: none (${run.artifactsUnavailableReason})`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export interface RunCommandOptions {
  instance: string;
  input: string[];
  inputsFile?: string;
  watch?: boolean;
  label: string[];
}

export async function runCommand(
  client: GraphQLClient,
  routineName: string,
  methodName: string,
  options: RunCommandOptions,
  mode: OutputMode,
): Promise<number> {
  const { instanceId, parameters } = await resolveInstance(client, routineName, methodName, options.instance);
  const inputs = await collectInputs(options, parameters);
  const { createRun } = await client.request<CreateRunData>(CREATE_RUN, {
    input: { instanceId, methodName, inputs, ...(options.label.length ? { labels: options.label } : {}) },
  });
  if (!createRun.run) throw new UsageError(describeMutationError(createRun));
  if (mode.json && !options.watch) printJson(createRun.run);
  else if (!mode.json) process.stdout.write(`created ${createRun.run.id} (${createRun.run.status})\n`);
  return options.watch ? watchToEnd(client, createRun.run.id, mode) : 0;
}

async function resolveInstance(
  client: GraphQLClient,
  routineName: string,
  methodName: string,
  nameOrId: string,
): Promise<{ instanceId: string; parameters: MethodParameterShape[] }> {
  const byName = await client.request<InstanceByNameData>(INSTANCE_BY_NAME, { routineName, name: nameOrId });
  if (!byName.routine) throw new UsageError(`Unknown routine: ${routineName}`);
  const method = byName.routine.methods.find((candidate) => candidate.name === methodName);
  if (!method) {
    const known = byName.routine.methods.map((candidate) => candidate.name).join(', ');
    throw new UsageError(`Routine ${routineName} has no method ${methodName} (it has: ${known})`);
  }
  if (byName.instance) return { instanceId: byName.instance.id, parameters: method.parameters };
  let byId: InstanceByIdData | null = null;
  try {
    byId = await client.request<InstanceByIdData>(INSTANCE_BY_ID, { id: nameOrId });
  } catch {
    // A name that is not an id either: the message below says both were tried.
  }
  const node = byId?.node;
  if (!node || node.__typename !== 'RoutineInstance' || !node.id) {
    throw new UsageError(`No ${routineName} instance named or with id ${nameOrId}`);
  }
  if (node.routine?.name !== routineName) {
    throw new UsageError(`Instance ${nameOrId} belongs to routine ${node.routine?.name}, not ${routineName}`);
  }
  return { instanceId: node.id, parameters: method.parameters };
}

/**
 * --inputs-file first, then each --input k=v over it. A value is JSON when it parses as JSON,
 * else a string; a string parameter keeps the text as typed (so `--input name=123` stays "123").
 */
export async function collectInputs(
  options: Pick<RunCommandOptions, 'input' | 'inputsFile'>,
  parameters: MethodParameterShape[],
): Promise<Record<string, unknown>> {
  let inputs: Record<string, unknown> = {};
  if (options.inputsFile) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(options.inputsFile, 'utf8'));
    } catch (error) {
      throw new UsageError(`--inputs-file ${options.inputsFile}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new UsageError(`--inputs-file ${options.inputsFile} must hold a JSON object of parameters`);
    }
    inputs = parsed as Record<string, unknown>;
  }
  const typeByName = new Map(parameters.map((parameter) => [parameter.name, parameter.type]));
  for (const pair of options.input) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new UsageError(`--input takes name=value, got "${pair}"`);
    const name = pair.slice(0, equals);
    const text = pair.slice(equals + 1);
    inputs[name] = typeByName.get(name) === 'string' ? text : parseLoosely(text);
  }
  return inputs;
}

function parseLoosely(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function listRuns(
  client: GraphQLClient,
  options: { status: string[]; label: string[]; first: number; routine?: string; method?: string; instance?: string; search?: string },
  mode: OutputMode,
): Promise<number> {
  const statuses = options.status.flatMap((status) => status.split(',')).map((status) => status.trim().toUpperCase());
  const filter = {
    ...(statuses.length ? { status: statuses } : {}),
    ...(options.label.length ? { labelsAll: options.label } : {}),
    ...(options.routine ? { routineName: options.routine } : {}),
    ...(options.method ? { methodName: options.method } : {}),
    ...(options.instance ? { instanceId: options.instance } : {}),
    ...(options.search ? { search: options.search } : {}),
  };
  const { runs } = await client.request<RunsListData>(RUNS_LIST, { first: options.first, filter });
  const nodes = runs.edges.map((edge) => edge.node);
  if (mode.json) {
    printJson({ totalCount: runs.totalCount, runs: nodes });
    return 0;
  }
  const rows = nodes.map((run) => [
    run.id,
    `${run.routine.name}.${run.methodName}`,
    run.status,
    run.progress ? `${Math.round(run.progress.percent)}%` : '-',
    run.createdAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    formatDuration(run.durationMs),
  ]);
  process.stdout.write(`${table(['ID', 'RUN', 'STATUS', 'PROGRESS', 'CREATED', 'DURATION'], rows)}\n`);
  if (runs.totalCount > nodes.length) process.stdout.write(`(${nodes.length} of ${runs.totalCount}; --first for more)\n`);
  return 0;
}

export async function cancelCommand(client: GraphQLClient, id: string, reason: string | undefined, mode: OutputMode): Promise<number> {
  const { cancelRun } = await client.request<CancelRunData>(CANCEL_RUN, { input: { id, ...(reason ? { reason } : {}) } });
  if (!cancelRun.run) throw new UsageError(describeMutationError(cancelRun));
  if (mode.json) printJson(cancelRun.run);
  else process.stdout.write(`cancel requested: ${cancelRun.run.id} (${cancelRun.run.status})\n`);
  return 0;
}
