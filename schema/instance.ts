import { normalizeName } from '../src/rules/text.ts';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { z } from 'zod';
import type { RoutineInstance } from '../src/generated/prisma/client.ts';
import { createInstance } from '../src/services/create-instance.ts';
import { sortSelect } from '../src/runs/run-filter.ts';
import { loadInstanceRunList } from '../src/runs/run-lists.ts';
import { visibleInstanceWhere } from '../src/access/visibility.ts';
import { instancesWorkspaceId } from '../src/reads/compile.ts';
import { builder } from './builder.ts';
import { InstanceHasActiveRunsError } from '../src/errors.ts';
import { deleteInstance } from '../src/services/delete-instance.ts';
import { updateInstance } from '../src/services/update-instance.ts';
import { ErrorInterface, ForbiddenError, NotFoundError, ValidationError } from './errors.ts';
import { checkedMaxSize, runListQuery, type RunListArgs } from './run-list-args.ts';
import { WorkspaceRef } from './workspace.ts';
import { listArgDescription, RoutineRunConnection, RunFilterInput, RunOrderInput } from './run-graph.ts';

export const RoutineInstanceRef = builder.prismaNode('RoutineInstance', {
  nullable: true,
  // Select mode: every query reads these small columns (their fields resolve as plain reads,
  // schema/plugins/plain-row-fields.ts); `config` is read only when a field asks for it.
  select: {
    id: true,
    routineId: true,
    name: true,
    description: true,
    stateVersion: true,
    constructedAt: true,
    constructedByRunId: true,
    createdById: true,
    createdAt: true,
    updatedAt: true,
  },
  id: { field: 'id' },
  // node(id:)/nodes(ids:): an instance of a workspace the request cannot see is null, as an unknown id.
  findUnique: (id, ctx) => ({ ...visibleInstanceWhere(ctx.access), id }),
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    routine: t.relation('routine'),
    workspace: t.relation('workspace'),
    constructed: t.boolean({
      description: 'Stateful routines: whether a constructor run has completed on this instance.',
      select: { constructedAt: true },
      resolve: (instance) => instance.constructedAt !== null,
    }),
    constructedAt: t.expose('constructedAt', { type: 'DateTime', nullable: true }),
    config: t.expose('config', { type: 'JSON', nullable: true, description: 'Written only by constructor runs.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    createdBy: t.relation('createdBy'),
    runs: t.field({
      type: RoutineRunConnection,
      description: `The instance's runs matching \`filter\`, in \`orderBy\` order (default: newest first). ${listArgDescription} Loaded for every instance of the request at once (a LIMIT per instance), whatever the number of instances.`,
      args: {
        first: t.arg.int(),
        after: t.arg.string(),
        filter: t.arg({ type: RunFilterInput }),
        orderBy: t.arg({ type: RunOrderInput }),
      },
      resolve: (instance, args, ctx, info) => {
        const list = runListQuery(args as RunListArgs);
        // Built for each instance's list, not once per batch: it also tells the fields beneath this
        // list (a run's artifacts…) that their data comes preloaded with these rows.
        const selection = queryFromInfo({ context: ctx, info, path: ['edges', 'node'], select: sortSelect(list.order) });
        // One batch per list field of the request: its response path without list indices.
        return loadInstanceRunList(ctx, { instanceId: instance.id, list, field: responsePathWithoutIndices(info.path), selection });
      },
    }),
    datasets: t.relation('datasets', {
      description: 'Data sets uploaded to this instance, oldest first.',
      query: { orderBy: { createdAt: 'asc' } },
    }),
  }),
});

function responsePathWithoutIndices(path: { prev: unknown; key: string | number } | undefined): string {
  const keys: string[] = [];
  for (let at = path; at; at = at.prev as typeof path) if (typeof at.key === 'string') keys.push(at.key);
  return keys.reverse().join('.');
}

/** Shared by Query.instances and Routine.instances. */
export const RoutineInstanceConnection = builder.connectionObject(
  {
    type: RoutineInstanceRef,
    name: 'RoutineInstanceConnection',
    fields: (t) => ({
      totalCount: t.int({
        extensions: { pothosPrismaTotalCount: true },
        // Routine.instances carries the number, Query.instances a function that counts.
        resolve: (connection) => {
          const { totalCount } = connection as unknown as { totalCount: number | (() => Promise<number> | number) };
          return typeof totalCount === 'function' ? totalCount() : totalCount;
        },
      }),
    }),
  },
  { name: 'RoutineInstanceEdge' },
);

