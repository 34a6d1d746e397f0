import type { RoutineRun } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import { RunNotCancellableError } from '../errors.ts';
import { appendRunEventInTx } from '../runs/run-events.ts';
import { transitionRun } from '../runs/state-machine.ts';
import type { ServiceDeps } from './deps.ts';
import { abortInMemoryRun } from './execute-in-memory.ts';
import { requireRun } from './require-access.ts';

/**
 * CREATED and QUEUED runs are cancelled at once: their method never executes (a worker that
 * picks the run up finds it CANCELLED under the row lock and does nothing), and the workflow of
 * a queued run is told to stop. A RUNNING run gets a visible pending cancel (`cancelRequestedAt`,
 * a CANCEL_REQUESTED event); its workflow's activity stops the method (cooperatively, then by
 * force after the grace period) and records CANCELLED with who asked and why. Cancelling a
 * CANCELLED run returns it unchanged; COMPLETED and FAILED runs are not cancellable. Any OPERATOR of
 * the run's workspace may cancel it, whoever started it: stopping a runaway run must not wait for its creator.
 */
export async function cancelRun(
  deps: ServiceDeps,
  { access, runId, reason }: { access: Access; runId: string; reason?: string | null },
): Promise<RoutineRun> {
  const { db } = deps;
  const { user } = access;
  const run = requireRun(access, 'cancelRun', await db.routineRun.findUnique({ where: { id: runId } }), runId);
  if (run.status === 'CANCELLED') return run;
  if (run.status === 'COMPLETED' || run.status === 'FAILED') throw new RunNotCancellableError(run.status);

  const cancelReason = reason ?? `cancelled by ${user.name}`;
  const pending = { cancelRequestedAt: new Date(), cancelReason, cancelRequestedBy: { connect: { id: user.id } } };
  if (run.status === 'CREATED' || run.status === 'QUEUED') {
    const result = await transitionRun(db, { runId, to: 'CANCELLED', actorId: user.id, reason: cancelReason, set: pending });
    if (!result.changed) return cancelRun(deps, { access, runId, reason }); // it moved on meanwhile
    if (run.workflowId) await tellWorkflow(deps, runId);
    return db.routineRun.findUniqueOrThrow({ where: { id: runId } });
  }

  // RUNNING
  if (!run.cancelRequestedAt) {
    const requested = await db.$transaction((tx) =>
      appendRunEventInTx(tx, {
        runId,
        type: 'CANCEL_REQUESTED',
        onlyIfStatus: ['RUNNING'],
        actorId: user.id,
        detail: { reason: cancelReason },
        set: pending,
      }),
    );
    if (!requested) return cancelRun(deps, { access, runId, reason });
  }
  if (run.executionType === 'IN_MEMORY') {
    // Executing here: stop it now. Executing in another API process: that process hears the
    // CANCEL_REQUESTED notice on the event bus and stops it (src/services/execute-in-memory.ts).
    abortInMemoryRun(runId);
  } else if ((await tellWorkflow(deps, runId)) === 'missing') {
    // Nothing executes the run any more: no workflow will ever report back, so settle it here.
    await transitionRun(db, { runId, to: 'CANCELLED', actorId: user.id, reason: cancelReason });
  }
  return db.routineRun.findUniqueOrThrow({ where: { id: runId } });
}

/**
 * Asks the run's workflow to cancel. When Temporal cannot be reached the cancel stays pending
 * (cancelRequestedAt) and the reconciler sends it again.
 */
async function tellWorkflow(deps: ServiceDeps, runId: string): Promise<'told' | 'missing' | 'unreachable'> {
  if (!deps.launcher) return 'unreachable';
  try {
    return (await deps.launcher.cancel(runId)) ? 'told' : 'missing';
  } catch {
    return 'unreachable';
  }
}
