// The run lifecycle beyond create/start/cancel: re-running and deleting runs, and why a run waits
// (the workers' capacity; a run's own queuePosition is in ./run.ts). Services:
// src/services/{rerun-run,delete-run,delete-runs}.ts; admission: src/runs/admission.ts.
import { z } from 'zod';
import type { RoutineRun } from '../src/generated/prisma/client.ts';
import { DEFAULT_WORKER_LEASE_MS } from '../src/env.ts';
import { RunNotFinishedError } from '../src/errors.ts';
import { readCapacity, type Capacity, type WorkerCapacity } from '../src/runs/admission.ts';
import { deleteRun } from '../src/services/delete-run.ts';
import { deleteRuns, type DeleteRunsResult } from '../src/services/delete-runs.ts';
import { cancelRuns, MAX_LISTED_RUNS, type CancelRunsResult } from '../src/services/cancel-runs.ts';
import { rerunRun } from '../src/services/rerun-run.ts';
import { builder } from './builder.ts';
import { ExecutionTypeEnum, RunStatusEnum } from './enums.ts';
import { CapacityExceededError, ErrorInterface, ForbiddenError, NotFoundError, ValidationError } from './errors.ts';
import { RoutineRunRef } from './run.ts';
import { RunFilterInput } from './run-graph.ts';
import { runFilter } from './run-list-args.ts';
import { priorityRange } from './run-priority.ts';

builder.objectType(RunNotFinishedError, {
  name: 'RunNotFinishedError',
  description: 'Only a COMPLETED, FAILED or CANCELLED run can be re-run or deleted.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ status: t.field({ type: RunStatusEnum, resolve: (error) => error.status }) }),
});

// ---- Why a run waits (the RoutineRun.queuePosition field is in ./run.ts) ----

const WorkerCapacityRef = builder.objectRef<WorkerCapacity>('WorkerCapacity').implement({
  description: 'A live worker: its slots and memory budget, and what its runs use.',
  fields: (t) => ({
    id: t.exposeString('id'),
    host: t.exposeString('host'),
    pid: t.exposeInt('pid'),
    slots: t.exposeInt('slots'),
    slotsBusy: t.exposeInt('slotsBusy'),
    memoryMb: t.exposeInt('memoryMb'),
    memoryBusyMb: t.exposeInt('memoryBusyMb'),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    heartbeatAt: t.expose('heartbeatAt', { type: 'DateTime' }),
  }),
});

const CapacityRef = builder.objectRef<Capacity>('Capacity').implement({
  description:
    'Execution capacity of the live workers. Queued runs start in line order (priority with ageing: RoutineRun.queuePosition) when a ' +
    'slot and their memory are free; a run waiting for ' +
    'more memory than is free may be overtaken by up to ADMISSION_MAX_OVERTAKES later runs that fit, then capacity is kept for it ' +
    '(see RoutineRun.queuePosition). A worker whose heartbeat lapsed holds nothing.',
  fields: (t) => ({
    workers: t.field({ type: [WorkerCapacityRef], resolve: (c) => c.workers }),
    slotsTotal: t.exposeInt('slotsTotal'),
    slotsBusy: t.exposeInt('slotsBusy', { description: 'Includes runs admitted and not yet picked up by a worker.' }),
    memoryTotalMb: t.exposeInt('memoryTotalMb'),
    memoryBusyMb: t.exposeInt('memoryBusyMb'),
    queued: t.exposeInt('queued', {
      description:
        'Background runs waiting for capacity: QUEUED ones, and RUNNING ones waiting to be admitted again with more memory ' +
        '(an attempt ran out of memory and the method declares retry.memoryGrowth).',
    }),
    largestWorkerMemoryMb: t.exposeInt('largestWorkerMemoryMb', {
      description: 'The most memory one run can be given (0 without workers).',
    }),
  }),
});

builder.queryField('capacity', (t) =>
  t.field({
    type: CapacityRef,
    resolve: (_root, _args, ctx) => readCapacity(ctx.db, { leaseMs: ctx.services.limits.workerLeaseMs ?? DEFAULT_WORKER_LEASE_MS }),
  }),
);

// ---- rerunRun ----

