// The audit trail (rows written by schema/plugins/mutation-audit.ts and authenticate()): a
// workspace's ADMINs read its events with Query.auditEvents; every user reads its own with
// viewer.auditEvents; node(id:) answers an event to either, else null (src/access/audit.ts holds
// the rule). Newest first, by an opaque keyset cursor on (at, id).
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { AuditEvent, Prisma, User } from '../src/generated/prisma/client.ts';
import {
  AUDIT_ORDER,
  afterAuditCursor,
  canReadAuditEvent,
  encodeAuditCursor,
  ownAuditWhere,
  TIME_CURSOR_PAGE,
  timeCursorPage,
} from '../src/access/audit.ts';
import type { Context } from '../src/context.ts';
import { ForbiddenError } from '../src/errors.ts';
import { builder } from './builder.ts';
import { WorkspaceRef } from './workspace.ts';
import { UserRef } from './user.ts';

type AuditEventRow = AuditEvent & { user: User | null };

export const AuditEventRef = builder.node(builder.objectRef<AuditEventRow>('AuditEvent'), {
  description:
    'One mutation (or a token used from a new address): who, with which token, what, on which targets, with which result. node(id:) answers it to an ADMIN of its workspace and to its own user (as viewer.auditEvents would), else null.',
  id: { resolve: (event) => event.id },
  isTypeOf: (value) => typeof value === 'object' && value !== null && 'operation' in value && 'resultType' in value,
  // Rarely looked up one at a time (a client refetching an event it listed): not batched.
  loadWithoutCache: async (id, ctx) => {
    const event = await ctx.db.auditEvent.findUnique({ where: { id } });
    if (!event || !canReadAuditEvent(ctx.access, event)) return null;
    return { ...event, user: await ctx.db.user.findUnique({ where: { id: event.userId } }) };
  },
  fields: (t) => ({
    at: t.field({ type: 'DateTime', resolve: (event) => event.at }),
    user: t.field({ type: UserRef, nullable: true, description: 'Null once the user is deleted.', resolve: (event) => event.user }),
    tokenId: t.id({
      nullable: true,
      description: 'The global id of the ApiToken the request came with; null for a request made inside the service.',
      resolve: (event) => (event.tokenId ? encodeGlobalID('ApiToken', event.tokenId) : null),
    }),
    workspaceId: t.id({
      nullable: true,
      description: 'The global id of the workspace the operation acted in, when it acted in one.',
      resolve: (event) => (event.workspaceId ? encodeGlobalID('Workspace', event.workspaceId) : null),
    }),
    operation: t.string({
      description: 'The mutation field (`createRun`, …), or `tokenUsedFromNewAddress`.',
      resolve: (event) => event.operation,
    }),
    targetIds: t.idList({
      description: 'Global ids of the targets the input named and of what the mutation made (the new run).',
      resolve: (event) => event.targetIds,
    }),
    resultType: t.string({
      description:
        'The result type answered (`CreateRunSuccess`, `ForbiddenError`, `RateLimitedError`, …), or `Error` for an unexpected error. For `tokenUsedFromNewAddress`: `FirstUse` or `NewAddress`.',
      resolve: (event) => event.resultType,
    }),
    address: t.string({ nullable: true, description: "The client's address, when known.", resolve: (event) => event.address }),
  }),
});

export const AuditEventConnection = builder.connectionObject(
  { type: AuditEventRef, name: 'AuditEventConnection' },
  { name: 'AuditEventEdge' },
);

const AuditEventFilter = builder.inputType('AuditEventFilter', {
  fields: (t) => ({
    operation: t.string({ description: 'Only this operation (a mutation field name, or `tokenUsedFromNewAddress`).' }),
    userName: t.string({ description: 'Only events of this user.' }),
    since: t.field({ type: 'DateTime', description: 'Only events at or after this time.' }),
  }),
});

interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** One page, newest first: the event rows and their users in two statements. */
async function auditPage(ctx: Context, where: Prisma.AuditEventWhereInput, args: PageArgs) {
  const { take, after } = timeCursorPage(args, { what: 'an audit event cursor', list: 'auditEvents' });
  const rows = await ctx.db.auditEvent.findMany({
    where: after === null ? where : { AND: [where, afterAuditCursor(after)] },
    orderBy: AUDIT_ORDER,
    take: take + 1,
  });
  const page = rows.slice(0, take);
  const userIds = [...new Set(page.map((row) => row.userId))];
  const users = userIds.length ? await ctx.db.user.findMany({ where: { id: { in: userIds } } }) : [];
  const byId = new Map(users.map((user) => [user.id, user]));
  const edges = page.map((row) => ({ cursor: encodeAuditCursor(row), node: { ...row, user: byId.get(row.userId) ?? null } }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > take,
      hasPreviousPage: after !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

function emptyPage() {
  return { edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null } };
}

/** The filter as a where clause; null when it names a user that does not exist (nothing matches). */
async function filterWhere(
  ctx: Context,
  filter: { operation?: string | null; userName?: string | null; since?: Date | null } | null | undefined,
): Promise<Prisma.AuditEventWhereInput | null> {
  const where: Prisma.AuditEventWhereInput = {};
  if (filter?.operation) where.operation = filter.operation;
  if (filter?.since) where.at = { gte: filter.since };
  if (filter?.userName) {
    const user = await ctx.db.user.findUnique({ where: { name: filter.userName }, select: { id: true } });
    if (!user) return null;
    where.userId = user.id;
  }
  return where;
}

builder.queryField('auditEvents', (t) =>
  t.field({
    type: AuditEventConnection,
    nullable: true,
    description:
      "A workspace's audit trail, newest first: ADMINs of the workspace read it (others get ForbiddenError); null for a workspace the request cannot see.",
    args: {
      workspaceId: t.arg.globalID({ required: true, for: WorkspaceRef }),
      first: t.arg.int({ description: `At most ${TIME_CURSOR_PAGE.max}; default ${TIME_CURSOR_PAGE.default}.` }),
      after: t.arg.string(),
      filter: t.arg({ type: AuditEventFilter }),
    },
    errors: { types: [ForbiddenError], directResult: true, union: { name: 'AuditEventsResult' } },
    resolve: async (_root, args, ctx) => {
      const workspaceId = args.workspaceId.id;
      if (!ctx.access.canSee(workspaceId)) return null;
      if (!ctx.access.can('administer', workspaceId)) throw ctx.access.forbidden('administer', workspaceId);
      timeCursorPage(args, { what: 'an audit event cursor', list: 'auditEvents' });
      const where = await filterWhere(ctx, args.filter);
      if (!where) return emptyPage();
      return auditPage(ctx, { ...where, workspaceId }, args);
    },
  }),
);

builder.prismaObjectFields(UserRef, (t) => ({
  auditEvents: t.field({
    select: { id: true },
    type: AuditEventConnection,
    nullable: true,
    description:
      "The viewer's own audit events, newest first (those of its token's workspace, and those in none, for a token bound to one); null for any other user.",
    args: {
      first: t.arg.int({ description: `At most ${TIME_CURSOR_PAGE.max}; default ${TIME_CURSOR_PAGE.default}.` }),
      after: t.arg.string(),
    },
    resolve: (user, args, ctx) => {
      if (user.id !== ctx.user.id) return null;
      return auditPage(ctx, ownAuditWhere(ctx.access), args);
    },
  }),
}));
