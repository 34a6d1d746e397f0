import { builder } from './builder.ts';

export const UserRef = builder.prismaNode('User', {
  nullable: true,
  id: { field: 'id' },
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
