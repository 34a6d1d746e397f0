// Schedules (issue 16): the Schedule type, Query.schedules and createSchedule, pauseSchedule,
// deleteSchedule. The services (src/services/*-schedule.ts) keep the row and the Temporal Schedule
// together; what fires is src/schedules/temporal-schedules.ts and workflows/schedule.workflow.ts.
import { queryFromInfo } from '@pothos/plugin-prisma';
import { z } from 'zod';
import type { Schedule } from '../src/generated/prisma/client.ts';
import { ScheduleOverlapPolicy } from '../src/generated/prisma/enums.ts';
import { visibleScheduleWhere } from '../src/access/visibility.ts';
import { sortSelect } from '../src/runs/run-filter.ts';
import { loadRunList } from '../src/runs/run-lists.ts';
import { nextTemporalFireTime } from '../src/schedules/temporal-schedules.ts';
import { createSchedule } from '../src/services/create-schedule.ts';
import { deleteSchedule } from '../src/services/delete-schedule.ts';
import { pauseSchedule } from '../src/services/pause-schedule.ts';
import { builder } from './builder.ts';
import { ForbiddenError, InstanceNotConstructedError, NotFoundError, ValidationError } from './errors.ts';
import { RoutineInstanceRef } from './instance.ts';
import { listArgDescription, RoutineRunConnection } from './run-graph.ts';
import { checkedMaxSize, runListQuery } from './run-list-args.ts';

export const ScheduleOverlapPolicyEnum = builder.enumType(ScheduleOverlapPolicy, {
  name: 'ScheduleOverlapPolicy',
  description:
    "What a schedule does when it fires while the run it fired last has not ended (Temporal's overlap policy): SKIP that fire (the default), BUFFER_ONE (start it when the run ends; at most one waits), ALLOW_ALL (start it at once).",
});

export const ScheduleRef = builder.prismaNode('Schedule', {
  nullable: true,
  id: { field: 'id' },
  // node(id:)/nodes(ids:): a schedule of a workspace the request cannot see is null, as an unknown id.
  findUnique: (id, ctx) => ({ ...visibleScheduleWhere(ctx.access), id }),
  description: 'A run of a method fired on a cron expression or an interval, as its creator. Each run carries the label `schedule:{name}`.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique in its workspace.' }),
    instance: t.relation('instance'),
    methodName: t.exposeString('methodName'),
    inputs: t.expose('inputs', {
      type: 'JSON',
      description: 'As given: a parameter left to a random default (a seed) is drawn anew by each run.',
    }),
    cron: t.exposeString('cron', { nullable: true, description: 'A cron expression (UTC), or null for an interval schedule.' }),
    intervalSeconds: t.exposeInt('intervalSeconds', { nullable: true }),
    labels: t.exposeStringList('labels', { description: 'Given to every run, besides `schedule:{name}`.' }),
    paused: t.exposeBoolean('paused'),
    overlapPolicy: t.expose('overlapPolicy', { type: ScheduleOverlapPolicyEnum }),
    createdBy: t.relation('createdBy', { description: 'Runs are created as this user, with their access when each fires.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    memoryOverrideMb: t.exposeInt('memoryOverrideMb', {
      nullable: true,
      description: "Each run's memory (createRun's memoryOverrideMb); null: the method's default.",
    }),
    priority: t.exposeInt('priority', { description: "Each run's priority (createRun's priority)." }),
    lastFiredAt: t.expose('lastFiredAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it last fired; null before its first fire.',
    }),
    lastFireError: t.exposeString('lastFireError', {
      nullable: true,
      description:
        "Why its last fire made no run (createRun refused it as the creator: a data set deleted, the creator's access removed, the instance reconfigured…); null when the last fire made its run.",
    }),
    failedFireCount: t.exposeInt('failedFireCount', { description: 'Fires that made no run since it was created (see lastFireError).' }),
    nextRunAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it fires next (from Temporal); null while paused.',
      select: { paused: true },
      // One Temporal describe() per schedule, made only when this field is asked for (a page of
      // schedules without nextRunAt costs Temporal nothing); paused ones ask nothing.
      resolve: (schedule, _args, ctx) =>
        schedule.paused || !ctx.services.schedules ? null : nextTemporalFireTime(ctx.services.schedules.client, schedule.id),
    }),
    runs: t.field({
      type: RoutineRunConnection,
      description: `The runs this schedule fired that the request can see, newest first. ${listArgDescription}`,
      args: { first: t.arg.int(), after: t.arg.string() },
      resolve: (schedule, args, ctx, info) => {
        const base = runListQuery({ first: args.first, after: args.after });
        const filter = { ...base.filter, scheduleId: schedule.id };
        const list = { ...base, filter, key: JSON.stringify(filter) };
        const selection = queryFromInfo({ context: ctx, info, path: ['edges', 'node'], select: sortSelect(list.order) });
        return loadRunList(ctx, list, selection);
      },
    }),
  }),
});

const ScheduleConnection = builder.connectionObject(
  {
    type: ScheduleRef,
    name: 'ScheduleConnection',
    fields: (t) => ({
      totalCount: t.int({
        resolve: (connection) => (connection as unknown as { totalCount: () => Promise<number> }).totalCount(),
      }),
    }),
  },
  { name: 'ScheduleEdge' },
);

