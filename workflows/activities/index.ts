// The run workflow's activities. Built by a factory so tests and processes pass their own
// database and storage.
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Db } from '../../src/db/client.ts';
import { executeRunAttempt } from '../../src/runs/execute-run.ts';
import { RunRecorder } from '../../src/runs/recorder.ts';
import type { RunFailureSummary } from '../shared.ts';

export interface RunActivityDeps {
  db: Db;
  storageRoot: string;
}

export function createRunActivities({ db, storageRoot }: RunActivityDeps) {
  const recorder = new RunRecorder(db);

  return {
    async executeRun({ runId }: { runId: string }): Promise<void> {
      const context = Context.current();
      const attempt = context.info.attempt;
      const run = await recorder.beginAttempt({ runId, attempt });
      if (!run) return; // already terminal: cancelled while queued, or settled elsewhere

      // Only a cancel the user asked for ends the run CANCELLED; a worker shutting down or a
      // timeout aborts this attempt so that Temporal retries it.
      const userCancel = new AbortController();
      const attemptAbort = new AbortController();
      context.cancellationSignal.addEventListener('abort', () => {
        if (context.cancellationDetails?.cancelRequested) userCancel.abort();
        else attemptAbort.abort();
      });
      const signal = AbortSignal.any([userCancel.signal, attemptAbort.signal]);

      const outcome = await executeRunAttempt({
        run,
        attempt,
        recorder,
        storageRoot,
        signal,
        isLastAttempt: attempt >= run.maxAttempts,
        onHeartbeat: (progress) => context.heartbeat(progress),
      });
      if (outcome.status === 'COMPLETED') return;
      if (outcome.status === 'CANCELLED') {
        if (attemptAbort.signal.aborted && !userCancel.signal.aborted) {
          throw ApplicationFailure.retryable('The attempt was interrupted (worker shutdown or timeout)', 'ATTEMPT_INTERRUPTED');
        }
        throw new CancelledFailure('CANCELLED');
      }
      const { type, message } = outcome.error;
      throw outcome.runEnded
        ? ApplicationFailure.nonRetryable(message, type)
        : ApplicationFailure.retryable(message, type);
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
      if (outcome === 'CANCELLED') {
        await recorder.cancelled({ runId });
        return;
      }
      const run = await db.routineRun.findUniqueOrThrow({ where: { id: runId }, select: { attempt: true } });
      await recorder.fail({
        runId,
        attempt: Math.max(run.attempt, 1),
        error: error ?? { type: 'Error', message: 'The run failed', retryable: false },
      });
    },
  };
}

export type RunActivities = ReturnType<typeof createRunActivities>;
