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
import {
  ADMISSION_PATCH,
  ADMISSION_POLL_MS,
  HEARTBEAT_TIMEOUT_MS,
  MEMORY_GROWTH_PATCH,
  type RunFailureSummary,
  type RunWorkflowInput,
} from './shared.ts';

/**
 * Wakes a run's workflow waiting for admission: capacity may have been given to it. Senders use
 * this definition (src/runtime.ts); its name is in recorded histories, so it stays 'admit'.
 */
export const admitSignal = defineSignal('admit');

// Started by reference (src/runs/launcher.ts): the workflow type is this function's name, 'runWorkflow'.
export async function runWorkflow(input: RunWorkflowInput): Promise<void> {
  // `attemptsLeft`: a run admitted again for more memory goes on with the attempts it has left.
  const executeRunWith = (attemptsLeft: number) =>
    proxyActivities<RunActivities>({
      startToCloseTimeout: input.timeoutMs,
      heartbeatTimeout: HEARTBEAT_TIMEOUT_MS,
      retry: {
        maximumAttempts: attemptsLeft,
        initialInterval: input.retry.initialIntervalMs,
        backoffCoefficient: input.retry.backoffCoefficient,
      },
      // The run must not be reported cancelled while its method may still be writing.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }).executeRun;
  // Settling must eventually happen, whatever the database is doing: retry without limit.
  const { settleRun } = proxyActivities<RunActivities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
  });

  const admission = admissionOf(input.runId);
  try {
    if (!patched(MEMORY_GROWTH_PATCH)) {
      if (patched(ADMISSION_PATCH) && !(await admission())) return;
      await executeRunWith(input.retry.maxAttempts)({ runId: input.runId });
      return;
    }
    // An attempt that ran out of memory, of a method with retry.memoryGrowth, gave the run's
    // capacity back: the run is admitted again, with its larger memory, before the next attempt.
    let previousAttempts = 0;
    for (;;) {
      if (patched(ADMISSION_PATCH) && !(await admission())) return;
      const attemptsLeft = Math.max(1, input.retry.maxAttempts - previousAttempts);
      const result = await executeRunWith(attemptsLeft)({ runId: input.runId, previousAttempts, readmitsForMemory: true });
      if (!result?.readmit) return;
      previousAttempts = result.attempt;
    }
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

/**
 * Returns a wait until the run holds capacity, resolving false when the run ended meanwhile
 * (cancelled while queued). The admit signal's handler is set at the first wait.
 */
function admissionOf(runId: string): () => Promise<boolean> {
  // A local activity: one database transaction in the worker, no extra task-queue round trip.
  const { admitRun } = proxyLocalActivities<RunActivities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds' },
  });
  let listening = false;
  let woken = false;
  return async () => {
    if (!listening) {
      listening = true;
      setHandler(admitSignal, () => {
        woken = true;
      });
    }
    for (;;) {
      woken = false;
      const { admitted, runnable } = await admitRun({ runId });
      if (!runnable) return false;
      if (admitted) return true;
      await condition(() => woken, ADMISSION_POLL_MS);
    }
  };
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
