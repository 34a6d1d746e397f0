// The run state machine: the only code that changes a run's status.
//
//   CREATED → QUEUED → RUNNING → COMPLETED | FAILED | CANCELLED,   CREATED | QUEUED → CANCELLED,
//   QUEUED → FAILED
//
// QUEUED → FAILED is for a run whose execution was ended from outside before its method began: a
// workflow terminated outside the service (Temporal UI/CLI) makes its run FAILED with error type
// TERMINATED, and that holds for a run still waiting in the queue too. Going through RUNNING
// instead would record a start (startedAt, a RUNNING event) that never happened, and RUNNING
// means "a worker began the method". The rules and the diagram: docs/run-lifecycle.md#statuses.
//
// A transition locks the run row, checks the current status against this table and writes the
// new status with its STATUS_CHANGED event in one transaction, so concurrent writers (a cancel
// racing a completion) can never move a run out of a terminal state.
import { afterCommit, type Db } from '../db/client.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { RunStatus } from '../generated/prisma/enums.ts';
import { NotFoundError } from '../errors.ts';
import { publishInTransaction } from '../events/bus.ts';
import { recordRunTransition } from '../observability/metrics.ts';
import { appendRunEventInTx, type Tx } from './run-events.ts';

export const TRANSITIONS: Record<RunStatus, readonly RunStatus[]> = {
  CREATED: [RunStatus.QUEUED, RunStatus.CANCELLED],
  QUEUED: [RunStatus.RUNNING, RunStatus.CANCELLED, RunStatus.FAILED],
  RUNNING: [RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED],
  COMPLETED: [],
  FAILED: [],
  CANCELLED: [],
};

export const TERMINAL_STATUSES: readonly RunStatus[] = [RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED];
export const ACTIVE_STATUSES: readonly RunStatus[] = [RunStatus.CREATED, RunStatus.QUEUED, RunStatus.RUNNING];

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export interface TransitionRequest {
  runId: string;
  to: RunStatus;
  /** The user who caused it; null for the system (workers, reconciliation). */
  actorId?: string | null;
  reason?: string;
  detail?: Record<string, unknown>;
  /** Columns written together with the transition (outputs, error, attempt, resources…). */
  set?: Prisma.RoutineRunUpdateInput;
}

export type TransitionResult = { changed: true; from: RunStatus; to: RunStatus; sequence: number } | { changed: false; status: RunStatus };

export async function transitionRun(db: Db, request: TransitionRequest): Promise<TransitionResult> {
  return db.$transaction((tx) => transitionRunInTx(tx, request));
}

/** What a transition reads of its run; a caller that just read it passes it (see transitionRunInTx). */
export interface TransitionSubject {
  status: RunStatus;
  startedAt: Date | null;
  queuedAt: Date | null;
  methodName: string;
  routineName: string;
}

/**
 * `known`: the run as the caller read it moments ago (the executing worker). The transition then
 * skips its locking read: the status write is conditional on `known.status` and takes the row lock
 * itself, so it changes nothing if the run moved meanwhile (a cancel), and the transition is
 * then made the usual way, from the run as it is now. A stale `known` costs a statement, never
 * a wrong transition.
 */
export async function transitionRunInTx(
  tx: Tx,
  request: TransitionRequest,
  known?: TransitionSubject,
): Promise<TransitionResult & { at?: Date }> {
  const { runId, to } = request;
  if (known && TRANSITIONS[known.status].includes(to)) {
    const result = await transitionFrom(tx, request, known);
    if (result) return result;
  }
  const current = await lockForTransition(tx, runId);
  if (!current) throw new NotFoundError(`Run ${runId} does not exist`, runId);
  if (!TRANSITIONS[current.status].includes(to)) return { changed: false, status: current.status };
  return (await transitionFrom(tx, request, current)) ?? { changed: false, status: current.status };
}