builder.queryField('schedules', (t) =>
  t.prismaConnection(
    {
      type: 'Schedule',
      cursor: 'id',
      totalCount: (_parent, _args, ctx) => ctx.db.schedule.count({ where: visibleScheduleWhere(ctx.access) }),
      maxSize: (args) => checkedMaxSize(args),
      description: 'The schedules of every workspace the request sees, newest first. At most 100 per page.',
      resolve: (query, _root, _args, ctx) =>
        ctx.db.schedule.findMany({ ...query, where: visibleScheduleWhere(ctx.access), orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
    },
    ScheduleConnection,
  ),
);

// ---- Mutations ----

const CreateScheduleInput = builder.inputType('CreateScheduleInput', {
  fields: (t) => ({
    instanceId: t.globalID({ required: true, for: RoutineInstanceRef }),
    methodName: t.string({ required: true, validate: z.string().min(1).max(200) }),
    inputs: t.field({ type: 'JSON', description: "The method's parameters, as a JSON object: checked now as createRun checks them." }),
    cron: t.string({
      description: 'A cron expression, UTC (`*/15 * * * *`, `0 3 * * 1-5`, `@hourly`). Exactly one of cron and intervalSeconds.',
    }),
    intervalSeconds: t.int({ description: 'Fire every this many seconds, at least SCHEDULE_MIN_INTERVAL_SECONDS (default 60).' }),
    name: t.string({
      required: true,
      description: 'Unique in the workspace; each run is labelled `schedule:{name}`, so it is label text of at most 55 characters.',
    }),
    labels: t.stringList({ description: 'Labels every run carries.' }),
    overlapPolicy: t.field({ type: ScheduleOverlapPolicyEnum, defaultValue: 'SKIP' }),
    memoryOverrideMb: t.int({ description: "Each run's memory in MB, as createRun's memoryOverrideMb (at most MAX_RUN_MEMORY_MB)." }),
    priority: t.int({ description: "Each run's priority, as createRun's priority (-100 to 100, default 0)." }),
  }),
});

const CreateScheduleSuccess = builder.objectRef<{ schedule: Schedule }>('CreateScheduleSuccess').implement({
  fields: (t) => ({ schedule: t.field({ type: ScheduleRef, resolve: (result) => result.schedule }) }),
});

builder.mutationField('createSchedule', (t) =>
  t.field({
    type: CreateScheduleSuccess,
    description:
      'A run of the method with these inputs on a cron expression or an interval, created as you when it fires (your role must allow the run: OPERATOR for a STANDARD method, MAINTAINER for a CONSTRUCTOR). At most SCHEDULES_PER_WORKSPACE per workspace.',
    args: { input: t.arg({ type: CreateScheduleInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError, InstanceNotConstructedError],
      directResult: true,
      union: { name: 'CreateScheduleResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      schedule: await createSchedule(ctx.services, { access: ctx.access, input: { ...input, instanceId: input.instanceId.id } }),
    }),
  }),
);

const PauseScheduleInput = builder.inputType('PauseScheduleInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: ScheduleRef }),
    paused: t.boolean({ required: true, description: 'true pauses (no fires until unpaused), false unpauses.' }),
  }),
});

const PauseScheduleSuccess = builder.objectRef<{ schedule: Schedule }>('PauseScheduleSuccess').implement({
  fields: (t) => ({ schedule: t.field({ type: ScheduleRef, resolve: (result) => result.schedule }) }),
});

builder.mutationField('pauseSchedule', (t) =>
  t.field({
    type: PauseScheduleSuccess,
    description: 'Pauses or unpauses a schedule. An OPERATOR of its workspace.',
    args: { input: t.arg({ type: PauseScheduleInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ForbiddenError], directResult: true, union: { name: 'PauseScheduleResult' } },
    resolve: async (_root, { input }, ctx) => ({
      schedule: await pauseSchedule(ctx.services, { access: ctx.access, scheduleId: input.id.id, paused: input.paused }),
    }),
  }),
);

const DeleteScheduleInput = builder.inputType('DeleteScheduleInput', {
  fields: (t) => ({ id: t.globalID({ required: true, for: ScheduleRef }) }),
});

const DeleteScheduleSuccess = builder.objectRef<{ deletedScheduleId: string }>('DeleteScheduleSuccess').implement({
  fields: (t) => ({
    deletedScheduleId: t.globalID({ resolve: (result) => ({ type: 'Schedule', id: result.deletedScheduleId }) }),
  }),
});

builder.mutationField('deleteSchedule', (t) =>
  t.field({
    type: DeleteScheduleSuccess,
    description: 'Deletes a schedule; the runs it fired stay. An OPERATOR of its workspace.',
    args: { input: t.arg({ type: DeleteScheduleInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ForbiddenError], directResult: true, union: { name: 'DeleteScheduleResult' } },
    resolve: (_root, { input }, ctx) => deleteSchedule(ctx.services, { access: ctx.access, scheduleId: input.id.id }),
  }),
);
