import { z } from 'zod';
import type { RoutineInstance } from '../src/generated/prisma/client.ts';
import { createInstance } from '../src/services/create-instance.ts';
import { builder } from './builder.ts';
import { ValidationError } from './errors.ts';

export const RoutineInstanceRef = builder.prismaNode('RoutineInstance', {
  id: { field: 'id' },
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    routine: t.relation('routine'),
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
    runs: t.relatedConnection('runs', {
      cursor: 'id',
      totalCount: true,
      description: 'Newest first. At most 100 per page.',
      query: () => ({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
    }),
  }),
});

builder.queryField('instances', (t) =>
  t.prismaConnection({
    type: 'RoutineInstance',
    cursor: 'id',
    totalCount: (_parent, _args, ctx) => ctx.db.routineInstance.count(),
    maxSize: 100,
    description: 'Newest first. At most 100 per page.',
    resolve: (query, _root, _args, ctx) =>
      ctx.db.routineInstance.findMany({ ...query, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
  }),
);

const CreateInstanceInput = builder.inputType('CreateInstanceInput', {
  fields: (t) => ({
    routineName: t.string({ required: true }),
    name: t.string({ required: true, validate: z.string().trim().min(1).max(200) }),
    description: t.string({ validate: z.string().max(5000) }),
  }),
});

const CreateInstanceSuccess = builder.objectRef<{ instance: RoutineInstance }>('CreateInstanceSuccess').implement({
  fields: (t) => ({ instance: t.field({ type: RoutineInstanceRef, resolve: (result) => result.instance }) }),
});

builder.mutationField('createInstance', (t) =>
  t.field({
    type: CreateInstanceSuccess,
    args: { input: t.arg({ type: CreateInstanceInput, required: true }) },
    errors: { types: [ValidationError], directResult: true, union: { name: 'CreateInstanceResult' } },
    resolve: async (_root, { input }, ctx) => ({
      instance: await createInstance(ctx.services, { user: ctx.user, input }),
    }),
  }),
);
