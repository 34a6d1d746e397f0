// deleteInstance: refused while any of its runs has not ended; otherwise deletes the instance and
// its runs the way deleteRun does (events, logs, artifact rows, a tombstone per run for the audit
// trail) in one transaction, then the runs' stored files. A MAINTAINER of its workspace may.
// Its schedules go with it (the rows by the foreign key's cascade, then their Temporal Schedules).
import type { Access } from '../access/access.ts';
import { InstanceHasActiveRunsError } from '../errors.ts';
import { processLogger } from '../logger.ts';
import { deleteTemporalSchedule, temporalScheduleId } from '../schedules/temporal-schedules.ts';
import { ArtifactStore } from '../storage/artifact-store.ts';
import { deleteRunsInTx, deleteStoredFiles, retryOnDeadlock } from './delete-run.ts';
import type { ServiceDeps } from './deps.ts';
import { requireInstance } from './require-access.ts';

const ACTIVE = ['CREATED', 'QUEUED', 'RUNNING'] as const;

export async function deleteInstance(
  deps: ServiceDeps,
  { access, instanceId }: { access: Access; instanceId: string },
): Promise<{ deletedInstanceId: string; deletedRunCount: number }> {
  const deleted = await retryOnDeadlock(() =>
    deps.db.$transaction(async (tx) => {
      // The row lock makes a concurrent createRun on this instance wait for us (its foreign key
      // check needs a share lock on the row), so no run can slip in after the check below.
      const [locked] = await tx.$queryRaw<{ id: string; workspaceId: string }[]>`
        SELECT id, "workspaceId" FROM "RoutineInstance" WHERE id = ${instanceId}::uuid FOR UPDATE`;
      requireInstance(access, 'manageInstances', locked ?? null, instanceId);
      const active = await tx.routineRun.count({ where: { instanceId, status: { in: [...ACTIVE] } } });
      if (active > 0) throw new InstanceHasActiveRunsError(active);
      const runs = await deleteRunsInTx(tx, { where: { instanceId }, deletedById: access.user.id, reason: 'instance deleted' });
      const schedules = await tx.schedule.findMany({ where: { instanceId }, select: { id: true } });
      await tx.routineInstance.delete({ where: { id: instanceId } });
      return { runs, scheduleIds: schedules.map((schedule) => schedule.id) };
    }),
  );
  // After the commit: a Temporal Schedule left by a failure here fires into a missing row, which
  // makes no run (src/services/fire-schedule.ts), and is logged for the operator to delete.
  for (const scheduleId of deleted.scheduleIds) {
    const client = deps.schedules?.client;
    if (!client) break;
    await deleteTemporalSchedule(client, temporalScheduleId(scheduleId)).catch((error: unknown) =>
      processLogger()
        .child({ name: 'schedules' })
        .warn({ err: error, scheduleId }, 'could not delete the Temporal Schedule of a deleted instance'),
    );
  }
  // Files go after the commit: a failed delete leaves rows and files as they were, and files
  // left by a crash here are unreachable (their rows are gone) and safe to remove later.
  await deleteStoredFiles(deps, deleted.runs);
  await new ArtifactStore({ rootDir: deps.storageRoot }).deleteInternalVars({ instanceId });
  return { deletedInstanceId: instanceId, deletedRunCount: deleted.runs.length };
}
