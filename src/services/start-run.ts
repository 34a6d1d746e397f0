import type { Prisma, RoutineRun } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import { NotFoundError, RunNotStartableError, ValidationError } from '../errors.ts';
import { transitionRunInTx } from '../runs/state-machine.ts';
import type { ServiceDeps } from './deps.ts';
import { requireRun, runAction } from './require-access.ts';
import { parseMethodInputs } from './method-inputs.ts';
import { executeInMemory, holdInMemoryCapacity } from './execute-in-memory.ts';

/**
 * CREATED → QUEUED, then hands the run to Temporal (src/runs/launcher.ts) or runs it at once, in
 * memory. Starting a run is running its method: the role its kind needs, whoever created the draft.
 */
export async function startRun(deps: ServiceDeps, { access, runId }: { access: Access; runId: string }): Promise<RoutineRun> {
  const { user } = access;
  const run = await deps.db.routineRun.findUnique({ where: { id: runId }, include: { routine: { select: { name: true } } } });
  if (!run) throw new NotFoundError('No run has this id', runId);
  requireRun(access, runAction(run.methodKind), run, runId);
  // An in-memory run takes its capacity (or is refused) before it is started.
  const hold =
    run.executionType === 'IN_MEMORY' && run.status === 'CREATED'
      ? holdInMemoryCapacity(deps, {
          userId: user.id,
          routineName: run.routine.name,
          methodName: run.methodName,
          memoryMb: run.memoryMb,
          timeoutMs: run.timeoutMs ?? Infinity,
          memoryOverridden: run.memoryOverrideMb != null,
        })
      : null;
  let result: Awaited<ReturnType<typeof transitionRunInTx>>;
  try {
    result = await deps.db.$transaction(async (tx) => {
      // A guided (WORKFLOW) draft was checked one parameter at a time: validate the whole signature
      // now (missing parameters, defaults), under the row lock, and refuse an incomplete draft.
      await tx.$queryRaw`SELECT id FROM "RoutineRun" WHERE id = ${runId}::uuid FOR UPDATE`;
      const locked = await tx.routineRun.findUniqueOrThrow({ where: { id: runId }, include: { routine: { select: { name: true } } } });
      if (locked.status === 'CREATED' && locked.invocationMethod === 'WORKFLOW') {
        const method = deps.registry.method(locked.routine.name, locked.methodName);
        if (!method) throw ValidationError.field(['methodName'], `Routine "${locked.routine.name}" has no method "${locked.methodName}"`);
        const inputs = parseMethodInputs(method, locked.inputs);
        await tx.routineRun.update({ where: { id: runId }, data: { inputs: inputs as Prisma.InputJsonValue } });
      }
      return transitionRunInTx(tx, { runId, to: 'QUEUED', actorId: user.id });
    });
  } catch (error) {
    hold?.release();
    throw error;
  }
  if (!result.changed) {
    hold?.release();
    throw new RunNotStartableError(result.status);
  }
  if (hold) await executeInMemory(deps, { runId, hold });
  const answer = await deps.db.routineRun.findUniqueOrThrow({ where: { id: runId } });
  // Committed QUEUED: the workflow starts off the request path.
  if (run.executionType === 'BACKGROUND') deps.launcher?.launchSoon(runId);
  return answer;
}