/** The transition from `current`; null when the run is no longer in `current.status`. */
async function transitionFrom(
  tx: Tx,
  request: TransitionRequest,
  current: TransitionSubject,
): Promise<(TransitionResult & { changed: true; at: Date }) | null> {
  const { runId, to } = request;
  const at = new Date();
  const timestamps: Prisma.RoutineRunUpdateInput = {};
  if (to === RunStatus.QUEUED) timestamps.queuedAt = at;
  if (to === RunStatus.RUNNING) timestamps.startedAt = at;
  if (isTerminal(to)) {
    timestamps.finishedAt = at;
    timestamps.durationMs = current.startedAt ? at.getTime() - current.startedAt.getTime() : null;
  }
  const appended = await appendRunEventInTx(tx, {
    runId,
    type: 'STATUS_CHANGED',
    // The status write is conditional on the status read, so even a writer that bypassed
    // the row lock could not move the run out of a state it has already left.
    onlyIfStatus: [current.status],
    at,
    fromStatus: current.status,
    toStatus: to,
    actorId: request.actorId ?? null,
    set: { ...request.set, ...timestamps, status: to },
    detail: { ...(request.reason ? { reason: request.reason } : {}), ...request.detail } as Prisma.InputJsonValue,
  });
  if (!appended) return null;
  // Counted at the commit: a transaction that rolls back changed nothing.
  const queuedAt = to === RunStatus.QUEUED ? at : current.queuedAt;
  const startedAt = to === RunStatus.RUNNING ? at : current.startedAt;
  afterCommit(tx, () => recordRunTransition({ routine: current.routineName, method: current.methodName, to, queuedAt, startedAt, at }));
  return { changed: true, from: current.status, to, sequence: appended.sequence, at };
}

async function lockForTransition(tx: Tx, runId: string): Promise<TransitionSubject | undefined> {
  const [current] = await tx.$queryRaw<TransitionSubject[]>`
    SELECT run.status, run."startedAt", run."queuedAt", run."methodName", routine.name AS "routineName"
    FROM "RoutineRun" run JOIN "Routine" routine ON routine.id = run."routineId"
    WHERE run.id = ${runId}::uuid FOR UPDATE OF run`;
  return current;
}

/**
 * Writes a new run in its first status with the events that got it there, in three statements:
 * the row, its STATUS_CHANGED events (→ CREATED, and CREATED → QUEUED when `start`), and one
 * notice for the latest. It is what `appendRunEventInTx` + `transitionRunInTx` would write for a
 * row nobody else can see yet (no lock or conditional update is needed before the commit), in a
 * third of the round trips: createRun is on the hot path of every integration.
 */
export async function createRunInTx(
  tx: Tx,
  {
    data,
    start,
    actorId,
    createdDetail,
  }: {
    data: Omit<Prisma.RoutineRunUncheckedCreateInput, 'status' | 'queuedAt' | 'lastSequence' | 'createdAt'>;
    start: boolean;
    actorId: string | null;
    createdDetail?: Prisma.InputJsonValue;
  },
) {
  const at = new Date();
  const status = start ? RunStatus.QUEUED : RunStatus.CREATED;
  const lastSequence = start ? 2 : 1;
  const created = await tx.routineRun.create({
    data: { ...data, status, lastSequence, createdAt: at, updatedAt: at, queuedAt: start ? at : null },
  });
  await tx.runEvent.createMany({
    data: [
      { runId: created.id, sequence: 1, at, type: 'STATUS_CHANGED', toStatus: RunStatus.CREATED, actorId, detail: createdDetail },
      ...(start
        ? [
            {
              runId: created.id,
              sequence: 2,
              at,
              type: 'STATUS_CHANGED' as const,
              fromStatus: RunStatus.CREATED,
              toStatus: RunStatus.QUEUED,
              actorId,
              detail: {},
            },
          ]
        : []),
    ],
  });
  await publishInTransaction(tx, { runId: created.id, sequence: lastSequence, status });
  return created;
}
