// pauseSchedule: pauses or unpauses both the row and the Temporal Schedule. The row is updated in
// a transaction that commits only once Temporal has done the same, so the two never disagree.
import type { Schedule } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import { NotFoundError } from '../errors.ts';
import { setTemporalSchedulePaused } from '../schedules/temporal-schedules.ts';
import type { ServiceDeps } from './deps.ts';

export async function pauseSchedule(
  deps: ServiceDeps,
  { access, scheduleId, paused }: { access: Access; scheduleId: string; paused: boolean },
): Promise<Schedule> {
  const schedules = deps.schedules;
  if (!schedules) throw new Error('Schedules need Temporal: this process has no schedule client');
  return deps.db.$transaction(
    async (tx) => {
      const [locked] = await tx.$queryRaw<{ id: string; workspaceId: string }[]>`
        SELECT id, "workspaceId" FROM "Schedule" WHERE id = ${scheduleId}::uuid FOR UPDATE`;
      requireSchedule(access, locked ?? null, scheduleId);
      const row = await tx.schedule.update({ where: { id: scheduleId }, data: { paused } });
      await setTemporalSchedulePaused(schedules.client, scheduleId, paused);
      return row;
    },
    { timeout: 30_000 },
  );
}

/** The schedule, when the request can see it and may manage schedules there. */
export function requireSchedule<T extends { workspaceId: string }>(access: Access, schedule: T | null, scheduleId: string): T {
  if (!schedule || !access.canSee(schedule)) throw new NotFoundError('No schedule has this id', scheduleId);
  access.require('manageSchedules', schedule);
  return schedule;
}
