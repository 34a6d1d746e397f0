// Appends to a run's event log. Every change a user can see on a run is an event with the
// next per-run sequence number, written in the same transaction as the change itself and
// announced on the event bus only when that transaction commits.
import { noticesDeferred, publishInTransaction, RUN_EVENTS_CHANNEL } from '../events/bus.ts';
import { queryRows, type Db } from '../db/client.ts';
import { Prisma } from '../generated/prisma/client.ts';
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

/** A RunLog entry written with its LOG event (see AppendRunEvent.log). */
export interface NewRunLog {
  attempt: number;
  level: string;
  lines: number;
  message: string;
  at: Date;
}

/**
 * Returns the event's sequence, or null when `onlyIfStatus` did not match.
 *
 * One statement numbers the event under the row lock (checking the status), writes the progress
 * columns, inserts the event (and the RunLog entry it announces) and queues the notice; only
 * `set` costs a second one. Every run's progress, log lines and artifacts go through here, a few
 * times per run, so round trips and Prisma's per-statement work are what a run's throughput pays
 * (issue 17). Being one statement, it is atomic on its own: callers with nothing else to write may
 * pass the client itself instead of a transaction.
 */
export async function appendRunEventInTx(
  tx: Tx,
  event: AppendRunEvent & { log?: NewRunLog },
): Promise<{ sequence: number; status: RunStatus } | null> {
  return append(tx, event, (statement) => tx.$queryRaw<Bumped[]>(statement));
}

/**
 * appendRunEventInTx for an event written on its own (progress, a log entry), outside any
 * transaction: its one statement goes straight to the client's pg pool, without Prisma's
 * per-statement work (most of what the executing worker spent per run, issue 17).
 */
export async function appendRunEvent(
  db: Db,
  event: Omit<AppendRunEvent, 'set'> & { log?: NewRunLog },
): Promise<{ sequence: number; status: RunStatus } | null> {
  return append(db, event, (statement) => queryRows<Bumped>(db, statement));
}

type Bumped = { lastSequence: number; status: RunStatus };

async function append(
  tx: Tx,
  event: AppendRunEvent & { log?: NewRunLog },
  query: (statement: Prisma.Sql) => Promise<Bumped[]>,
): Promise<{ sequence: number; status: RunStatus } | null> {
  const at = event.at ?? new Date();
  const statuses = event.onlyIfStatus ?? null;
  const progress = event.progress ?? null;
  // With PostgreSQL as the transport the notice rides on the statement (delivered at commit);
  // a deferred transport (Redis) is handed it after the statement, as publishInTransaction would.
  const notifyHere = !noticesDeferred(tx);
  const detail =
    event.detail === undefined
      ? null
      : JSON.stringify(event.detail, (_key, value) => (typeof value === 'bigint' ? value.toString() : value));
  const logRow = event.log ?? null;
  const [bumped] = await query(Prisma.sql`
    WITH bumped AS (
      UPDATE "RoutineRun" SET "lastSequence" = "lastSequence" + 1, "updatedAt" = ${at},
        "progressPercent" = CASE WHEN ${progress !== null} THEN ${progress?.percent ?? null}::float8 ELSE "progressPercent" END,
        "progressMessage" = CASE WHEN ${progress !== null} THEN ${progress?.message ?? null}::text ELSE "progressMessage" END,
        "progressAt" = CASE WHEN ${progress !== null} THEN ${at}::timestamp(3) ELSE "progressAt" END,
        "progressSequence" = CASE WHEN ${progress !== null} THEN "lastSequence" + 1 ELSE "progressSequence" END
      WHERE id = ${event.runId}::uuid
        AND (${statuses}::text[] IS NULL OR status::text = ANY(${statuses}::text[]))
      RETURNING "lastSequence", status
    ), log AS (
      INSERT INTO "RunLog" ("runId", attempt, level, lines, message, at)
      SELECT ${event.runId}::uuid, ${logRow?.attempt ?? null}::int, ${logRow?.level ?? null}::text, ${logRow?.lines ?? null}::int,
        ${logRow?.message ?? null}::text, ${logRow?.at ?? null}::timestamp(3)
      FROM bumped WHERE ${logRow !== null}
      RETURNING id
    ), inserted AS (
      INSERT INTO "RunEvent" ("runId", sequence, at, type, "fromStatus", "toStatus", "progressPercent", "progressMessage", "actorId", detail, "logId")
      SELECT ${event.runId}::uuid, bumped."lastSequence", ${at}::timestamp(3), ${event.type}::"RunEventType",
        ${event.fromStatus ?? null}::"RunStatus", ${event.toStatus ?? null}::"RunStatus",
        ${progress?.percent ?? null}::float8, ${progress?.message ?? null}::text, ${event.actorId ?? null}::uuid, ${detail}::jsonb,
        COALESCE((SELECT id FROM log), ${event.logId ?? null}::bigint)
      FROM bumped
    )
    SELECT "lastSequence", status,
      (CASE WHEN ${notifyHere} THEN pg_notify(${RUN_EVENTS_CHANNEL},
        format('{"runId":"%s","sequence":%s,"status":"%s"}', ${event.runId}::text, "lastSequence", COALESCE(${event.toStatus ?? null}::text, status::text))) END) IS NULL AS "notSent"
    FROM bumped`);
  if (!bumped) return null;
  const sequence = bumped.lastSequence;
  if (event.set) await tx.routineRun.update({ where: { id: event.runId }, data: event.set });
  const status = event.toStatus ?? bumped.status;
  if (!notifyHere) await publishInTransaction(tx, { runId: event.runId, sequence, status });
  return { sequence, status };
}
