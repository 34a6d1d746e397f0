// Appends to a run's event log. Every change a user can see on a run is an event with the
// next per-run sequence number, written in the same transaction as the change itself and
// announced on the event bus only when that transaction commits.
import { publishInTransaction } from '../events/bus.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import type { RunEventType, RunStatus } from '../generated/prisma/enums.ts';

export type Tx = Prisma.TransactionClient;

export interface AppendRunEvent {
  runId: string;
  type: RunEventType;
  /** Columns of the run changed together with the event. */
  set?: Prisma.RoutineRunUpdateInput;
  /** Append only while the run is in one of these statuses; otherwise nothing is written. */
  onlyIfStatus?: RunStatus[];
  actorId?: string | null;
  detail?: Prisma.InputJsonValue;
  fromStatus?: RunStatus;
  toStatus?: RunStatus;
  progress?: { percent: number; message: string | null };
  /** LOG events: the RunLog entry announced. */
  logId?: bigint;
  at?: Date;
}

/** Returns the event's sequence, or null when `onlyIfStatus` did not match. */
export async function appendRunEventInTx(tx: Tx, event: AppendRunEvent): Promise<{ sequence: number; status: RunStatus } | null> {
  const at = event.at ?? new Date();
  const statuses = event.onlyIfStatus ?? null;
  // One statement takes the row lock, checks the status and numbers the event.
  const [bumped] = await tx.$queryRaw<{ lastSequence: number; status: RunStatus }[]>`
    UPDATE "RoutineRun" SET "lastSequence" = "lastSequence" + 1, "updatedAt" = ${at}
    WHERE id = ${event.runId}::uuid
      AND (${statuses}::text[] IS NULL OR status::text = ANY(${statuses}::text[]))
    RETURNING "lastSequence", status`;
  if (!bumped) return null;
  const sequence = bumped.lastSequence;
  if (event.set || event.progress) {
    await tx.routineRun.update({
      where: { id: event.runId },
      data: {
        ...event.set,
        ...(event.progress
          ? {
              progressPercent: event.progress.percent,
              progressMessage: event.progress.message,
              progressAt: at,
              progressSequence: sequence,
            }
          : {}),
      },
    });
  }
  await tx.runEvent.create({
    data: {
      runId: event.runId,
      sequence,
      at,
      type: event.type,
      fromStatus: event.fromStatus,
      toStatus: event.toStatus,
      progressPercent: event.progress?.percent,
      progressMessage: event.progress?.message,
      actorId: event.actorId ?? null,
      detail: event.detail,
      logId: event.logId,
    },
  });
  const status = event.toStatus ?? bumped.status;
  await publishInTransaction(tx, { runId: event.runId, sequence, status });
  return { sequence, status };
}
