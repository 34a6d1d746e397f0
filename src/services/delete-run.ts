// deleteRun: removes a finished run with its events, logs, artifact rows and stored files, and
// leaves a tombstone (who deleted what, when) for the audit trail. Runs it was the parent of
// keep working with parentRun null (the foreign key is ON DELETE SET NULL).
import type { Access } from '../access/access.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { NotFoundError, RunNotFinishedError } from '../errors.ts';
import type { Tx } from '../runs/run-events.ts';
import { retryOnDeadlock } from '../runs/deadlock.ts';
import { isTerminal } from '../runs/state-machine.ts';
import { ArtifactStore } from '../storage/artifact-store.ts';
import type { ServiceDeps } from './deps.ts';
import { requireRun } from './require-access.ts';

export async function deleteRun(
  deps: ServiceDeps,
  { access, runId, reason }: { access: Access; runId: string; reason?: string | null },
): Promise<{ deletedRunId: string }> {
  const { user } = access;
  const found = await deps.db.routineRun.findUnique({ where: { id: runId } });
  // An OPERATOR deletes the runs it created; deleting another member's work takes a MAINTAINER.
  const run = requireRun(access, found?.createdById === user.id ? 'deleteOwnRun' : 'deleteAnyRun', found, runId);
  if (!isTerminal(run.status)) throw new RunNotFinishedError(run.status, 'deleted');
  const deleted = await retryOnDeadlock(() =>
    deps.db.$transaction((tx) => deleteRunsInTx(tx, { where: { id: runId }, deletedById: user.id, reason: reason ?? null })),
  );
  if (deleted.length === 0) throw new NotFoundError('No run has this id', runId); // deleted meanwhile
  await deleteStoredFiles(deps, deleted);
  return { deletedRunId: runId };
}

export interface DeletedRun {
  id: string;
  instanceId: string;
}

/**
 * Deletes the finished runs matching `where` (re-checked under lock) and writes their tombstones
 * in the same transaction. Returns what was deleted, for the storage clean-up after commit.
 */
export async function deleteRunsInTx(
  tx: Tx,
  { where, deletedById, reason }: { where: Prisma.RoutineRunWhereInput; deletedById: string; reason: string | null },
): Promise<DeletedRun[]> {
  const finished: Prisma.RoutineRunWhereInput = { AND: [where, { status: { in: ['COMPLETED', 'FAILED', 'CANCELLED'] } }] };
  const candidates = await tx.routineRun.findMany({ where: finished, select: { id: true } });
  if (candidates.length === 0) return [];
  // Lock first, then read what to delete: a concurrent delete of the same runs that commits while
  // we wait has removed them, and FOR UPDATE then skips them, so they are not ours to delete
  // (no second tombstone, no failed count: the caller sees them as gone).
  const locked = await tx.$queryRaw<{ id: string }[]>`
    SELECT id FROM "RoutineRun" WHERE id = ANY(${candidates.map((run) => run.id)}::uuid[]) FOR UPDATE`;
  if (locked.length === 0) return [];
  const runs = await tx.routineRun.findMany({
    where: { AND: [finished, { id: { in: locked.map((row) => row.id) } }] },
    select: {
      id: true,
      instanceId: true,
      methodName: true,
      name: true,
      status: true,
      createdById: true,
      createdAt: true,
      routine: { select: { name: true } },
    },
  });
  if (runs.length === 0) return [];
  const ids = runs.map((run) => run.id);
  await tx.runTombstone.createMany({
    data: runs.map((run) => ({
      runId: run.id,
      instanceId: run.instanceId,
      routineName: run.routine.name,
      methodName: run.methodName,
      name: run.name,
      status: run.status,
      createdById: run.createdById,
      createdAt: run.createdAt,
      deletedById,
      reason,
    })),
  });
  const { count } = await tx.routineRun.deleteMany({ where: { id: { in: ids } } });
  if (count !== ids.length) throw new Error('Runs changed while they were being deleted; try again');
  return runs.map((run) => ({ id: run.id, instanceId: run.instanceId }));
}

export async function deleteStoredFiles(deps: ServiceDeps, runs: DeletedRun[]): Promise<void> {
  const store = new ArtifactStore({ rootDir: deps.storageRoot });
  for (const run of runs) await store.deleteRun({ instanceId: run.instanceId, runId: run.id });
}

export { retryOnDeadlock };
