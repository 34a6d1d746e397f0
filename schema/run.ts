import type { FailurePhase } from '../src/execution/types.ts';
import { DEFAULT_PREVIEW_ROWS } from '../src/storage/artifact-store.ts';
import { runPath } from '../src/storage/layout.ts';
import { draftStatus, type RunDraftStatus } from '../src/services/run-draft.ts';
import { AGEING_SECONDS_PER_POINT, queuePositions } from '../src/runs/admission.ts';
import { batchLoad } from '../src/runs/batch-load.ts';
import { MAX_PAGE_SIZE } from '../src/runs/run-filter.ts';
import { errorPhase, RUN_ERROR_PHASES } from '../src/runs/run-error.ts';
import { eventPageQuery, runEventPage, type EventListQuery } from '../src/runs/run-lists.ts';
import { visibleRunWhere } from '../src/access/visibility.ts';
import { builder } from './builder.ts';
import { ExecutionTypeEnum, InvocationMethodEnum, RunEventTypeEnum, RunStatusEnum } from './enums.ts';
import { methodsOf, MethodParameterRef, RoutineMethodRef } from './routine.ts';
import { RunEventConnection } from './run-event.ts';
import { checkedMaxSize, eventCursor, pageSize } from './run-list-args.ts';
import { priorityDescription } from './run-priority.ts';

export interface RunProgressShape {
  percent: number;
  message: string;
  at: Date;
  sequence: number;
}

export const RunProgressRef = builder.objectRef<RunProgressShape>('RunProgress').implement({
  fields: (t) => ({
    percent: t.exposeFloat('percent', { description: '0 to 100.' }),
    message: t.exposeString('message'),
    at: t.expose('at', { type: 'DateTime' }),
    sequence: t.exposeInt('sequence', { description: 'The sequence of the event that reported it.' }),
  }),
});

const RunResourcesRef = builder
  .objectRef<{ requestedMemoryMb: number; peakMemoryMb: number | null; cpuTimeMs: number | null }>('RunResources')
  .implement({
    fields: (t) => ({
      requestedMemoryMb: t.exposeInt('requestedMemoryMb'),
      peakMemoryMb: t.exposeFloat('peakMemoryMb', { nullable: true, description: "Peak resident memory of the method's process." }),
      cpuTimeMs: t.exposeFloat('cpuTimeMs', { nullable: true, description: "User + system CPU time of the method's process." }),
    }),
  });

const RunErrorPhaseEnum = builder.enumType('RunErrorPhase', {
  description: 'Where a run failed.',
  values: {
    VALIDATION: {
      description: "The run's inputs or method were refused when the attempt began (e.g. the worker has another version of the routine).",
    },
    METHOD: { description: "The method's own code threw, or returned something other than an object of outputs." },
    ARTIFACT_STORAGE: { description: 'Reading or writing an artifact (the routine:// file system, or recording it) failed.' },
    PROCESS: {
      description:
        'The process executing the method died, ran out of memory or exceeded the time limit (or, for an in-memory run, the API process executing it was lost).',
    },
    WORKFLOW: {
      description:
        'The orchestration around the method failed: the workflow was terminated or lost, or the attempt timed out or was interrupted without reporting.',
    },
  } satisfies Record<(typeof RUN_ERROR_PHASES)[number], { description: string }>,
});

interface RunErrorShape {
  type: string;
  message: string;
  attempt: number;
  retryable: boolean;
  at: Date;
  phase: FailurePhase;
  method: string;
  workerId: string | null;
  host: string | null;
  suggestedMemoryMb: number | null;
}

const RunErrorRef = builder.objectRef<RunErrorShape>('RunError').implement({
  description: 'The last error of the run: what failed, in which attempt, and where.',
  fields: (t) => ({
    type: t.exposeString('type'),
    message: t.exposeString('message'),
    attempt: t.exposeInt('attempt', { description: 'The attempt that failed; 0 when the run failed before its first attempt began.' }),
    retryable: t.exposeBoolean('retryable'),
    at: t.expose('at', { type: 'DateTime' }),
    phase: t.field({ type: RunErrorPhaseEnum, resolve: (error) => error.phase }),
    method: t.exposeString('method', { description: 'The method that was executing.' }),
    workerId: t.exposeString('workerId', {
      nullable: true,
      description: 'The worker (host:pid:id) or API process (host:pid:api) executing the attempt; null when none had begun it.',
    }),
    host: t.exposeString('host', { nullable: true, description: 'The host of that worker or API process.' }),
    suggestedMemoryMb: t.exposeInt('suggestedMemoryMb', {
      nullable: true,
      description:
        'For OUT_OF_MEMORY: the memory to re-run with (memoryOverrideMb), twice what the attempt had, at most MAX_RUN_MEMORY_MB; ' +
        'while a method with retry.memoryGrowth is retried, the memory of its next attempt. Null when the run already had ' +
        'MAX_RUN_MEMORY_MB, and for other errors.',
    }),
  }),
});

