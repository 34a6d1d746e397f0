// The run workflow's activities. Built by a factory so tests and processes pass their own
// database, storage, admission and sandbox options.
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { countedAs, type Db } from '../../src/db/client.ts';
import type { MethodProcessPool } from '../../src/execution/process-pool.ts';
import { executorFor, executorId, executorOf, type Admission } from '../../src/runs/admission.ts';
import { processLogger } from '../../src/logger.ts';
import { executeRunAttempt } from '../../src/runs/execute-run.ts';
import { RunRecorder } from '../../src/runs/recorder.ts';
import { ArtifactStore } from '../../src/storage/artifact-store.ts';
import type { ExecuteRunInput, ExecuteRunResult, RunFailureSummary } from '../shared.ts';

export interface RunActivityDeps {
  db: Db;
  storageRoot: string;
  /** Null only in tests that exercise execution without admission. */
  admission?: Admission | null;
  /** This worker's id in the capacity table (runs it executes hold its capacity). */
  workerId?: string | null;
  /** Warm method processes; without it each attempt forks its own. */
  pool?: MethodProcessPool | null;
  /** Routine folders besides src/routines/library/ (test fixtures). */
  extraRoutineDirs?: string[];
  /** How long a cancelled method gets to clean up before it is killed. */
  cancelGraceMs?: number;
  /** MAX_RUN_MEMORY_MB: the most an attempt out of memory may suggest or be given (retry.memoryGrowth). */
  maxRunMemoryMb?: number;
  log?: (message: string) => void;
}

export function createRunActivities({
  db,
  storageRoot,
  admission = null,
  workerId = null,
  pool = null,
  extraRoutineDirs = [],
  cancelGraceMs,
  maxRunMemoryMb,
  log = () => {},
}: RunActivityDeps) {
  const recorder = new RunRecorder(db, { log, storage: new ArtifactStore({ rootDir: storageRoot }) });
  // A worker without a capacity row (tests without admission) is still named in run errors.
  const executor = executorFor(workerId ?? executorId('worker'));
  // Capacity freed by a run that ended goes to the next in line at once.
  const admitNext = () => {
    countedAs('admission: pass after a run', () => admission?.pump())?.catch((error) => log(`admission: ${(error as Error).message}`));
  };

  return {
    /** Local activity: asks for capacity (src/runs/admission.ts). */
    async admitRun({ runId }: { runId: string }): Promise<{ admitted: boolean; runnable: boolean }> {
      if (!admission) return { admitted: true, runnable: true };
      return countedAs('admission: admitRun', () => admission.admit({ runId }));
    },

    async executeRun({ runId, previousAttempts = 0, readmitsForMemory = false }: ExecuteRunInput): Promise<ExecuteRunResult> {
      const context = Context.current();
      // Temporal counts the attempts of this activity; a run admitted again for more memory
      // continues its own count in a new activity.
      const attempt = previousAttempts + context.info.attempt;
      const workflowId = context.info.workflowExecution?.workflowId ?? null;
      // Every line about this attempt names it, so one grep finds a run's story across processes.
      const logger = processLogger().child({ name: 'activity', runId, workflowId, attempt });
      // The start of the attempt waits out a database outage (src/runs/recorder.ts); heartbeats
      // keep Temporal from timing the attempt out meanwhile, carrying the last attempt's progress on.
      const waiting = setInterval(() => context.heartbeat(context.info.heartbeatDetails), 1000);
      const run = await recorder.beginAttempt({ runId, attempt, workerId, workflowId }).finally(() => clearInterval(waiting));
      if (!run) {
        logger.debug('attempt not begun: the run already ended');
        return undefined; // already terminal: cancelled while queued, or settled elsewhere
      }
      logger.debug(`attempt ${attempt} of ${run.maxAttempts} began`);

      // Only a cancel the user asked for ends the run CANCELLED; a worker shutting down or a
      // timeout aborts this attempt so that Temporal retries it.
      const userCancel = new AbortController();
      const attemptAbort = new AbortController();
      context.cancellationSignal.addEventListener('abort', () => {
        if (context.cancellationDetails?.cancelRequested) userCancel.abort();
        else attemptAbort.abort();
      });
      const signal = AbortSignal.any([userCancel.signal, attemptAbort.signal]);
      // What the previous attempt last reported, for methods that can resume from it: the
      // progress recorded in the database is at least as recent as the last heartbeat, so a
      // resumed method does not report a step the run already shows.
      const heartbeat = (context.info.heartbeatDetails as { percent: number; message: string | null } | null | undefined) ?? null;
      const recorded = run.progressPercent !== null ? { percent: run.progressPercent, message: run.progressMessage } : null;
      const resumeFrom = attempt > 1 ? (recorded ?? heartbeat) : null;

      let outcome;
      try {
        outcome = await executeRunAttempt({
          run,
          attempt,
          recorder,
          executor,
          storageRoot,
          signal,
          isLastAttempt: attempt >= run.maxAttempts,
          onHeartbeat: (progress) => context.heartbeat(progress),
          resumeFrom,
          sandbox: { pool, extraRoutineDirs, cancelGraceMs },
          cancelIsFinal: () => userCancel.signal.aborted,
          maxRunMemoryMb,
          canGrowMemory: readmitsForMemory,
          largestWorkerMemoryMb: async () => (admission ? admission.largestWorkerMemoryMb() : null),
        });
      } finally {
        admitNext();
      }
      logger.debug({ status: outcome.status }, `attempt ${attempt} ended ${outcome.status}`);
      if (outcome.status === 'COMPLETED') return undefined;
      if (outcome.nextMemoryMb !== undefined) return { readmit: true, attempt };
      if (outcome.status === 'CANCELLED') {
        if (attemptAbort.signal.aborted && !userCancel.signal.aborted) {
          throw ApplicationFailure.retryable('The attempt was interrupted (worker shutdown or timeout)', 'ATTEMPT_INTERRUPTED');
        }
        throw new CancelledFailure('CANCELLED');
      }
      const { type, message } = outcome.error;
      throw outcome.runEnded ? ApplicationFailure.nonRetryable(message, type) : ApplicationFailure.retryable(message, type);
    },

    /** Brings the run to its final state when executeRun could not (idempotent). */
    async settleRun({
      runId,
      outcome,
      error,
    }: {
      runId: string;
      outcome: 'CANCELLED' | 'FAILED';
      error?: RunFailureSummary;
    }): Promise<void> {
      return countedAs('settleRun', async () => {
        try {
          // A run deleted meanwhile (deleteRun only takes finished runs) needs no settling.
          if (!(await db.routineRun.findUnique({ where: { id: runId }, select: { id: true } }))) return;
          if (outcome === 'CANCELLED') {
            await recorder.cancelled({ runId });
            return;
          }
          const run = await db.routineRun.findUniqueOrThrow({ where: { id: runId }, select: { attempt: true, workerId: true } });
          // The attempt could not record its own end (it timed out, or its worker was lost): the
          // failure is the workflow's, and happened on the worker that last executed the run.
          await recorder.fail({
            runId,
            attempt: run.attempt, // 0 when no attempt of the method began
            error: { ...(error ?? { type: 'Error', message: 'The run failed', retryable: false }), phase: 'WORKFLOW' },
            executor: executorOf(run.workerId),
          });
        } finally {
          admitNext();
        }
      });
    },
  };
}

export type RunActivities = ReturnType<typeof createRunActivities>;
