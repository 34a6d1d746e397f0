// A schedule's fire (workflows/schedule.workflow.ts → workflows/activities/schedule.ts): the run is
// created through createRun itself — validation, admission, labels, priority — as the schedule's
// creator, with that user's access now (a creator who has lost the right to run the method gets
// the refusal createRun gives, and no run). Idempotent per fire: the key is the fire's workflow id.
import { accessOfUser } from '../access/access.ts';
import { runInputs } from '../db/json-columns.ts';
import { ForbiddenError, IdempotencyKeyReusedError, InstanceNotConstructedError, NotFoundError, ValidationError } from '../errors.ts';
import { createRun } from './create-run.ts';
import type { ServiceDeps } from './deps.ts';

/** The label every run of a schedule carries: `schedule:{name}` (names are valid label text, see create-schedule.ts). */
export function scheduleLabel(scheduleName: string): string {
  return `schedule:${scheduleName}`;
}

/** What createRun answers a fire that no retry can change: the fire makes no run and the schedule records why. */
export const FIRE_REFUSALS = [ValidationError, NotFoundError, ForbiddenError, InstanceNotConstructedError, IdempotencyKeyReusedError];

/** The run this fire made, or null when the schedule has been deleted meanwhile (nothing to do). */
export async function fireSchedule(
  deps: ServiceDeps,
  { scheduleId, fireId }: { scheduleId: string; fireId: string },
): Promise<string | null> {
  const schedule = await deps.db.schedule.findUnique({ where: { id: scheduleId }, include: { createdBy: true } });
  if (!schedule) return null;
  const access = await accessOfUser(deps.db, schedule.createdBy);
  let runId: string;
  try {
    const { run } = await createRun(deps, {
      access,
      input: {
        instanceId: schedule.instanceId,
        methodName: schedule.methodName,
        inputs: runInputs.parse(schedule.inputs),
        labels: [...schedule.labels, scheduleLabel(schedule.name)],
        memoryOverrideMb: schedule.memoryOverrideMb,
        priority: schedule.priority,
        idempotencyKey: `schedule:${fireId}`,
        scheduleId: schedule.id,
      },
    });
    runId = run.id;
  } catch (error) {
    // A refused fire makes no run: the schedule says so (lastFireError, failedFireCount), or only
    // the worker's log would. updateMany: the schedule may have been deleted meanwhile.
    if (FIRE_REFUSALS.some((refusal) => error instanceof refusal)) {
      await deps.db.schedule.updateMany({
        where: { id: scheduleId },
        data: { lastFiredAt: new Date(), lastFireError: (error as Error).message, failedFireCount: { increment: 1 } },
      });
    }
    throw error;
  }
  await deps.db.schedule.updateMany({ where: { id: scheduleId }, data: { lastFiredAt: new Date(), lastFireError: null } });
  return runId;
}

/** Whether the run has ended (or is gone: deleted runs end a fire's wait too). */
export async function scheduledRunEnded(deps: Pick<ServiceDeps, 'db'>, runId: string): Promise<boolean> {
  const run = await deps.db.routineRun.findUnique({ where: { id: runId }, select: { status: true } });
  return !run || run.status === 'COMPLETED' || run.status === 'FAILED' || run.status === 'CANCELLED';
}
