// One background run = one workflow. The activity does the work and records the run's
// progress and outcome itself (no extra round trips); the workflow only has to settle the
// run when the activity could not: cancellation before it started, retries exhausted by
// timeouts, or a lost worker.
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { RunActivities } from './activities/index.ts';
import { HEARTBEAT_TIMEOUT_MS, type RunFailureSummary, type RunWorkflowInput } from './shared.ts';

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
