// cancelRuns: cancelRun in bulk for the active runs matching a RunFilter (src/runs/run-filter.ts,
// the same filter and the same visibility as Query.runs, as the same SQL). An empty filter is
// refused (it would mean "everything"); a dry run (the default) only counts.
//
// Who may cancel what is cancelRun's rule: an OPERATOR of a run's workspace may cancel any of its
// runs. Matching runs the request can see but may not cancel (where it is a VIEWER, or its token's
// scope is READ) are skipped and counted in `notAllowedCount`; a request that may cancel in none of
// its workspaces is refused whole (ForbiddenError), as deleteRuns is.
//
// Speed: a thousand queued runs must stop in seconds, so CREATED and QUEUED runs change state in
// batches, one transaction of a few statements per batch (the run rows, their STATUS_CHANGED
// events, the notices), not a transaction per run. Their workflows are told to stop after the
// commit, a few at a time and off the request path: a queued run's workflow that is not told
// finds the run CANCELLED the next time it asks to be admitted (workflows/run.workflow.ts) and
// ends, so telling it only makes that sooner. RUNNING runs need their method stopped: each goes
// through cancelRun (a pending cancel, then the workflow's activity stops the method), a few at
// a time; there are never more of them than the workers have slots.
import type { Access } from '../access/access.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { RunStatus } from '../generated/prisma/enums.ts';
import { afterCommit, queryRows } from '../db/client.ts';
import { ValidationError } from '../errors.ts';
import { publishInTransaction } from '../events/bus.ts';
import { recordRunTransition } from '../observability/metrics.ts';
import { lockAdmission } from '../runs/admission.ts';
import { checkRunFilter, narrowingConditions, visibleRunFilterSql, type RunFilter } from '../runs/run-filter.ts';
import type { ServiceDeps } from './deps.ts';
import { cancelRun } from './cancel-run.ts';
import { retryOnDeadlock } from './delete-run.ts';

const BATCH = 500;
/** Runs whose workflows are told to cancel at once, and RUNNING runs cancelled at once. */
const PARALLEL = 8;
/** The most runs a result names (CancelRunsSuccess.runs). */
export const MAX_LISTED_RUNS = 100;

export interface CancelRunsResult {
  /** Matching runs the request may cancel and that are still active: cancelled, or that would be on a dry run. */
  count: number;
  /** Runs the filter matches (that the request can see), in any status. */
  matchedCount: number;
  /** Matching runs left alone: already ended, already being cancelled, or not the request's to cancel. */
  skippedCount: number;
  /** Matching runs the request can see but may not cancel (below OPERATOR in their workspace), whatever their status. */
  notAllowedCount: number;
  dryRun: boolean;
  /** The first MAX_LISTED_RUNS runs counted in `count`, by id. */
  runIds: string[];
}

const CANCELLABLE = [RunStatus.CREATED, RunStatus.QUEUED, RunStatus.RUNNING];

