// deleteSchedule: deletes the Temporal Schedule and the row (the runs it fired stay, their
// scheduleId set to null). The row goes in a transaction that commits only once Temporal's
// schedule is gone; a Temporal Schedule already missing counts as deleted.
import type { Access } from '../access/access.ts';
import { deleteTemporalSchedule, temporalScheduleId } from '../schedules/temporal-schedules.ts';
import type { ServiceDeps } from './deps.ts';
import { requireSchedule } from './pause-schedule.ts';

export async function deleteSchedule(
  deps: ServiceDeps,
  { access, scheduleId }: { access: Access; scheduleId: string },
): Promise<{ deletedScheduleId: string }> {
  const schedules = deps.schedules;
  if (!schedules) throw new Error('Schedules need Temporal: this process has no schedule client');
  await deps.db.$transaction(
    async (tx) => {
      const [locked] = await tx.$queryRaw<{ id: string; workspaceId: string }[]>`
        SELECT id, "workspaceId" FROM "Schedule" WHERE id = ${scheduleId}::uuid FOR UPDATE`;
      requireSchedule(access, locked ?? null, scheduleId);
      await tx.schedule.delete({ where: { id: scheduleId } });
      await deleteTemporalSchedule(schedules.client, temporalScheduleId(scheduleId));
    },
    { timeout: 30_000 },
  );
  return { deletedScheduleId: scheduleId };
}
