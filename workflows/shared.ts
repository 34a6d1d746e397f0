// Names and shapes shared by the workflow, its activities, the worker and the API.
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

/** Patch id of the admission step (runs started before it skip admission when replayed). */
export const ADMISSION_PATCH = 'admission-v1';
/**
 * Patch id of re-admission with more memory: a run whose attempt ran out of memory and whose
 * method declares retry.memoryGrowth is admitted again with the larger memory before its next
 * attempt (runs started before it end FAILED on running out of memory).
 */
export const MEMORY_GROWTH_PATCH = 'memory-growth-v1';

/** What executeRun is asked to do; workflows before MEMORY_GROWTH_PATCH pass only the run id. */
export interface ExecuteRunInput {
  runId: string;
  /** Attempts of the run before this activity's first (earlier activities, each admitted anew). */
  previousAttempts?: number;
  /** The workflow admits the run again when an attempt needs more memory (MEMORY_GROWTH_PATCH). */
  readmitsForMemory?: boolean;
}

/** executeRun's answer: `readmit` when the run's next attempt waits to be admitted with more memory. */
export type ExecuteRunResult = { readmit: true; attempt: number } | undefined;

/** A waiting workflow asks again this often even without a signal (a lost signal costs this much). */
export const ADMISSION_POLL_MS = 15_000;

/** A schedule's fire (workflows/schedule.workflow.ts): the Schedule row's id. */
export interface ScheduledRunInput {
  scheduleId: string;
}

/** The retention policy RETENTION_SCHEDULE applies (src/services/apply-retention.ts's RetentionPolicy). */
export interface RetentionWorkflowInput {
  policy: {
    olderThanDays?: number | null;
    failedOlderThanDays?: number | null;
    keepLastPerInstance?: number | null;
    keepLabels?: string[] | null;
  };
}

/** A fired workflow checks whether its run has ended after this long, then twice as long each time up to the maximum. */
export const SCHEDULED_RUN_POLL_MIN_MS = 1000;
export const SCHEDULED_RUN_POLL_MAX_MS = 60_000;
