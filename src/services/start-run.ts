import type { RoutineRun, User } from '../generated/prisma/client.ts';
import { NotFoundError, RunNotStartableError } from '../errors.ts';
import { transitionRun } from '../runs/state-machine.ts';
import type { ServiceDeps } from './deps.ts';
import { assertMayChangeRun } from './permissions.ts';
import { executeInMemory } from './execute-in-memory.ts';

/** CREATED → QUEUED, then hands the run to Temporal (or runs it at once, in memory). */
export async function startRun(deps: ServiceDeps, { user, runId }: { user: User; runId: string }): Promise<RoutineRun> {
  const run = await deps.db.routineRun.findUnique({ where: { id: runId } });
  if (!run) throw new NotFoundError('No run has this id', runId);
  assertMayChangeRun(user, run);
  const result = await transitionRun(deps.db, { runId, to: 'QUEUED', actorId: user.id });
  if (!result.changed) throw new RunNotStartableError(result.status);
  if (run.executionType === 'IN_MEMORY') await executeInMemory(deps, { runId });
  else await deps.launcher?.launch(runId);
  return deps.db.routineRun.findUniqueOrThrow({ where: { id: runId } });
}
