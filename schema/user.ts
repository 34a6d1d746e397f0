import { builder } from './builder.ts';

export const UserRef = builder.prismaNode('User', {
  nullable: true,
  id: { field: 'id' },
  // node(id:)/nodes(ids:): a user is visible to itself and to the users it shares a workspace with
  // (through the request's token: a bound token shares only its workspace); to anyone else it is null.
  findUnique: (id, ctx) => ({
    id,
    OR: [{ id: ctx.access.user.id }, { memberships: { some: { workspaceId: { in: ctx.access.workspaceIds as string[] } } } }],
  }),
  fields: (t) => ({
    name: t.exposeString('name'),
    isAdmin: t.exposeBoolean('isAdmin'),
  }),
});

builder.queryField('viewer', (t) =>
  t.prismaField({
    type: 'User',
    nullable: true,
    description: 'The user the request is authenticated as.',
    resolve: (query, _root, _args, ctx) => ctx.db.user.findUnique({ ...query, where: { id: ctx.user.id } }),
  }),
);