builder.queryFields((t) => ({
  instances: t.prismaConnection(
    {
      type: 'RoutineInstance',
      cursor: 'id',
      args: {
        routineName: t.arg.string({ description: 'Only instances of this routine.' }),
        // A plain ID decoded by instancesWorkspaceId: it accepts a Workspace's global id whichever
        // module defines that node type.
        workspaceId: t.arg.id({ description: "Only instances of this workspace (a Workspace's id; none when the request cannot see it)." }),
      },
      totalCount: (_parent, args, ctx) => ctx.db.routineInstance.count({ where: instancesWhere(ctx, args) }),
      maxSize: (args) => checkedMaxSize(args),
      description:
        'Newest first. At most 100 per page. The cursor is the position of an instance in that order, so instances created meanwhile never shift a page.',
      resolve: (query, _root, args, ctx) =>
        ctx.db.routineInstance.findMany({
          ...query,
          where: instancesWhere(ctx, args),
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        }),
    },
    RoutineInstanceConnection,
  ),
  instance: t.prismaField({
    type: 'RoutineInstance',
    nullable: true,
    description:
      'An instance by its routine and name. Names are unique per routine within a workspace: without `workspaceId`, the oldest such instance the request can see.',
    args: {
      routineName: t.arg.string({ required: true }),
      name: t.arg.string({ required: true }),
      workspaceId: t.arg.id({ description: "The workspace to look in (a Workspace's id)." }),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.db.routineInstance.findFirst({
        ...query,
        where: { ...instancesWhere(ctx, args), name: normalizeName(args.name) },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      }),
  }),
}));

/** Query.instances and Query.instance: only what the request may see, narrowed by the arguments. */
function instancesWhere(
  ctx: { access: Parameters<typeof visibleInstanceWhere>[0] },
  args: { routineName?: string | null; workspaceId?: string | number | bigint | null },
) {
  const workspaceId = instancesWorkspaceId(args.workspaceId == null ? null : String(args.workspaceId));
  const visible = visibleInstanceWhere(ctx.access);
  return {
    AND: [visible, ...(workspaceId ? [{ workspaceId }] : [])],
    ...(args.routineName ? { routine: { name: args.routineName } } : {}),
  };
}

const CreateInstanceInput = builder.inputType('CreateInstanceInput', {
  fields: (t) => ({
    routineName: t.string({ required: true }),
    name: t.string({ required: true, validate: z.string().trim().min(1).max(200) }),
    description: t.string({ validate: z.string().max(5000) }),
    workspaceId: t.globalID({
      for: WorkspaceRef,
      description: "The workspace (Workspace.id) to create it in; default the token's workspace, else the user's first.",
    }),
  }),
});

const CreateInstanceSuccess = builder.objectRef<{ instance: RoutineInstance }>('CreateInstanceSuccess').implement({
  fields: (t) => ({ instance: t.field({ type: RoutineInstanceRef, resolve: (result) => result.instance }) }),
});

builder.mutationField('createInstance', (t) =>
  t.field({
    type: CreateInstanceSuccess,
    description: 'Creates an instance in a workspace where the request is a MAINTAINER.',
    args: { input: t.arg({ type: CreateInstanceInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError],
      directResult: true,
      union: { name: 'CreateInstanceResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      instance: await createInstance(ctx.services, {
        access: ctx.access,
        input: { ...input, workspaceId: input.workspaceId?.id ?? null },
      }),
    }),
  }),
);

builder.objectType(InstanceHasActiveRunsError, {
  name: 'InstanceHasActiveRunsError',
  description: 'An instance with runs that have not ended (CREATED, QUEUED, RUNNING) cannot be deleted.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ activeRunCount: t.exposeInt('activeRunCount') }),
});

const UpdateInstanceInput = builder.inputType('UpdateInstanceInput', {
  description: 'Fields left out stay as they are. The config is written only by constructor runs.',
  fields: (t) => ({
    id: t.globalID({ required: true, for: RoutineInstanceRef }),
    name: t.string({ validate: z.string().trim().min(1).max(200) }),
    description: t.string({ validate: z.string().max(5000), description: 'null clears it.' }),
  }),
});

const UpdateInstanceSuccess = builder.objectRef<{ instance: RoutineInstance }>('UpdateInstanceSuccess').implement({
  fields: (t) => ({ instance: t.field({ type: RoutineInstanceRef, resolve: (result) => result.instance }) }),
});

builder.mutationField('updateInstance', (t) =>
  t.field({
    type: UpdateInstanceSuccess,
    description: 'Renames or re-describes an instance (a MAINTAINER of its workspace).',
    args: { input: t.arg({ type: UpdateInstanceInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError],
      directResult: true,
      union: { name: 'UpdateInstanceResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      instance: await updateInstance(ctx.services, { access: ctx.access, input: { ...input, id: input.id.id } }),
    }),
  }),
);

const DeleteInstanceInput = builder.inputType('DeleteInstanceInput', {
  fields: (t) => ({ id: t.globalID({ required: true, for: RoutineInstanceRef }) }),
});

const DeleteInstanceSuccess = builder.objectRef<{ deletedInstanceId: string; deletedRunCount: number }>('DeleteInstanceSuccess').implement({
  fields: (t) => ({
    deletedInstanceId: t.globalID({ resolve: (result) => ({ type: 'RoutineInstance', id: result.deletedInstanceId }) }),
    deletedRunCount: t.exposeInt('deletedRunCount'),
  }),
});

builder.mutationField('deleteInstance', (t) =>
  t.field({
    type: DeleteInstanceSuccess,
    description:
      'Deletes an instance with all its runs (events, logs, artifacts and their files). Refused while any run has not ended. A MAINTAINER of its workspace.',
    args: { input: t.arg({ type: DeleteInstanceInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError, InstanceHasActiveRunsError],
      directResult: true,
      union: { name: 'DeleteInstanceResult' },
    },
    resolve: (_root, { input }, ctx) => deleteInstance(ctx.services, { access: ctx.access, instanceId: input.id.id }),
  }),
);
