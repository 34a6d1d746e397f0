// What the four run-metadata operations (add/remove labels, set/patch attributes) share: lock the
// run, ask access whether the request may change it (changeRunMetadata: OPERATOR of its workspace), compute the new value, validate it, and write it with its run
// event (LABELS_CHANGED / ATTRIBUTES_CHANGED) in one transaction. No change, no event.
import type { Prisma, RoutineRun } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import { NotFoundError } from '../errors.ts';
import { appendRunEventInTx } from '../runs/run-events.ts';
import type { ServiceDeps } from './deps.ts';
import { requireRun } from './require-access.ts';

export type RunMetadata = Pick<RoutineRun, 'labels' | 'createdById' | 'workspaceId'> & { attributes: Record<string, unknown> };

export interface MetadataChange {
  type: 'LABELS_CHANGED' | 'ATTRIBUTES_CHANGED';
  /** The run's new columns, or null when nothing changes. Throws ValidationError on bad input. */
  compute(current: RunMetadata): { set: Prisma.RoutineRunUpdateInput; detail: Prisma.InputJsonValue } | null;
}

export async function changeRunMetadata(
  { db }: ServiceDeps,
  { access, runId, change }: { access: Access; runId: string; change: MetadataChange },
): Promise<RoutineRun> {
  await db.$transaction(async (tx) => {
    const [current] = await tx.$queryRaw<RunMetadata[]>`
      SELECT labels, attributes, "createdById", "workspaceId" FROM "RoutineRun" WHERE id = ${runId}::uuid FOR UPDATE`;
    requireRun(access, 'changeRunMetadata', current ?? null, runId);
    const next = change.compute(current);
    if (!next) return;
    await appendRunEventInTx(tx, { runId, type: change.type, actorId: access.user.id, set: next.set, detail: next.detail });
  });
  const run = await db.routineRun.findUnique({ where: { id: runId } });
  // Deleted between the change and this read: the change went with it, as if the delete came first.
  if (!run) throw new NotFoundError('No run has this id', runId);
  return run;
}
