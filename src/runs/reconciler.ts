// Reconciliation: the database is the system of record for runs as users see them, Temporal for
// execution. At start-up and then periodically, every active background run is compared with its
// workflow, and a disagreement is repaired with a RECONCILED event saying what was found:
//
//   workflow terminated (Temporal UI/CLI)       → FAILED, error type TERMINATED, actor system
//                                                 (a QUEUED run too, without passing through RUNNING)
//   workflow closed, run still active           → FAILED (CANCELLED if the workflow was cancelled)
//   QUEUED run, workflow missing                → its workflow is started again
//   RUNNING run, workflow missing               → FAILED, error type WORKFLOW_LOST
//   pending cancel older than CANCEL_RESEND_MS  → the cancel is sent to the workflow again
//   in-memory run active long past its limit    → FAILED, error type API_PROCESS_LOST
//                                                 (CANCELLED, by its canceller, if a cancel was pending)
//
// Every repair goes through the state machine, so a reconciler racing the worker (or another API
// process's reconciler) can never move a run that has already ended.
import { WorkflowNotFoundError } from '@temporalio/client';
import { countedAs, type Db } from '../db/client.ts';
import { LogThrottle } from '../log-throttle.ts';
import type { MethodFailure } from '../execution/types.ts';
import { RunStatus } from '../generated/prisma/enums.ts';
import { workflowIdForRun } from '../../workflows/shared.ts';
import type { RunLauncher } from './launcher.ts';
import { executorOf } from './admission.ts';
import { errorColumns } from './recorder.ts';
import { appendRunEventInTx } from './run-events.ts';
import { transitionRunInTx } from './state-machine.ts';

/** A closed workflow may be a moment ahead of the run's last write: leave it this long. */
const SETTLE_GRACE_MS = 5_000;
const CANCEL_RESEND_MS = 10_000;
const BATCH = 200;

export interface ReconcileFinding {
  runId: string;
  found: string;
  action: 'FAILED' | 'CANCELLED' | 'STARTED_AGAIN' | 'CANCEL_SENT_AGAIN';
}