const RunDraftStatusRef = builder.objectRef<RunDraftStatus>('RunDraftStatus').implement({
  description: 'Where a draft (a CREATED run) stands: what is set, what is still missing, what to ask next.',
  fields: (t) => ({
    complete: t.exposeBoolean('complete', { description: 'Every required parameter is set.' }),
    missing: t.exposeStringList('missing', { description: 'Required parameters not set yet, in signature order.' }),
    set: t.exposeStringList('set'),
    next: t.field({ type: MethodParameterRef, nullable: true, resolve: (status) => status.next }),
  }),
});

// Guided (WORKFLOW) invocation: a CREATED draft asks for its next parameter and takes them one at
// a time (src/services/run-draft.ts, set-run-parameter.ts; the mutation: ./draft.ts).
const draftSelect = { status: true, inputs: true, methodName: true, routine: { select: { methods: true } } } as const;

function draftStatusOf(run: { status: string; inputs: unknown; methodName: string; routine: { methods: unknown } }): RunDraftStatus | null {
  if (run.status !== 'CREATED') return null;
  const method = methodsOf(run.routine).find((m) => m.name === run.methodName);
  return method ? draftStatus({ parameters: method.parameters, inputs: run.inputs }) : null;
}

function eventList(args: { first?: number | null; after?: string | null; types?: EventListQuery['types'] }): EventListQuery {
  return { take: pageSize(args.first), after: eventCursor(args.after), types: args.types };
}

