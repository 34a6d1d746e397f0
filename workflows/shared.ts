// Names and shapes shared by the workflow, its activities, the worker and the API.
export const RUN_WORKFLOW_TYPE = 'runWorkflow';

/** Derived from the run id, so starting a run's workflow twice is safe: the second start is refused. */
export function workflowIdForRun(runId: string): string {
  return `run-${runId}`;
}

export interface RunWorkflowInput {
  runId: string;
  retry: { maxAttempts: number; initialIntervalMs: number; backoffCoefficient: number };
  timeoutMs: number;
}

export interface RunFailureSummary {
  type: string;
  message: string;
  retryable: boolean;
}

/** How long the worker may go without hearing from an attempt before Temporal retries it elsewhere. */
export const HEARTBEAT_TIMEOUT_MS = 10_000;
