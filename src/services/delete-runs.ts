// deleteRuns: deleteRun in bulk for the finished runs matching a RunFilter (src/runs/run-filter.ts,
// the same filter as Query.runs, as the same SQL). An empty filter is refused (it would mean
// "everything"); a dry run only counts. It sees only the runs the request can see (the scope is
// part of the same SQL statement); active runs and runs the request may not delete (another
// member's, without MAINTAINER there) are skipped and counted.
import type { Access } from '../access/access.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { queryRows } from '../db/client.ts';
import { ValidationError } from '../errors.ts';
import { checkRunFilter, narrowingConditions, visibleRunFilterSql, type RunFilter } from '../runs/run-filter.ts';
import { TERMINAL_STATUSES } from '../runs/state-machine.ts';
import type { ServiceDeps } from './deps.ts';
import { deleteRunsInTx, deleteStoredFiles, retryOnDeadlock } from './delete-run.ts';

const BATCH = 200;

export interface DeleteRunsResult {
  /** Runs the filter matches. */
  matchedCount: number;
  /** Matching runs that are finished and the request may delete: deleted, or deletable on a dry run. */
  deletableCount: number;
  deletedCount: number;
  /** Matching runs left alone: still active, or not the request's to delete. */
  skippedCount: number;
  /** Matching runs the request may not delete (another member's, where it is below MAINTAINER), whatever their status. */
  notAllowedCount: number;
  dryRun: boolean;
}

export async function deleteRuns(
  deps: ServiceDeps,
  { access, filter, dryRun = false, reason = null }: { access: Access; filter: RunFilter; dryRun?: boolean | null; reason?: string | null },
): Promise<DeleteRunsResult> {
  const checked = checkRunFilter(filter);
  if (narrowingConditions(checked).length === 0) {
    throw ValidationError.field(
      ['filter'],
      'Give at least one filter condition that leaves runs out (an empty search or attributes object is none): this filter would delete every run',
    );
  }
  const { user } = access;
  // Where the request may delete anyone's runs, and where only its own.
  const anyRuns = access.workspaceIds.filter((workspaceId) => access.can('deleteAnyRun', workspaceId));
  const ownRuns = access.workspaceIds.filter((workspaceId) => access.can('deleteOwnRun', workspaceId));
  if (ownRuns.length === 0 && access.workspaceIds.length > 0) throw access.forbidden('deleteOwnRun', access.workspaceIds[0]);
  // Conditions on the run aliased `r`, as the lists read it, inside what the request sees.
  const matching = visibleRunFilterSql(access, checked);
  const allowed = Prisma.sql`(r."workspaceId" = ANY(${anyRuns}::uuid[])
    OR (r."createdById" = ${user.id}::uuid AND r."workspaceId" = ANY(${ownRuns}::uuid[])))`;
  const deletable = Prisma.sql`${matching} AND r.status = ANY(${TERMINAL_STATUSES}::"RunStatus"[]) AND ${allowed}`;
  const [{ matchedCount, deletableCount, notAllowedCount }] = await queryRows<{
    matchedCount: number;
    deletableCount: number;
    notAllowedCount: number;
  }>(
    deps.db,
    Prisma.sql`SELECT count(*)::int AS "matchedCount", (count(*) FILTER (WHERE ${deletable}))::int AS "deletableCount",
        (count(*) FILTER (WHERE NOT ${allowed}))::int AS "notAllowedCount"
      FROM "RoutineRun" r WHERE ${matching}`,
  );
  let deletedCount = 0;
  if (!dryRun) {
    for (;;) {
      const batch = await queryRows<{ id: string }>(
        deps.db,
        Prisma.sql`SELECT r.id FROM "RoutineRun" r WHERE ${deletable} ORDER BY r.id LIMIT ${BATCH}`,
      );
      if (batch.length === 0) break;
      const deleted = await retryOnDeadlock(() =>
        deps.db.$transaction(async (tx) => {
          // Lock the batch, keeping only the runs that still match once locked (PostgreSQL checks the
          // condition again on a row it waited for): a run changed meanwhile so that it no longer
          // matches (a label removed, another owner's) is not deleted. deleteRunsInTx then reads
          // what it deletes under these locks.
          const locked = await tx.$queryRaw<{ id: string }[]>`
            SELECT r.id FROM "RoutineRun" r WHERE r.id = ANY(${batch.map((run) => run.id)}::uuid[]) AND ${deletable}
            ORDER BY r.id FOR UPDATE`;
          if (locked.length === 0) return [];
          return deleteRunsInTx(tx, { where: { id: { in: locked.map((run) => run.id) } }, deletedById: user.id, reason });
        }),
      );
      await deleteStoredFiles(deps, deleted);
      deletedCount += deleted.length;
      if (batch.length < BATCH) break;
    }
  }
  return { matchedCount, deletableCount, deletedCount, skippedCount: matchedCount - deletableCount, notAllowedCount, dryRun: !!dryRun };
}
