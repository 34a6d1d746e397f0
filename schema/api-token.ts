// API tokens over GraphQL (src/access/tokens-admin.ts): the secret is answered once, by
// createApiToken; afterwards a token is its name, scopes, workspace and dates.
import type { ApiToken } from '../src/generated/prisma/client.ts';
import { createApiToken, revokeApiToken, visibleTokenWhere } from '../src/access/tokens-admin.ts';
import { builder } from './builder.ts';
import { TokenScopeEnum } from './enums.ts';
import { ForbiddenError, NotFoundError, ValidationError } from './errors.ts';
import { WorkspaceRef } from './workspace.ts';

export const ApiTokenRef = builder.prismaNode('ApiToken', {
  nullable: true,
  description: 'A bearer token of a user. Its secret is shown once, when it is created.',
  // Never `tokenHash`: a hash of a full-entropy secret is safe to keep, but nobody needs to read it.
  select: {
    id: true,
    name: true,
    scopes: true,
    workspaceId: true,
    createdAt: true,
    expiresAt: true,
    lastUsedAt: true,
    revokedAt: true,
  },
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, AND: [visibleTokenWhere(ctx.access)] }),
  fields: (t) => ({
    name: t.exposeString('name'),
    scopes: t.field({
      type: [TokenScopeEnum],
      description: 'As created; the highest one counts.',
      resolve: (token) => token.scopes,
    }),
    workspace: t.field({
      type: WorkspaceRef,
      nullable: true,
      description: 'The workspace the token is bound to (it sees nothing else); null when unbound, or bound to one the request cannot see.',
      resolve: (token, _args, ctx) =>
        token.workspaceId && ctx.access.canSee(token.workspaceId)
          ? ctx.db.workspace.findUnique({ where: { id: token.workspaceId } })
          : null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Written at most once a minute.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreateApiTokenInput = builder.inputType('CreateApiTokenInput', {
  description: "The new token is never wider than the one asking: its scopes, workspace and expiry are at most the asking token's.",
  fields: (t) => ({
    name: t.string({ required: true }),
    scopes: t.field({ type: [TokenScopeEnum], required: true }),
    workspaceId: t.globalID({
      for: WorkspaceRef,
      description: 'Bind the token to this workspace. A token bound to a workspace creates tokens bound to the same one (the default).',
    }),
    expiresAt: t.field({
      type: 'DateTime',
      description: "In the future; at most the asking token's expiry, which is the default when the asking token expires.",
    }),
  }),
});

const CreateApiTokenSuccess = builder.objectRef<{ token: ApiToken; secret: string }>('CreateApiTokenSuccess').implement({
  fields: (t) => ({
    token: t.field({ type: ApiTokenRef, resolve: (result) => result.token }),
    secret: t.exposeString('secret', { description: 'The bearer secret: shown this once, stored only as its hash.' }),
  }),
});

builder.mutationField('createApiToken', (t) =>
  t.field({
    type: CreateApiTokenSuccess,
    description: "A token of the request's user. A scope above the asking token's is forbidden (requiredScope names it).",
    args: { input: t.arg({ type: CreateApiTokenInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError],
      directResult: true,
      union: { name: 'CreateApiTokenResult' },
    },
    resolve: (_root, { input }, ctx) =>
      createApiToken(ctx.db, ctx.access, {
        name: input.name,
        scopes: input.scopes,
        workspaceId: input.workspaceId?.id ?? null,
        expiresAt: input.expiresAt ?? null,
      }),
  }),
);

const RevokeApiTokenInput = builder.inputType('RevokeApiTokenInput', {
  fields: (t) => ({ id: t.globalID({ required: true, for: ApiTokenRef }) }),
});

const RevokeApiTokenSuccess = builder.objectRef<{ token: ApiToken }>('RevokeApiTokenSuccess').implement({
  fields: (t) => ({ token: t.field({ type: ApiTokenRef, resolve: (result) => result.token }) }),
});

builder.mutationField('revokeApiToken', (t) =>
  t.field({
    type: RevokeApiTokenSuccess,
    description:
      "One of the user's own tokens, or (as an ADMIN of a workspace) another user's token bound to that workspace; any other id is not found. Open sockets and streams of the token are closed.",
    args: { input: t.arg({ type: RevokeApiTokenInput, required: true }) },
    errors: { types: [NotFoundError, ValidationError], directResult: true, union: { name: 'RevokeApiTokenResult' } },
    resolve: async (_root, { input }, ctx) => ({ token: await revokeApiToken(ctx.db, ctx.access, input.id.id) }),
  }),
);