export async function cancelRuns(
  deps: ServiceDeps,
  { access, filter, dryRun = true, reason = null }: { access: Access; filter: RunFilter; dryRun?: boolean | null; reason?: string | null },
): Promise<CancelRunsResult> {
  const checked = checkRunFilter(filter);
  if (narrowingConditions(checked).length === 0) {
    throw ValidationError.field(
      ['filter'],
      'Give at least one filter condition that leaves runs out (an empty search or attributes object is none): this filter would cancel every run',
    );
  }
  const { user } = access;
  const cancelIn = access.workspaceIds.filter((workspaceId) => access.can('cancelRun', workspaceId));
  if (cancelIn.length === 0 && access.workspaceIds.length > 0) throw access.forbidden('cancelRun', access.workspaceIds[0]);

  const matching = visibleRunFilterSql(access, checked);
  const allowed = Prisma.sql`r."workspaceId" = ANY(${cancelIn}::uuid[])`;
  // A RUNNING run with a cancel pending is being cancelled already: asking again changes nothing.
  const cancellable = Prisma.sql`${matching} AND ${allowed} AND r.status = ANY(${CANCELLABLE}::"RunStatus"[])
    AND NOT (r.status = 'RUNNING' AND r."cancelRequestedAt" IS NOT NULL)`;
  const [counts] = await queryRows<{ matchedCount: number; count: number; notAllowedCount: number }>(
    deps.db,
    Prisma.sql`SELECT count(*)::int AS "matchedCount", (count(*) FILTER (WHERE ${cancellable}))::int AS count,
        (count(*) FILTER (WHERE NOT ${allowed}))::int AS "notAllowedCount"
      FROM "RoutineRun" r WHERE ${matching}`,
  );
  const result = { ...counts, dryRun: !!dryRun, skippedCount: counts.matchedCount - counts.count };
  if (dryRun) {
    const listed = await queryRows<{ id: string }>(
      deps.db,
      Prisma.sql`SELECT r.id FROM "RoutineRun" r WHERE ${cancellable} ORDER BY r.id LIMIT ${MAX_LISTED_RUNS}`,
    );
    return { ...result, runIds: listed.map((run) => run.id) };
  }

  const cancelReason = reason ?? `cancelled by ${user.name}`;
  const cancelled: string[] = [];
  const toldLater: string[] = [];
  // Keyset over ids, so a batch whose runs moved on meanwhile (now RUNNING, say) is not read again.
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const batch = await retryOnDeadlock(() =>
      deps.db.$transaction(async (tx) => {
        await lockAdmission(tx);
        // Locked and checked again under the lock: a run that ended or started meanwhile is not
        // cancelled here (a started one is picked up below, with the RUNNING runs).
        const locked = await tx.$queryRaw<
          { id: string; status: RunStatus; workflowId: string | null; routineName: string; methodName: string; queuedAt: Date | null }[]
        >`
          SELECT r.id, r.status, r."workflowId", routine.name AS "routineName", r."methodName", r."queuedAt"
          FROM "RoutineRun" r JOIN "Routine" routine ON routine.id = r."routineId"
          WHERE r.id > ${after}::uuid AND ${cancellable} AND r.status IN ('CREATED', 'QUEUED')
          ORDER BY r.id LIMIT ${BATCH}
          FOR UPDATE OF r`;
        if (locked.length === 0) return locked;
        const at = new Date();
        const ids = locked.map((run) => run.id);
        // What transitionRunInTx writes for each run (src/runs/state-machine.ts), for the batch at once.
        const bumped = await tx.$queryRaw<{ id: string; lastSequence: number }[]>`
          UPDATE "RoutineRun" SET status = 'CANCELLED', "lastSequence" = "lastSequence" + 1, "updatedAt" = ${at},
            "finishedAt" = ${at}, "durationMs" = NULL, "cancelRequestedAt" = ${at}, "cancelReason" = ${cancelReason},
            "cancelRequestedById" = ${user.id}::uuid
          WHERE id = ANY(${ids}::uuid[]) AND status IN ('CREATED', 'QUEUED')
          RETURNING id, "lastSequence"`;
        const fromStatus = new Map(locked.map((run) => [run.id, run.status]));
        await tx.runEvent.createMany({
          data: bumped.map((run) => ({
            runId: run.id,
            sequence: run.lastSequence,
            at,
            type: 'STATUS_CHANGED' as const,
            fromStatus: fromStatus.get(run.id),
            toStatus: RunStatus.CANCELLED,
            actorId: user.id,
            detail: { reason: cancelReason, bulk: true },
          })),
        });
        for (const run of bumped)
          await publishInTransaction(tx, { runId: run.id, sequence: run.lastSequence, status: RunStatus.CANCELLED });
        const changed = new Set(bumped.map((run) => run.id));
        const changedRuns = locked.filter((run) => changed.has(run.id));
        afterCommit(tx, () => {
          for (const run of changedRuns) {
            recordRunTransition({
              routine: run.routineName,
              method: run.methodName,
              to: RunStatus.CANCELLED,
              queuedAt: run.queuedAt,
              startedAt: null,
              at,
            });
          }
        });
        return changedRuns;
      }),
    );
    if (batch.length === 0) break;
    after = batch[batch.length - 1].id;
    for (const run of batch) {
      cancelled.push(run.id);
      if (run.workflowId) toldLater.push(run.id);
    }
  }

  // RUNNING runs (and runs that started while the batches ran): one by one through cancelRun.
  const running = await queryRows<{ id: string }>(
    deps.db,
    Prisma.sql`SELECT r.id FROM "RoutineRun" r WHERE ${cancellable} AND r.status = 'RUNNING' ORDER BY r.id`,
  );
  await inParallel(running, PARALLEL, async ({ id }) => {
    try {
      await cancelRun(deps, { access, runId: id, reason: cancelReason });
      cancelled.push(id);
    } catch {
      // It ended meanwhile (RunNotCancellable) or was deleted: nothing left to cancel.
    }
  });

  tellWorkflows(deps, toldLater);
  cancelled.sort();
  return {
    ...result,
    count: cancelled.length,
    skippedCount: counts.matchedCount - cancelled.length,
    runIds: cancelled.slice(0, MAX_LISTED_RUNS),
  };
}

/** Off the request path and best effort: an untold workflow ends by itself at its next admission check. */
function tellWorkflows(deps: ServiceDeps, runIds: string[]): void {
  const launcher = deps.launcher;
  if (!launcher || runIds.length === 0) return;
  void inParallel(
    runIds.map((id) => ({ id })),
    PARALLEL,
    async ({ id }) => {
      await launcher.cancel(id).catch(() => {});
    },
  );
}

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
