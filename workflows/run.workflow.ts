// One background run = one workflow. It first waits to be admitted (the service's own FIFO,
// slot- and memory-aware admission: src/runs/admission.ts), then the activity does the work and
// records the run's progress and outcome itself (no extra round trips); the workflow only has
// to settle the run when the activity could not: cancellation before it started, retries
// exhausted by timeouts, or a lost worker.
//
// Replay safety: runs started before a change must replay on the new code. New steps go behind
// `patched(...)` (see ADMISSION_PATCH) and test/workflow-replay.test.ts replays recorded
// histories of every earlier version.
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineSignal,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { RunActivities } from './activities/index.ts';
import { ADMISSION_PATCH, ADMISSION_POLL_MS, HEARTBEAT_TIMEOUT_MS, type RunFailureSummary, type RunWorkflowInput } from './shared.ts';

/**
 * Wakes a run's workflow waiting for admission: capacity may have been given to it. Senders use
 * this definition (src/runtime.ts); its name is in recorded histories, so it stays 'admit'.
 */
export const admitSignal = defineSignal('admit');

// Started by reference (src/runs/launcher.ts): the workflow type is this function's name, 'runWorkflow'.
export async function runWorkflow(input: RunWorkflowInput): Promise<void> {
  const { executeRun } = proxyActivities<RunActivities>({
    startToCloseTimeout: input.timeoutMs,
    heartbeatTimeout: HEARTBEAT_TIMEOUT_MS,
    retry: {
      maximumAttempts: input.retry.maxAttempts,
      initialInterval: input.retry.initialIntervalMs,
      backoffCoefficient: input.retry.backoffCoefficient,
    },
    // The run must not be reported cancelled while its method may still be writing.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  // Settling must eventually happen, whatever the database is doing: retry without limit.
  const { settleRun } = proxyActivities<RunActivities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
  });

  try {
    if (patched(ADMISSION_PATCH)) {
      // A local activity: one database transaction in the worker, no extra task-queue round trip.
      const { admitRun } = proxyLocalActivities<RunActivities>({
        startToCloseTimeout: '30 seconds',
        retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds' },
      });
      let woken = false;
      setHandler(admitSignal, () => {
        woken = true;
      });
      for (;;) {
        woken = false;
        const { admitted, runnable } = await admitRun({ runId: input.runId });
        if (!runnable) return; // ended while it waited (cancelled while queued)
        if (admitted) break;
        await condition(() => woken, ADMISSION_POLL_MS);
      }
    }
    await executeRun({ runId: input.runId });
  } catch (error) {
    if (isCancellation(error)) {
      await CancellationScope.nonCancellable(() => settleRun({ runId: input.runId, outcome: 'CANCELLED' }));
      throw error;
    }
    const failure = summarizeFailure(error);
    await settleRun({ runId: input.runId, outcome: 'FAILED', error: failure });
    throw ApplicationFailure.nonRetryable(failure.message, failure.type);
  }
}

function summarizeFailure(error: unknown): RunFailureSummary {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) {
    return { type: cause.type ?? 'Error', message: cause.message, retryable: !cause.nonRetryable };
  }
  if (cause instanceof TimeoutFailure) {
    return { type: 'TIMEOUT', message: `The attempt timed out (${cause.timeoutType})`, retryable: true };
  }
  return { type: 'Error', message: cause instanceof Error ? cause.message : String(cause), retryable: false };
}
