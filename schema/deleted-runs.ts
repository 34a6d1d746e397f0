// Deleted runs: Query.deletedRuns lists the tombstones deleteRun/deleteRuns leave (who deleted
// what, when, why), newest first by an opaque keyset cursor on (deletedAt, id). Tombstones are
// audit trail, so they follow the audit log's rule: an ADMIN of the workspace the run was in
// (action `administer`, through its instance) reads them; everyone else sees an empty list, since
// the list spans workspaces and there is no one workspace to refuse. A tombstone whose instance is
// deleted has no workspace left to decide, and is shown to nobody.
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { Prisma, RunTombstone, User } from '../src/generated/prisma/client.ts';
import type { Access } from '../src/access/access.ts';
import { encodeAuditCursor, TIME_CURSOR_PAGE, timeCursorPage } from '../src/access/audit.ts';
import type { Context } from '../src/context.ts';
import { builder } from './builder.ts';
import { RunStatusEnum } from './enums.ts';
import { UserRef } from './user.ts';

type TombstoneRow = RunTombstone & { createdBy: User | null; deletedBy: User | null };

const RunTombstoneRef = builder.objectRef<TombstoneRow>('RunTombstone').implement({
  description: 'What remains of a deleted run: who deleted it, when and why, and what it was.',
  fields: (t) => ({
    id: t.id({ resolve: (row) => encodeGlobalID('RunTombstone', row.id) }),
    runId: t.id({
      description: 'The global id the run had (node(id:) of it is null now).',
      resolve: (row) => encodeGlobalID('RoutineRun', row.runId),
    }),
    instanceId: t.id({
      description: 'The global id of the instance the run belonged to.',
      resolve: (row) => encodeGlobalID('RoutineInstance', row.instanceId),
    }),
    routineName: t.string({ resolve: (row) => row.routineName }),
    methodName: t.string({ resolve: (row) => row.methodName }),
    name: t.string({ nullable: true, resolve: (row) => row.name }),
    status: t.field({ type: RunStatusEnum, description: 'The status the run had when deleted.', resolve: (row) => row.status }),
    createdBy: t.field({ type: UserRef, nullable: true, description: 'Null once the user is deleted.', resolve: (row) => row.createdBy }),
    createdAt: t.field({ type: 'DateTime', resolve: (row) => row.createdAt }),
    deletedBy: t.field({ type: UserRef, nullable: true, description: 'Null once the user is deleted.', resolve: (row) => row.deletedBy }),
    deletedAt: t.field({ type: 'DateTime', resolve: (row) => row.deletedAt }),
    reason: t.string({ nullable: true, description: 'The reason given to deleteRun/deleteRuns.', resolve: (row) => row.reason }),
  }),
});

const RunTombstoneConnection = builder.connectionObject(
  { type: RunTombstoneRef, name: 'RunTombstoneConnection' },
  { name: 'RunTombstoneEdge' },
);

/** The tombstones `access` may read: those of runs of instances in workspaces it administers. */
async function readableTombstones(ctx: Context, access: Access): Promise<Prisma.RunTombstoneWhereInput | null> {
  const workspaceIds = access.workspaceIds.filter((id) => access.can('administer', id));
  if (workspaceIds.length === 0) return null;
  const instances = await ctx.db.routineInstance.findMany({ where: { workspaceId: { in: workspaceIds } }, select: { id: true } });
  if (instances.length === 0) return null;
  return { instanceId: { in: instances.map((instance) => instance.id) } };
}

builder.queryField('deletedRuns', (t) =>
  t.field({
    type: RunTombstoneConnection,
    description:
      'Tombstones of deleted runs, newest first, of the workspaces where the request is ADMIN (the audit log’s rule); an empty list elsewhere.',
    args: {
      first: t.arg.int({ description: `At most ${TIME_CURSOR_PAGE.max}; default ${TIME_CURSOR_PAGE.default}.` }),
      after: t.arg.string(),
    },
    resolve: async (_root, args, ctx) => {
      const { take, after } = timeCursorPage(args, { what: 'a deleted runs cursor', list: 'deletedRuns' });
      const readable = await readableTombstones(ctx, ctx.access);
      if (!readable)
        return { edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: after !== null, startCursor: null, endCursor: null } };
      const rows = await ctx.db.runTombstone.findMany({
        where:
          after === null
            ? readable
            : { AND: [readable, { deletedAt: { lte: after.at } }, { OR: [{ deletedAt: { lt: after.at } }, { id: { lt: after.id } }] }] },
        orderBy: [{ deletedAt: 'desc' }, { id: 'desc' }],
        take: take + 1,
      });
      const page = rows.slice(0, take);
      const userIds = [...new Set(page.flatMap((row) => [row.createdById, row.deletedById]))];
      const users = userIds.length ? await ctx.db.user.findMany({ where: { id: { in: userIds } } }) : [];
      const byId = new Map(users.map((user) => [user.id, user]));
      const edges = page.map((row) => ({
        cursor: encodeAuditCursor({ at: row.deletedAt, id: row.id }),
        node: { ...row, createdBy: byId.get(row.createdById) ?? null, deletedBy: byId.get(row.deletedById) ?? null },
      }));
      return {
        edges,
        pageInfo: {
          hasNextPage: rows.length > take,
          hasPreviousPage: after !== null,
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
      };
    },
  }),
);
