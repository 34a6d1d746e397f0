// What the four run-metadata operations (add/remove labels, set/patch attributes) share: lock the
// run, check who may change it, compute the new value, validate it, and write it with its run
// event (LABELS_CHANGED / ATTRIBUTES_CHANGED) in one transaction. No change, no event.
import type { Prisma, RoutineRun, User } from '../generated/prisma/client.ts';
import { NotFoundError } from '../errors.ts';
import { appendRunEventInTx } from '../runs/run-events.ts';
import type { ServiceDeps } from './deps.ts';
import { assertMayChangeRun } from './permissions.ts';

export type RunMetadata = Pick<RoutineRun, 'labels' | 'createdById'> & { attributes: Record<string, unknown> };

export interface MetadataChange {
  type: 'LABELS_CHANGED' | 'ATTRIBUTES_CHANGED';
  /** The run's new columns, or null when nothing changes. Throws ValidationError on bad input. */
  compute(current: RunMetadata): { set: Prisma.RoutineRunUpdateInput; detail: Prisma.InputJsonValue } | null;
}

export async function changeRunMetadata(
  { db }: ServiceDeps,
  { user, runId, change }: { user: User; runId: string; change: MetadataChange },
): Promise<RoutineRun> {
  await db.$transaction(async (tx) => {
    const [current] = await tx.$queryRaw<RunMetadata[]>`
      SELECT labels, attributes, "createdById" FROM "RoutineRun" WHERE id = ${runId}::uuid FOR UPDATE`;
    if (!current) throw new NotFoundError('No run has this id', runId);
    assertMayChangeRun(user, current);
    const next = change.compute(current);
    if (!next) return;
    await appendRunEventInTx(tx, { runId, type: change.type, actorId: user.id, set: next.set, detail: next.detail });
  });
  return db.routineRun.findUniqueOrThrow({ where: { id: runId } });
}