export const RoutineRunRef = builder.prismaNode('RoutineRun', {
  nullable: true,
  // Select mode: every query reads the small columns a run list shows (their fields resolve as
  // plain reads, schema/plugins/plain-row-fields.ts); inputs, outputs, attributes and the
  // grouped progress/error/resources columns are read only when a field asks for them.
  select: {
    id: true,
    instanceId: true,
    routineId: true,
    routineVersion: true,
    methodName: true,
    methodKind: true,
    name: true,
    description: true,
    status: true,
    executionType: true,
    invocationMethod: true,
    labels: true,
    createdById: true,
    createdAt: true,
    queuedAt: true,
    startedAt: true,
    finishedAt: true,
    updatedAt: true,
    durationMs: true,
    attempt: true,
    maxAttempts: true,
    lastSequence: true,
    parentRunId: true,
  },
  id: { field: 'id' },
  // node(id:)/nodes(ids:): a run of a workspace the request cannot see is null, as an unknown id.
  findUnique: (id, ctx) => ({ ...visibleRunWhere(ctx.access), id }),
  fields: (t) => ({
    name: t.exposeString('name', { nullable: true }),
    description: t.exposeString('description', { nullable: true }),
    instance: t.relation('instance'),
    routine: t.relation('routine'),
    routineVersion: t.exposeString('routineVersion'),
    methodName: t.exposeString('methodName'),
    method: t.field({
      type: RoutineMethodRef,
      select: { methodName: true, routine: { select: { methods: true } } },
      resolve: (run) => methodsOf(run.routine).find((m) => m.name === run.methodName)!,
    }),
    status: t.expose('status', { type: RunStatusEnum }),
    inputs: t.expose('inputs', { type: 'JSON' }),
    outputs: t.expose('outputs', { type: 'JSON', nullable: true, description: "The method's small JSON result." }),
    executionType: t.expose('executionType', { type: ExecutionTypeEnum }),
    invocationMethod: t.expose('invocationMethod', { type: InvocationMethodEnum }),
    storeArtifacts: t.exposeBoolean('storeArtifacts'),
    includeStatistics: t.exposeBoolean('includeStatistics'),
    includePreviews: t.exposeBoolean('includePreviews'),
    previewRows: t.exposeInt('previewRows', {
      nullable: true,
      description: `Rows in each table artifact's preview; null: ${DEFAULT_PREVIEW_ROWS}.`,
    }),
    memoryMb: t.exposeInt('memoryMb', { description: "Allocated memory: the method's default or the override." }),
    priority: t.exposeInt('priority', { description: priorityDescription }),
    memoryOverrideMb: t.exposeInt('memoryOverrideMb', { nullable: true }),
    labels: t.exposeStringList('labels'),
    attributes: t.expose('attributes', { type: 'JSON' }),
    createdBy: t.relation('createdBy'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    queuedAt: t.expose('queuedAt', { type: 'DateTime', nullable: true }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    durationMs: t.exposeInt('durationMs', { nullable: true, description: 'From RUNNING to the end.' }),
    cancelRequestedAt: t.expose('cancelRequestedAt', { type: 'DateTime', nullable: true }),
    cancelReason: t.exposeString('cancelReason', { nullable: true }),
    resources: t.field({
      type: RunResourcesRef,
      select: { memoryMb: true, peakMemoryMb: true, cpuTimeMs: true },
      resolve: (run) => ({ requestedMemoryMb: run.memoryMb, peakMemoryMb: run.peakMemoryMb, cpuTimeMs: run.cpuTimeMs }),
    }),
    attempt: t.exposeInt('attempt', { description: 'The current (or last) attempt; 0 before the first.' }),
    maxAttempts: t.exposeInt('maxAttempts'),
    progress: t.field({
      type: RunProgressRef,
      nullable: true,
      description: 'The latest progress reported.',
      select: { progressPercent: true, progressMessage: true, progressAt: true, progressSequence: true },
      resolve: (run) =>
        run.progressPercent === null || run.progressAt === null
          ? null
          : {
              percent: run.progressPercent,
              message: run.progressMessage ?? '',
              at: run.progressAt,
              sequence: run.progressSequence ?? 0,
            },
    }),
    lastSequence: t.exposeInt('lastSequence', { description: "The sequence of the run's latest event." }),
    error: t.field({
      type: RunErrorRef,
      nullable: true,
      description:
        "The run's latest error: why it FAILED or, for a run still RUNNING or COMPLETED after a retry, the error of the last " +
        'attempt that failed (`attempt` says which; every one is an ATTEMPT_FAILED event). Null while no attempt has failed.',
      select: {
        errorType: true,
        errorMessage: true,
        errorAttempt: true,
        errorRetryable: true,
        errorAt: true,
        errorPhase: true,
        errorWorkerId: true,
        errorHost: true,
        errorSuggestedMemoryMb: true,
        methodName: true,
      },
      resolve: (run) =>
        run.errorType === null
          ? null
          : {
              type: run.errorType,
              message: run.errorMessage ?? '',
              attempt: run.errorAttempt ?? 0,
              retryable: run.errorRetryable ?? false,
              at: run.errorAt ?? new Date(0),
              phase: errorPhase(run.errorPhase),
              method: run.methodName,
              workerId: run.errorWorkerId,
              host: run.errorHost,
              suggestedMemoryMb: run.errorSuggestedMemoryMb,
            },
    }),
    logs: t.relatedConnection(
      'logs',
      {
        cursor: 'id',
        totalCount: true,
        maxSize: (args) => checkedMaxSize(args),
        description: 'In the order written. At most 100 per page.',
        query: () => ({ orderBy: { id: 'asc' } }),
      },
      { name: 'RunLogConnection' },
      { name: 'RunLogEdge' },
    ),
    storagePath: t.string({
      description: "Where the run's files live: routine://instances_/{instance}/shared_/runs_/{run}/",
      select: { instanceId: true },
      resolve: (run) => runPath({ instanceId: run.instanceId, runId: run.id }),
    }),
    artifacts: t.relation('artifacts', { query: { orderBy: { name: 'asc' } } }),
    artifactsUnavailableReason: t.string({
      nullable: true,
      description: 'Why the run has no artifacts, when it has none.',
      select: { storeArtifacts: true, methodKind: true, executionType: true, status: true, _count: { select: { artifacts: true } } },
      resolve: (run) => {
        if (run._count.artifacts > 0) return null;
        if (run.methodKind === 'CONSTRUCTOR') return 'Constructor runs configure the instance and produce no artifacts.';
        if (!run.storeArtifacts) {
          return run.executionType === 'IN_MEMORY'
            ? 'The run executed in memory without persistence (storeArtifacts was false).'
            : '"Store Artifacts" was disabled for this run.';
        }
        if (run.status === 'FAILED') return 'The run failed before it stored any artifact.';
        if (run.status === 'CANCELLED') return 'The run was cancelled before it stored any artifact.';
        if (run.status !== 'COMPLETED') return 'The run has not stored any artifact yet.';
        return 'The method produced no artifacts.';
      },
    }),
    parentRun: t.relation('parentRun', { nullable: true }),
    schedule: t.relation('schedule', {
      nullable: true,
      description: 'The schedule that fired this run; null for runs created otherwise, and once the schedule is deleted.',
    }),
    workflowId: t.exposeString('workflowId', { nullable: true }),
    events: t.field({
      type: RunEventConnection,
      description: `The run's events in sequence order, optionally only some types. The cursor is the sequence: \`after: "12"\` starts at sequence 13, which lets a client resume from the \`sequence\` it last saw. At most ${MAX_PAGE_SIZE} per page (default 20).`,
      args: {
        first: t.arg.int(),
        after: t.arg.string(),
        types: t.arg({ type: [RunEventTypeEnum] }),
      },
      select: (args, _ctx, nestedSelection) => {
        const nested = nestedSelection(eventPageQuery(eventList(args)), ['edges', 'node']) as { select?: Record<string, unknown> };
        return { events: nested.select ? { ...nested, select: { sequence: true, ...nested.select } } : nested };
      },
      resolve: (run, args, ctx) => runEventPage(ctx, { run, list: eventList(args) }),
    }),
    // Why a run waits: its place in line and the workers' capacity (Query.capacity, ./run-lifecycle.ts).
    queuePosition: t.int({
      nullable: true,
      description:
        'While QUEUED and waiting for capacity: the place in line, 1 for the next run to start; null otherwise (see Query.capacity). ' +
        `The line is ordered by priority with ageing: by queuedAt − priority × ${AGEING_SECONDS_PER_POINT} s, then id (equal priorities: ` +
        'first come, first served), so a higher-priority run queued later can take a place ahead. Runs start in this order when a slot and their memory are free, with one exception so that a big run ' +
        'does not hold up small ones: while a run waits for more memory than is free, later runs that fit may start ahead of it, at ' +
        'most ADMISSION_MAX_OVERTAKES of them (default 4; 0 keeps strict order). After that the memory freed is kept for it and ' +
        'nothing behind it starts until it has. A run needing more memory than any live worker has waits without holding up the line.',
      select: { status: true, admittedAt: true, executionType: true },
      resolve: (run, _args, ctx) =>
        run.status === 'QUEUED' && run.admittedAt === null && run.executionType === 'BACKGROUND'
          ? // Batched: a list of runs asks for every position in one statement, not one per run.
            batchLoad(ctx, 'queuePosition', run.id, (runIds) => queuePositions(ctx.db, runIds))
          : null,
    }),
    admittedAt: t.expose('admittedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the run was given a slot and its memory (it then waits only for a worker to pick it up).',
    }),
    changedInputs: t.expose('changedInputs', {
      type: 'JSON',
      nullable: true,
      description: 'For a re-run: the inputs that differ from the parent run (a removed parameter is null).',
    }),
    instanceConfig: t.expose('instanceConfig', {
      type: 'JSON',
      nullable: true,
      description:
        "The instance config this run executes (executed) with, fixed when it was created: a re-run repeats its parent's unless asked for the current one. Null for stateless routines and before the instance is configured.",
    }),
    instanceConfigVersion: t.exposeInt('instanceConfigVersion', {
      nullable: true,
      description:
        'The version of that config: constructor runs make versions 1, 2, … (0: never configured), each kept as routine://instances_/{id}/internalvars_/config-v{n}.json. Null for stateless routines.',
    }),
    draftStatus: t.field({
      type: RunDraftStatusRef,
      nullable: true,
      description: 'For a CREATED run (a draft): which parameters are set and which are missing. Null once started.',
      select: draftSelect,
      resolve: (run) => draftStatusOf(run),
    }),
    nextParameter: t.field({
      type: MethodParameterRef,
      nullable: true,
      description:
        'For a CREATED run: the next required parameter to ask for (description, type, options, default); null when none is missing.',
      select: draftSelect,
      resolve: (run) => draftStatusOf(run)?.next ?? null,
    }),
  }),
});

builder.prismaObject('RunLog', {
  description:
    'A log entry of a run: one line, or a burst of lines of one level written within a fraction of a second, joined by newlines.',
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime' }),
    level: t.exposeString('level'),
    message: t.exposeString('message'),
    attempt: t.exposeInt('attempt'),
    lines: t.exposeInt('lines', { description: 'How many lines `message` holds (more than 1: a coalesced burst).' }),
  }),
});
