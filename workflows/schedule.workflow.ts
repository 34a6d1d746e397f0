// What a schedule's fire does (src/schedules/temporal-schedules.ts starts these from Temporal
// Schedules). scheduledRunWorkflow creates the run through the same service path as createRun and
// then lasts until the run has ended: Temporal's overlap policy (SKIP by default) looks at this
// workflow, so a schedule firing while its last run still executes skips that fire.
//
// Replay safety: as for run.workflow.ts, a change to the command sequence goes behind patched().
import { proxyActivities, proxyLocalActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { ScheduleActivities } from './activities/schedule.ts';
import { SCHEDULED_RUN_POLL_MAX_MS, SCHEDULED_RUN_POLL_MIN_MS, type RetentionWorkflowInput, type ScheduledRunInput } from './shared.ts';

export async function scheduledRunWorkflow(input: ScheduledRunInput): Promise<{ runId: string | null }> {
  const { createScheduledRun } = proxyActivities<ScheduleActivities>({
    startToCloseTimeout: '1 minute',
    // A refusal (bad inputs, the creator lost access) is not retried: the activity says so.
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
  });
  // A local activity: one indexed read in the worker, no task-queue round trip per poll.
  const { scheduledRunEnded } = proxyLocalActivities<ScheduleActivities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
  });
  // The fire's workflow id is unique per fire (Temporal appends the fire time), and stays the
  // same across retries of the activity: the run's idempotency key.
  const { runId } = await createScheduledRun({ scheduleId: input.scheduleId, fireId: workflowInfo().workflowId });
  if (!runId) return { runId };
  // Polls back off to SCHEDULED_RUN_POLL_MAX_MS, so an hour-long run adds about 70 events to the history.
  let waitMs = SCHEDULED_RUN_POLL_MIN_MS;
  while (!(await scheduledRunEnded({ runId }))) {
    await sleep(waitMs);
    waitMs = Math.min(waitMs * 2, SCHEDULED_RUN_POLL_MAX_MS);
  }
  return { runId };
}

/** RETENTION_SCHEDULE's fire: applies the retention policy it was given, as the `retention` user. */
export async function retentionWorkflow(input: RetentionWorkflowInput): Promise<{ deletedCount: number }> {
  const { applyScheduledRetention } = proxyActivities<ScheduleActivities>({
    startToCloseTimeout: '30 minutes',
    retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
  });
  return applyScheduledRetention(input);
}