const RerunOverridesInput = builder.inputType('RerunOverrides', {
  description: "What changes from the parent run; everything else is the parent's.",
  fields: (t) => ({
    inputs: t.field({ type: 'JSON', description: "Merged into the parent's inputs (JSON merge patch: null removes a parameter)." }),
    name: t.string({ validate: z.string().max(200) }),
    description: t.string({ validate: z.string().max(5000) }),
    labels: t.stringList(),
    attributes: t.field({ type: 'JSON' }),
    executionType: t.field({ type: ExecutionTypeEnum }),
    memoryOverrideMb: t.int({ validate: z.number().int().min(64, 'At least 64 MB') }),
    priority: t.int({ validate: priorityRange, description: "Default: the parent's priority." }),
    includePreviews: t.boolean(),
    previewRows: t.int({ description: 'null: back to the default length.' }),
    includeStatistics: t.boolean(),
    storeArtifacts: t.boolean(),
    useCurrentConfig: t.boolean({
      description:
        "Execute with the instance's current config; by default a re-run executes with the config its parent executed with (RoutineRun.instanceConfig).",
    }),
  }),
});

const RerunRunInput = builder.inputType('RerunRunInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: RoutineRunRef }),
    overrides: t.field({ type: RerunOverridesInput }),
    start: t.boolean({ defaultValue: true, description: 'false leaves the new run CREATED until startRun.' }),
  }),
});

const RerunRunSuccess = builder.objectRef<{ run: RoutineRun; changedInputs: Record<string, unknown> }>('RerunRunSuccess').implement({
  fields: (t) => ({
    run: t.field({ type: RoutineRunRef, resolve: (result) => result.run }),
    changedInputs: t.field({ type: 'JSON', resolve: (result) => result.changedInputs }),
  }),
});

builder.mutationField('rerunRun', (t) =>
  t.field({
    type: RerunRunSuccess,
    description: "A new run from a finished run's inputs and options, with overrides; its parentRun is the original.",
    args: { input: t.arg({ type: RerunRunInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError, RunNotFinishedError, CapacityExceededError],
      directResult: true,
      union: { name: 'RerunRunResult' },
    },
    resolve: (_root, { input }, ctx) =>
      rerunRun(ctx.services, {
        access: ctx.access,
        runId: input.id.id,
        start: input.start,
        overrides: input.overrides
          ? {
              ...input.overrides,
              memoryOverrideMb: input.overrides.memoryOverrideMb ?? undefined,
              priority: input.overrides.priority ?? undefined,
            }
          : undefined,
      }),
  }),
);

// ---- deleteRun, deleteRuns ----

const DeleteRunInput = builder.inputType('DeleteRunInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: RoutineRunRef }),
    reason: t.string({ validate: z.string().max(1000), description: 'Kept in the tombstone.' }),
  }),
});

const DeleteRunSuccess = builder.objectRef<{ deletedRunId: string }>('DeleteRunSuccess').implement({
  fields: (t) => ({
    deletedRunId: t.id({ resolve: (result) => Buffer.from(`RoutineRun:${result.deletedRunId}`).toString('base64') }),
  }),
});