export class RunReconciler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  /** A database or Temporal outage fails every pass (and every run) the same way: logged once, then summarized. */
  private readonly throttle = new LogThrottle((message) => this.deps.log(message));

  constructor(
    private readonly deps: {
      db: Db;
      launcher: RunLauncher;
      intervalMs: number;
      /** An in-memory run still active this long after its last change lost its API process. */
      inMemoryStaleMs: number;
      log: (message: string) => void;
    },
  ) {}

  /** Reconciles now (once at start-up), then every `intervalMs`. */
  start(): void {
    const tick = () => {
      if (this.running) return;
      this.running = countedAs('reconciler', () => this.reconcileOnce())
        .then(
          () => this.throttle.succeeded('reconciler'),
          (error) => this.throttle.failed('reconciler', (error as Error).message),
        )
        .finally(() => (this.running = null));
    };
    tick();
    this.timer = setInterval(tick, this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  async reconcileOnce(): Promise<ReconcileFinding[]> {
    const { db } = this.deps;
    const findings: ReconcileFinding[] = [];
    let after: string | null = null;
    for (;;) {
      const runs: Array<{ id: string; status: RunStatus; updatedAt: Date; cancelRequestedAt: Date | null }> = await db.routineRun.findMany({
        where: {
          status: { in: [RunStatus.QUEUED, RunStatus.RUNNING] },
          executionType: 'BACKGROUND',
          workflowId: { not: null },
          ...(after ? { id: { gt: after } } : {}),
        },
        select: { id: true, status: true, updatedAt: true, cancelRequestedAt: true },
        orderBy: { id: 'asc' },
        take: BATCH,
      });
      for (const run of runs) {
        const finding = await this.reconcileRun(run).catch((error) => {
          this.throttle.failed('reconciler', `run ${run.id}: ${(error as Error).message}`);
          return null;
        });
        if (finding) findings.push(finding);
      }
      if (runs.length < BATCH) break;
      after = runs[runs.length - 1].id;
    }

    // In-memory runs are time-limited; one still active long past its limit lost its API process.
    const lost = await db.routineRun.findMany({
      where: {
        status: { in: [RunStatus.QUEUED, RunStatus.RUNNING] },
        executionType: 'IN_MEMORY',
        updatedAt: { lt: new Date(Date.now() - this.deps.inMemoryStaleMs) },
      },
      select: { id: true, cancelRequestedAt: true, cancelRequestedById: true, cancelReason: true },
      take: BATCH,
    });
    for (const run of lost) {
      // The user asked for the run to stop and it did stop, with its process: that is the
      // outcome they asked for, so the run ends as their cancel, not as a failure.
      const action = run.cancelRequestedAt ? RunStatus.CANCELLED : RunStatus.FAILED;
      const changed = await this.record(run.id, {
        found: 'API_PROCESS_LOST',
        action,
        errorType: 'API_PROCESS_LOST',
        message: 'The in-memory run outlived its time limit: the API process executing it was lost',
        ...(run.cancelRequestedAt ? { actorId: run.cancelRequestedById, reason: run.cancelReason ?? 'cancelled' } : {}),
      });
      if (changed) findings.push({ runId: run.id, found: 'API_PROCESS_LOST', action });
    }
    return findings;
  }

  private async reconcileRun(run: {
    id: string;
    status: RunStatus;
    updatedAt: Date;
    cancelRequestedAt: Date | null;
  }): Promise<ReconcileFinding | null> {
    const { launcher } = this.deps;
    let workflowStatus: string;
    try {
      const description = await launcher.client.workflow.getHandle(workflowIdForRun(run.id)).describe();
      workflowStatus = description.status.name;
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      workflowStatus = 'MISSING';
    }

    if (workflowStatus === 'RUNNING') {
      if (run.cancelRequestedAt && run.cancelRequestedAt.getTime() < Date.now() - CANCEL_RESEND_MS) {
        await launcher.cancel(run.id);
        return { runId: run.id, found: 'CANCEL_PENDING', action: 'CANCEL_SENT_AGAIN' };
      }
      return null;
    }
    if (workflowStatus === 'MISSING' && run.status === RunStatus.QUEUED) {
      const recorded = await this.record(run.id, {
        found: 'WORKFLOW_MISSING',
        action: 'STARTED_AGAIN',
        message: 'The run was queued but its workflow does not exist in Temporal; it was started again',
      });
      if (recorded) await launcher.launch(run.id);
      return recorded ? { runId: run.id, found: 'WORKFLOW_MISSING', action: 'STARTED_AGAIN' } : null;
    }
    if (workflowStatus !== 'TERMINATED' && workflowStatus !== 'MISSING' && run.updatedAt.getTime() > Date.now() - SETTLE_GRACE_MS) {
      return null; // a closed workflow whose run may still be writing its end
    }

    const [found, errorType, message] =
      workflowStatus === 'TERMINATED'
        ? ['TERMINATED', 'TERMINATED', 'The workflow was terminated outside the service (Temporal UI or CLI)']
        : workflowStatus === 'MISSING'
          ? ['WORKFLOW_MISSING', 'WORKFLOW_LOST', 'The run was running but its workflow no longer exists in Temporal']
          : [`WORKFLOW_${workflowStatus}`, `WORKFLOW_${workflowStatus}`, `The workflow ended (${workflowStatus}) without settling the run`];
    const to = workflowStatus === 'CANCELLED' ? RunStatus.CANCELLED : RunStatus.FAILED;
    const changed = await this.record(run.id, { found, action: to, message, errorType, workflowStatus });
    return changed ? { runId: run.id, found, action: to } : null;
  }

  /** One transaction: the RECONCILED event, then the repair (if the run is still active). */
  private async record(
    runId: string,
    {
      found,
      action,
      message,
      errorType,
      workflowStatus,
      actorId = null,
      reason = message,
    }: {
      found: string;
      action: string;
      message: string;
      errorType?: string;
      workflowStatus?: string;
      /** Who the ending transition is credited to, and why (a pending cancel's); default the system. */
      actorId?: string | null;
      reason?: string;
    },
  ): Promise<boolean> {
    return this.deps.db.$transaction(async (tx) => {
      const event = await appendRunEventInTx(tx, {
        runId,
        type: 'RECONCILED',
        onlyIfStatus: [RunStatus.QUEUED, RunStatus.RUNNING],
        actorId: null,
        detail: { found, action, message, ...(workflowStatus ? { workflowStatus } : {}) },
      });
      if (!event) return false;
      if (action === 'STARTED_AGAIN') {
        await tx.routineRun.update({ where: { id: runId }, data: { workflowId: null, admittedAt: null } });
        return true;
      }
      if (action === RunStatus.CANCELLED) {
        const result = await transitionRunInTx(tx, { runId, to: RunStatus.CANCELLED, actorId, reason });
        return result.changed;
      }
      const run = await tx.routineRun.findUniqueOrThrow({ where: { id: runId }, select: { attempt: true, workerId: true } });
      // A QUEUED run goes straight to FAILED (src/runs/state-machine.ts): its method never began,
      // so it gets no RUNNING event, no startedAt and attempt 0.
      const error: MethodFailure = {
        type: errorType ?? found,
        message,
        retryable: false,
        // The workflow is what failed — unless the process executing an in-memory run was lost.
        phase: found === 'API_PROCESS_LOST' ? 'PROCESS' : 'WORKFLOW',
      };
      // Where: the worker (or API process) that last executed the run, if one had begun it.
      const executor = executorOf(run.workerId);
      const result = await transitionRunInTx(tx, {
        runId,
        to: RunStatus.FAILED,
        actorId: null,
        reason: message,
        set: errorColumns(error, run.attempt, executor),
        detail: {
          errorType: error.type,
          reconciled: true,
          phase: error.phase,
          workerId: executor?.workerId ?? null,
          host: executor?.host ?? null,
        },
      });
      return result.changed;
    });
  }
}
