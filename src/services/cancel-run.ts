import type { RoutineRun, User } from '../generated/prisma/client.ts';
import { NotFoundError, RunNotCancellableError } from '../errors.ts';
import { appendRunEventInTx } from '../runs/run-events.ts';
import { transitionRun } from '../runs/state-machine.ts';
import type { ServiceDeps } from './deps.ts';
import { assertMayChangeRun } from './permissions.ts';

/**
 * A CREATED run (or one whose workflow never started) is cancelled at once. A QUEUED or
 * RUNNING run gets a visible pending cancel (`cancelRequestedAt`), and its workflow stops the
 * method and records CANCELLED. Cancelling a CANCELLED run returns it unchanged.
 */
export async function cancelRun(
  deps: ServiceDeps,
  { user, runId, reason }: { user: User; runId: string; reason?: string | null },
): Promise<RoutineRun> {
  const { db } = deps;
  const run = await db.routineRun.findUnique({ where: { id: runId } });
  if (!run) throw new NotFoundError('No run has this id', runId);
  assertMayChangeRun(user, run);
  if (run.status === 'CANCELLED') return run;
  if (run.status === 'COMPLETED' || run.status === 'FAILED') throw new RunNotCancellableError(run.status);

  const cancelReason = reason ?? `cancelled by ${user.name}`;
  if (run.status === 'CREATED') {
    const result = await transitionRun(db, {
      runId,
      to: 'CANCELLED',
      actorId: user.id,
      reason: cancelReason,
      set: { cancelRequestedAt: new Date(), cancelReason, cancelRequestedBy: { connect: { id: user.id } } },
    });
    if (!result.changed) return cancelRun(deps, { user, runId, reason }); // it moved on meanwhile
  } else if (!run.cancelRequestedAt) {
    const requested = await db.$transaction((tx) =>
      appendRunEventInTx(tx, {
        runId,
        type: 'CANCEL_REQUESTED',
        onlyIfStatus: ['QUEUED', 'RUNNING'],
        actorId: user.id,
        detail: { reason: cancelReason },
        set: { cancelRequestedAt: new Date(), cancelReason, cancelRequestedBy: { connect: { id: user.id } } },
      }),
    );
    if (!requested) return cancelRun(deps, { user, runId, reason });
  }
  const reachedWorkflow = run.workflowId ? await deps.launcher?.cancel(runId) : false;
  if (!reachedWorkflow && run.status === 'QUEUED') {
    // No workflow will ever report back: settle it here.
    await transitionRun(db, { runId, to: 'CANCELLED', actorId: user.id, reason: cancelReason });
  }
  return db.routineRun.findUniqueOrThrow({ where: { id: runId } });
}
