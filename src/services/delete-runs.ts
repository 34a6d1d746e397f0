// deleteRuns: deleteRun in bulk for the finished runs matching a RunFilter (src/runs/run-filter.ts,
// the same filter as Query.runs). An empty filter is refused (it would mean "everything"); a
// dry run only counts. Active runs and, for non-admins, other users' runs are skipped and counted.
import type { User } from '../generated/prisma/client.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { ValidationError } from '../errors.ts';
import { checkRunFilter, runFilterWhere, type RunFilter } from '../runs/run-filter.ts';
import type { ServiceDeps } from './deps.ts';
import { deleteRunsInTx, deleteStoredFiles, retryOnDeadlock } from './delete-run.ts';

const BATCH = 200;

export interface DeleteRunsResult {
  /** Runs the filter matches. */
  matchedCount: number;
  /** Matching runs that are finished and yours (or you are an admin): deleted, or deletable on a dry run. */
  deletableCount: number;
  deletedCount: number;
  /** Matching runs left alone: still active, or another user's. */
  skippedCount: number;
  dryRun: boolean;
}

export async function deleteRuns(
  deps: ServiceDeps,
  { user, filter, dryRun = false, reason = null }: { user: User; filter: RunFilter; dryRun?: boolean | null; reason?: string | null },
): Promise<DeleteRunsResult> {
  const checked = checkRunFilter(filter);
  const given = Object.entries(checked).filter(([, value]) => value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0));
  if (given.length === 0) {
    throw ValidationError.field(['filter'], 'Give at least one filter condition: an empty filter would delete every run');
  }
  const matching = runFilterWhere(checked);
  const deletable: Prisma.RoutineRunWhereInput = {
    AND: [
      matching,
      { status: { in: ['COMPLETED', 'FAILED', 'CANCELLED'] } },
      ...(user.isAdmin ? [] : [{ createdById: user.id }]),
    ],
  };
  const [matchedCount, deletableCount] = await Promise.all([
    deps.db.routineRun.count({ where: matching }),
    deps.db.routineRun.count({ where: deletable }),
  ]);
  let deletedCount = 0;
  if (!dryRun) {
    for (;;) {
      const batch = await deps.db.routineRun.findMany({ where: deletable, select: { id: true }, take: BATCH, orderBy: { id: 'asc' } });
      if (batch.length === 0) break;
      const deleted = await retryOnDeadlock(() =>
        deps.db.$transaction((tx) =>
          deleteRunsInTx(tx, { where: { AND: [deletable, { id: { in: batch.map((run) => run.id) } }] }, deletedById: user.id, reason }),
        ),
      );
      await deleteStoredFiles(deps, deleted);
      deletedCount += deleted.length;
      if (batch.length < BATCH) break;
    }
  }
  return { matchedCount, deletableCount, deletedCount, skippedCount: matchedCount - deletableCount, dryRun: !!dryRun };
}
