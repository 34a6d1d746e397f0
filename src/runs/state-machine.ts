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
import { afterCommit, queryRows, type Db } from '../db/client.ts';
import { Prisma, type RoutineRun } from '../generated/prisma/client.ts';
import { RunStatus, type ExecutionType, type InvocationMethod, type MethodKind } from '../generated/prisma/enums.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import { processLogger } from '../logger.ts';
import { NotFoundError } from '../errors.ts';
import { publishCommitted, publishInTransaction } from '../events/bus.ts';
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

/** The columns createRun writes; every other column takes its default. */
export interface NewRunRow {
  id: string;
  instanceId: string;
  workspaceId: string;
  routineId: string;
  routineVersion: string;
  methodName: string;
  methodKind: MethodKind;
  name: string | null;
  description: string | null;
  inputs: unknown;
  executionType: ExecutionType;
  invocationMethod: InvocationMethod;
  storeArtifacts: boolean;
  includeStatistics: boolean;
  includePreviews: boolean;
  previewRows: number | null;
  memoryMb: number;
  memoryOverrideMb: number | null;
  priority: number;
  labels: string[];
  attributes: unknown;
  createdById: string;
  idempotencyKey: string | null;
  maxAttempts: number;
  timeoutMs: number | null;
  parentRunId: string | null;
  changedInputs: unknown;
  instanceConfig: unknown;
  instanceConfigVersion: number | null;
  scheduleId: string | null;
}

/**
 * Writes a new run in its first status with the events that got it there — the run CREATED (or
 * QUEUED), its STATUS_CHANGED events (→ CREATED, and CREATED → QUEUED when `start`) and one notice
 * for the latest — with the row and its events in one statement: what `appendRunEventInTx` +
 * `transitionRunInTx` would write for a row nobody else can see yet (no lock or conditional update
 * is needed before the commit). In a burst of creates, Prisma compiling the two writes (a
 * 30-column insert returning the row, and the events) was a quarter of the API's CPU per createRun, and each statement a
 * round trip while the transaction held its run-counter row (the insert trigger's), which the
 * other creates on that counter shard waited for. test/create-run-row.test.ts checks the row
 * equals Prisma's own reading of it.
 */
export async function createRunInTx(
  tx: Tx,
  {
    data,
    inTransaction,
    start,
    actorId,
    createdDetail,
  }: {
    data: NewRunRow;
    /** `tx` is an interactive transaction (else the client: the statement commits by itself). */
    inTransaction: boolean;
    start: boolean;
    actorId: string | null;
    createdDetail: Record<string, unknown> | null;
  },
): Promise<RoutineRun> {
  const at = new Date();
  const status: RunStatus = start ? 'QUEUED' : 'CREATED';
  const lastSequence = start ? 2 : 1;
  const queuedEvent = start ? Prisma.sql`, (2, 'CREATED'::"RunStatus", 'QUEUED'::"RunStatus", '{}'::jsonb)` : Prisma.empty;
  const written = Prisma.sql`
    WITH run AS (
      INSERT INTO "RoutineRun" (
        id, "instanceId", "workspaceId", "routineId", "routineVersion", "methodName", "methodKind", name, description,
        inputs, status, "executionType", "invocationMethod", "storeArtifacts", "includeStatistics", "includePreviews",
        "previewRows", "memoryMb", "memoryOverrideMb", priority, labels, attributes, "createdById", "idempotencyKey",
        "createdAt", "updatedAt", "queuedAt", "lastSequence", "maxAttempts", "timeoutMs", "parentRunId", "changedInputs",
        "instanceConfig", "instanceConfigVersion", "scheduleId"
      ) VALUES (
        ${data.id}::uuid, ${data.instanceId}::uuid, ${data.workspaceId}::uuid, ${data.routineId}::uuid, ${data.routineVersion},
        ${data.methodName}, ${data.methodKind}::"MethodKind", ${data.name}, ${data.description}, ${jsonText(data.inputs)}::jsonb,
        ${status}::"RunStatus", ${data.executionType}::"ExecutionType", ${data.invocationMethod}::"InvocationMethod",
        ${data.storeArtifacts}, ${data.includeStatistics}, ${data.includePreviews}, ${data.previewRows}::int, ${data.memoryMb}::int,
        ${data.memoryOverrideMb}::int, ${data.priority}::int, ${data.labels}::text[], ${jsonText(data.attributes)}::jsonb,
        ${data.createdById}::uuid, ${data.idempotencyKey}, ${at}::timestamp, ${at}::timestamp, ${start ? at : null}::timestamp, ${lastSequence}::int,
        ${data.maxAttempts}::int, ${data.timeoutMs}::int, ${data.parentRunId}::uuid, ${jsonText(data.changedInputs)}::jsonb,
        ${jsonText(data.instanceConfig)}::jsonb, ${data.instanceConfigVersion}::int, ${data.scheduleId}::uuid
      )
      RETURNING *
    ), events AS (
      INSERT INTO "RunEvent" ("runId", sequence, at, type, "fromStatus", "toStatus", "actorId", detail)
      SELECT run.id, e.sequence, ${at}::timestamp, 'STATUS_CHANGED'::"RunEventType", e."fromStatus", e."toStatus", ${actorId}::uuid, e.detail
      FROM run, (VALUES (1, NULL::"RunStatus", 'CREATED'::"RunStatus", ${jsonText(createdDetail)}::jsonb)${queuedEvent})
        AS e(sequence, "fromStatus", "toStatus", detail)
    )`;
  // In a transaction, on its connection through Prisma; else on the driver, at a tenth of Prisma's
  // CPU per statement, the row as JSON so that its timestamps are read as the UTC they are.
  const row = inTransaction
    ? (await tx.$queryRaw<RoutineRun[]>`${written} SELECT * FROM run`)[0]
    : runOfJson(
        (await queryRows<{ row: Record<string, unknown> }>(tx as Db, Prisma.sql`${written} SELECT to_jsonb(run) AS row FROM run`))[0].row,
      );
  const notice = { runId: row.id, sequence: lastSequence, status };
  if (inTransaction) {
    await publishInTransaction(tx, notice);
    return row;
  }
  // Written by its own statement, the run is committed: its notice follows, as the Redis transport
  // sends every notice, and outside the commit (PostgreSQL serializes the commits of notifying
  // transactions, WAL flush included). A lost notice is logged, not answered: the run exists, and
  // the client would create it again.
  try {
    await publishCommitted(tx as Db, notice);
  } catch (error) {
    processLogger().warn({ err: error, runId: row.id }, 'createRun: could not announce the new run');
  }
  return row;
}

/** RoutineRun's DateTime fields: timestamps without time zone, which to_jsonb writes without one (UTC, as Prisma writes them). */
const RUN_DATE_FIELDS = getDatamodel()
  .datamodel.models.RoutineRun.fields.filter((field) => field.kind === 'scalar' && field.type === 'DateTime')
  .map((field) => field.name);

/** The row to_jsonb(run) wrote, as Prisma reads it: every other column type is JSON's own. */
function runOfJson(json: Record<string, unknown>): RoutineRun {
  for (const name of RUN_DATE_FIELDS) if (typeof json[name] === 'string') json[name] = new Date(`${json[name] as string}Z`);
  return json as unknown as RoutineRun;
}

/**
 * A Json column's value as the text PostgreSQL stores (null: SQL NULL), converted the way Prisma
 * converts a Json field (src/db/exact-json.ts): numbers keep every digit, a BigInt is a string.
 */
function jsonText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner));
}
