// The root fields over runs: Query.run and Query.runs, createRun, startRun, cancelRun. They live
// apart from the RoutineRun type (schema/run.ts) so that the API's root fields keep their order
// (instances and routines first) whatever order the type modules load in.
import { queryFromInfo } from '@pothos/plugin-prisma';
import { z } from 'zod';
import type { RoutineRun } from '../src/generated/prisma/client.ts';
import { DEFAULT_PREVIEW_ROWS, MAX_PREVIEW_ROWS } from '../src/storage/artifact-store.ts';
import { cancelRun } from '../src/services/cancel-run.ts';
import { createRun } from '../src/services/create-run.ts';
import { startRun } from '../src/services/start-run.ts';
import { sortSelect } from '../src/runs/run-filter.ts';
import { loadRunList } from '../src/runs/run-lists.ts';
import { visibleRunWhere } from '../src/access/visibility.ts';
import { builder } from './builder.ts';
import { ExecutionTypeEnum, InvocationMethodEnum } from './enums.ts';
import {
  CapacityExceededError,
  ForbiddenError,
  IdempotencyKeyReusedError,
  InstanceNotConstructedError,
  NotFoundError,
  RunNotCancellableError,
  RunNotStartableError,
  ValidationError,
} from './errors.ts';
import { RoutineInstanceRef } from './instance.ts';
import { RoutineRunRef } from './run.ts';
import { listArgDescription, RoutineRunConnection, RunFilterInput, RunOrderInput } from './run-graph.ts';
import { runListQuery, type RunListArgs } from './run-list-args.ts';
import { priorityDescription, priorityRange } from './run-priority.ts';

builder.queryFields((t) => ({
  run: t.prismaField({
    type: 'RoutineRun',
    nullable: true,
    args: { id: t.arg.globalID({ required: true, for: RoutineRunRef }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.routineRun.findUnique({ ...query, where: { ...visibleRunWhere(ctx.access), id: args.id.id } }),
  }),
}));

builder.queryField('runs', (t) =>
  t.field({
    type: RoutineRunConnection,
    description: `Runs matching \`filter\`, in \`orderBy\` order (default: newest first). ${listArgDescription} Cursors are keyset positions (sort value, id): runs created meanwhile never shift a page.`,
    args: {
      first: t.arg.int(),
      after: t.arg.string(),
      filter: t.arg({ type: RunFilterInput }),
      orderBy: t.arg({ type: RunOrderInput }),
    },
    resolve: (_root, args, ctx, info) => {
      const list = runListQuery(args as RunListArgs);
      const selection = queryFromInfo({ context: ctx, info, path: ['edges', 'node'], select: sortSelect(list.order) });
      return loadRunList(ctx, list, selection);
    },
  }),
);

// ---- Mutations ----

const uuidLike = z.string().min(1).max(200);

const CreateRunInput = builder.inputType('CreateRunInput', {
  fields: (t) => ({
    instanceId: t.globalID({ required: true, for: RoutineInstanceRef }),
    methodName: t.string({ required: true, validate: z.string().min(1).max(200) }),
    name: t.string({ validate: z.string().max(200) }),
    description: t.string({ validate: z.string().max(5000) }),
    inputs: t.field({ type: 'JSON', description: "The method's parameters, as a JSON object." }),
    executionType: t.field({ type: ExecutionTypeEnum, defaultValue: 'BACKGROUND' }),
    invocationMethod: t.field({ type: InvocationMethodEnum, defaultValue: 'DIRECT' }),
    storeArtifacts: t.boolean({ description: 'Default true; false for IN_MEMORY runs unless set.' }),
    includeStatistics: t.boolean({ defaultValue: false }),
    includePreviews: t.boolean({ defaultValue: false }),
    previewRows: t.int({
      description: `With includePreviews: rows in each table artifact's preview (1 to ${MAX_PREVIEW_ROWS}, default ${DEFAULT_PREVIEW_ROWS}); a length the method sets on an artifact wins.`,
    }),
    memoryOverrideMb: t.int({ validate: z.number().int().min(64, 'At least 64 MB') }),
    priority: t.int({ defaultValue: 0, validate: priorityRange, description: priorityDescription }),
    labels: t.stringList(),
    attributes: t.field({ type: 'JSON', description: 'A JSON object of at most 64 KB.' }),
    start: t.boolean({ defaultValue: true, description: 'false leaves the run CREATED until startRun.' }),
    idempotencyKey: t.string({
      validate: uuidLike,
      description: 'The same key from the same user within 24 hours returns the same run.',
    }),
  }),
});

const CreateRunSuccess = builder.objectRef<{ run: RoutineRun; deduplicated: boolean }>('CreateRunSuccess').implement({
  fields: (t) => ({
    run: t.field({ type: RoutineRunRef, resolve: (result) => result.run }),
    deduplicated: t.exposeBoolean('deduplicated', {
      description: 'True when an earlier run with the same idempotency key was returned.',
    }),
  }),
});

builder.mutationField('createRun', (t) =>
  t.field({
    type: CreateRunSuccess,
    args: { input: t.arg({ type: CreateRunInput, required: true }) },
    errors: {
      types: [
        ValidationError,
        NotFoundError,
        ForbiddenError,
        InstanceNotConstructedError,
        IdempotencyKeyReusedError,
        CapacityExceededError,
      ],
      directResult: true,
      union: { name: 'CreateRunResult' },
    },
    resolve: (_root, { input }, ctx) =>
      createRun(ctx.services, { access: ctx.access, input: { ...input, instanceId: input.instanceId.id } }),
  }),
);

const StartRunInput = builder.inputType('StartRunInput', {
  fields: (t) => ({ id: t.globalID({ required: true, for: RoutineRunRef }) }),
});
const CancelRunInput = builder.inputType('CancelRunInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: RoutineRunRef }),
    reason: t.string({ validate: z.string().max(1000) }),
  }),
});

function runSuccess(name: string) {
  return builder.objectRef<{ run: RoutineRun }>(name).implement({
    fields: (t) => ({ run: t.field({ type: RoutineRunRef, resolve: (result) => result.run }) }),
  });
}
const StartRunSuccess = runSuccess('StartRunSuccess');
const CancelRunSuccess = runSuccess('CancelRunSuccess');

builder.mutationField('startRun', (t) =>
  t.field({
    type: StartRunSuccess,
    description: 'CREATED → QUEUED.',
    args: { input: t.arg({ type: StartRunInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError, RunNotStartableError, CapacityExceededError],
      directResult: true,
      union: { name: 'StartRunResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      run: await startRun(ctx.services, { access: ctx.access, runId: input.id.id }),
    }),
  }),
);

builder.mutationField('cancelRun', (t) =>
  t.field({
    type: CancelRunSuccess,
    args: { input: t.arg({ type: CancelRunInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError, RunNotCancellableError],
      directResult: true,
      union: { name: 'CancelRunResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      run: await cancelRun(ctx.services, { access: ctx.access, runId: input.id.id, reason: input.reason }),
    }),
  }),
);