builder.mutationField('deleteRun', (t) =>
  t.field({
    type: DeleteRunSuccess,
    description: 'Removes a finished run with its events, logs and artifacts; a tombstone keeps who deleted what, when.',
    args: { input: t.arg({ type: DeleteRunInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError, RunNotFinishedError],
      directResult: true,
      union: { name: 'DeleteRunResult' },
    },
    resolve: (_root, { input }, ctx) => deleteRun(ctx.services, { access: ctx.access, runId: input.id.id, reason: input.reason }),
  }),
);

const DeleteRunsInput = builder.inputType('DeleteRunsInput', {
  fields: (t) => ({
    filter: t.field({ type: RunFilterInput, required: true, description: 'The same filter as Query.runs; an empty filter is refused.' }),
    dryRun: t.boolean({ defaultValue: false, description: 'Only count what would be deleted.' }),
    reason: t.string({ validate: z.string().max(1000) }),
  }),
});

const DeleteRunsSuccess = builder.objectRef<DeleteRunsResult>('DeleteRunsSuccess').implement({
  fields: (t) => ({
    matchedCount: t.exposeInt('matchedCount', { description: 'Runs the filter matches.' }),
    deletableCount: t.exposeInt('deletableCount', {
      description: 'Matching runs that are finished and yours to delete (your own as an OPERATOR, any as a MAINTAINER).',
    }),
    deletedCount: t.exposeInt('deletedCount'),
    skippedCount: t.exposeInt('skippedCount', { description: 'Matching runs left alone: still active, or not yours to delete.' }),
    notAllowedCount: t.exposeInt('notAllowedCount', {
      description: 'Matching runs you may not delete: other members’ runs in workspaces where you are below MAINTAINER.',
    }),
    dryRun: t.exposeBoolean('dryRun'),
  }),
});

builder.mutationField('deleteRuns', (t) =>
  t.field({
    type: DeleteRunsSuccess,
    description:
      'deleteRun for every finished run you can see that matches the filter and is yours to delete (your own as an OPERATOR, any as a MAINTAINER of its workspace).',
    args: { input: t.arg({ type: DeleteRunsInput, required: true }) },
    errors: { types: [ValidationError, ForbiddenError], directResult: true, union: { name: 'DeleteRunsResult' } },
    resolve: (_root, { input }, ctx) =>
      deleteRuns(ctx.services, { access: ctx.access, dryRun: input.dryRun, reason: input.reason, filter: runFilter(input.filter) }),
  }),
);

// ---- cancelRuns ----

const CancelRunsInput = builder.inputType('CancelRunsInput', {
  fields: (t) => ({
    filter: t.field({ type: RunFilterInput, required: true, description: 'The same filter as Query.runs; an empty filter is refused.' }),
    dryRun: t.boolean({
      defaultValue: true,
      description: 'Only count (and list) what would be cancelled. The default: pass false to cancel.',
    }),
    reason: t.string({ validate: z.string().max(1000), description: 'Recorded on every cancelled run, as cancelRun records it.' }),
  }),
});

const CancelRunsSuccess = builder.objectRef<CancelRunsResult>('CancelRunsSuccess').implement({
  description:
    'What a bulk cancel did (or, on a dry run, would do). Only CREATED, QUEUED and RUNNING runs are cancelled; a RUNNING run gets a ' +
    'pending cancel as with cancelRun. Matching runs you can see but may not cancel (below OPERATOR in their workspace) are skipped ' +
    'and counted in notAllowedCount.',
  fields: (t) => ({
    count: t.exposeInt('count', { description: 'Runs cancelled; on a dry run, the runs that would be.' }),
    matchedCount: t.exposeInt('matchedCount', { description: 'Runs you can see that the filter matches, in any status.' }),
    skippedCount: t.exposeInt('skippedCount', {
      description: 'Matching runs left alone: already ended, already being cancelled, or not yours to cancel.',
    }),
    notAllowedCount: t.exposeInt('notAllowedCount', {
      description: 'Matching runs you may not cancel: in workspaces where you (or your token) are below OPERATOR.',
    }),
    dryRun: t.exposeBoolean('dryRun'),
    runs: t.field({
      type: [RoutineRunRef],
      description: `The first runs counted in \`count\` (in id order), at most ${MAX_LISTED_RUNS}; default 20.`,
      args: { first: t.arg.int({ validate: z.number().int().min(0).max(MAX_LISTED_RUNS) }) },
      resolve: async (result, args, ctx) => {
        const ids = result.runIds.slice(0, args.first ?? 20);
        if (ids.length === 0) return [];
        const runs = await ctx.db.routineRun.findMany({ where: { id: { in: ids } } });
        const byId = new Map(runs.map((run) => [run.id, run]));
        return ids.flatMap((id) => byId.get(id) ?? []);
      },
    }),
  }),
});

builder.mutationField('cancelRuns', (t) =>
  t.field({
    type: CancelRunsSuccess,
    description:
      'cancelRun for every active run you can see that matches the filter and that you may cancel (as an OPERATOR of its workspace). ' +
      'A dry run by default. Queued runs are cancelled in batches (a thousand take a few seconds); their workflows are told afterwards.',
    args: { input: t.arg({ type: CancelRunsInput, required: true }) },
    errors: { types: [ValidationError, ForbiddenError], directResult: true, union: { name: 'CancelRunsResult' } },
    resolve: (_root, { input }, ctx) =>
      cancelRuns(ctx.services, { access: ctx.access, dryRun: input.dryRun, reason: input.reason, filter: runFilter(input.filter) }),
  }),
);
