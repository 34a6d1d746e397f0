import { ownTokenWhere } from '../src/access/tokens-admin.ts';
import { visibleWorkspaceWhere } from '../src/access/visibility.ts';
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
    isAdmin: t.exposeBoolean('isAdmin', {
      deprecationReason:
        "Grants and reveals nothing since workspaces: a user's rights are its roles (User.workspaces, Workspace.viewerRole).",
    }),
    workspaces: t.prismaField({
      type: ['Workspace'],
      description: "The user's workspaces that the request can see too, by name.",
      resolve: (query, user, _args, ctx) =>
        ctx.db.workspace.findMany({
          ...query,
          where: { AND: [{ members: { some: { userId: user.id } } }, visibleWorkspaceWhere(ctx.access)] },
          orderBy: { name: 'asc' },
        }),
    }),
    tokens: t.prismaField({
      type: ['ApiToken'],
      description:
        "The viewer's own tokens, oldest first, revoked ones included (only those bound to the request's workspace when its token is bound). Empty for any other user: nobody lists another user's tokens.",
      resolve: (query, user, _args, ctx) =>
        user.id === ctx.access.user.id
          ? ctx.db.apiToken.findMany({ ...query, where: ownTokenWhere(ctx.access), orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] })
          : [],
    }),
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
