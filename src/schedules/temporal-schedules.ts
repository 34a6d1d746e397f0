// The Temporal side of schedules: the one module that names, creates, pauses, describes and deletes
// Temporal Schedules. The Schedule row (prisma/schema.prisma) is the record users list and access
// rules read; the Temporal Schedule `schedule-{id}` is what fires, each fire starting
// scheduledRunWorkflow (workflows/schedule.workflow.ts) on the deployment's task queue.
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
  type ScheduleSpec,
} from '@temporalio/client';
import type { ScheduleOverlapPolicy as OverlapPolicy } from '../generated/prisma/enums.ts';
import type { RetentionPolicy } from '../services/apply-retention.ts';
import { retentionWorkflow, scheduledRunWorkflow } from '../../workflows/schedule.workflow.ts';

/** Where the services reach Temporal's schedules, and the limits createSchedule applies. */
export interface ScheduleDeps {
  client: Client;
  /** The task queue fired workflows start on: the workers' (TEMPORAL_TASK_QUEUE). */
  taskQueue: string;
  /** SCHEDULE_MIN_INTERVAL_SECONDS */
  minIntervalSeconds: number;
  /** SCHEDULES_PER_WORKSPACE */
  perWorkspace: number;
}

/** Derived from the row's id, so the row finds its Temporal Schedule without storing anything. */
export function temporalScheduleId(scheduleId: string): string {
  return `schedule-${scheduleId}`;
}

/**
 * The retention schedule's id. It carries the task queue so that two deployments sharing one
 * Temporal namespace (and the tests, one task queue per stack) each keep their own.
 */
export function retentionScheduleId(taskQueue: string): string {
  return `retention:${taskQueue}`;
}

export interface ScheduleTiming {
  cron: string | null;
  intervalSeconds: number | null;
}

function specOf({ cron, intervalSeconds }: ScheduleTiming): ScheduleSpec {
  return cron !== null ? { cronExpressions: [cron] } : { intervals: [{ every: `${intervalSeconds}s` }] };
}

const OVERLAP: Record<OverlapPolicy, ScheduleOverlapPolicy> = {
  SKIP: ScheduleOverlapPolicy.SKIP,
  BUFFER_ONE: ScheduleOverlapPolicy.BUFFER_ONE,
  ALLOW_ALL: ScheduleOverlapPolicy.ALLOW_ALL,
};

/**
 * Thrown when Temporal refuses the spec (a cron expression it cannot parse): the one check of a
 * cron expression there is, since no cron parser ships with the service.
 */
export class InvalidScheduleSpecError extends Error {}

export async function createTemporalSchedule(
  deps: Pick<ScheduleDeps, 'client' | 'taskQueue'>,
  schedule: ScheduleTiming & { id: string; overlapPolicy: OverlapPolicy; paused: boolean },
): Promise<void> {
  const options: ScheduleOptions = {
    scheduleId: temporalScheduleId(schedule.id),
    spec: specOf(schedule),
    action: {
      type: 'startWorkflow',
      workflowType: scheduledRunWorkflow,
      args: [{ scheduleId: schedule.id }],
      taskQueue: deps.taskQueue,
      // Temporal appends the fire time: each fire's workflow id is unique, and the run it makes
      // takes its idempotency key from it (src/services/fire-schedule.ts).
      workflowId: `scheduled-${schedule.id}`,
    },
    policies: { overlap: OVERLAP[schedule.overlapPolicy], catchupWindow: '1 minute' },
    state: { paused: schedule.paused },
  };
  try {
    await deps.client.schedule.create(options);
  } catch (error) {
    if (isInvalidArgument(error)) throw new InvalidScheduleSpecError((error as Error).message);
    throw error;
  }
}

function isInvalidArgument(error: unknown): boolean {
  // The SDK answers Temporal's "Invalid schedule spec" (INVALID_ARGUMENT) as a TypeError naming
  // what it could not parse; any other INVALID_ARGUMENT is gRPC status 3.
  if (error instanceof TypeError) return true;
  return grpcCode(error) === 3;
}

export async function setTemporalSchedulePaused(client: Client, scheduleId: string, paused: boolean): Promise<void> {
  const handle = client.schedule.getHandle(temporalScheduleId(scheduleId));
  await (paused ? handle.pause('paused through pauseSchedule') : handle.unpause('unpaused through pauseSchedule'));
}

/** Deletes the Temporal Schedule; one already gone is fine (a retried delete, a reconciled orphan). */
export async function deleteTemporalSchedule(client: Client, temporalId: string): Promise<void> {
  try {
    await client.schedule.getHandle(temporalId).delete();
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError) && !isNotFound(error)) throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return grpcCode(error) === 5;
}

const UNIMPLEMENTED = 12;

/** The gRPC status of a client error: on the error itself, or on its cause (the SDK wraps them). */
function grpcCode(error: unknown): unknown {
  return (error as { code?: unknown; cause?: { code?: unknown } }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
}

/**
 * The shortest time between two of the next fires Temporal computed for a new schedule (it lists
 * about ten), or null when it computed none: the spec never fires. createSchedule holds a cron
 * expression to SCHEDULE_MIN_INTERVAL_SECONDS this way, since Temporal's cron has seconds and
 * years fields and no cron parser ships with the service.
 */
export async function shortestGapSeconds(client: Client, scheduleId: string): Promise<number | null> {
  const { info } = await client.schedule.getHandle(temporalScheduleId(scheduleId)).describe();
  const times = info.nextActionTimes.map((time) => time.getTime());
  if (times.length === 0) return null;
  let shortest = Infinity;
  for (let i = 1; i < times.length; i++) shortest = Math.min(shortest, (times[i] - times[i - 1]) / 1000);
  return shortest;
}

/** The next fire time Temporal has computed, null when there is none (paused, or a spec that never fires again). */
export async function nextTemporalFireTime(client: Client, scheduleId: string): Promise<Date | null> {
  try {
    const description = await client.schedule.getHandle(temporalScheduleId(scheduleId)).describe();
    if (description.state.paused) return null;
    return description.info.nextActionTimes[0] ?? null;
  } catch (error) {
    if (error instanceof ScheduleNotFoundError || isNotFound(error)) return null;
    throw error;
  }
}

/**
 * RETENTION_SCHEDULE at start-up: creates the retention schedule, or updates it to this process's
 * cron and policy, or deletes it when the variable is unset. Every API process calls it; two
 * starting at once converge (a create that finds the schedule made updates it instead).
 */
export async function ensureRetentionSchedule(
  deps: Pick<ScheduleDeps, 'client' | 'taskQueue'>,
  { cron, policy }: { cron: string | null; policy: RetentionPolicy | null },
): Promise<'created' | 'updated' | 'deleted' | 'absent'> {
  const id = retentionScheduleId(deps.taskQueue);
  const handle = deps.client.schedule.getHandle(id);
  if (!cron || !policy) {
    try {
      await handle.delete();
      return 'deleted';
    } catch (error) {
      if (error instanceof ScheduleNotFoundError || isNotFound(error)) return 'absent';
      // A server without schedules (Temporal's time-skipping test server) holds none to delete.
      if (grpcCode(error) === UNIMPLEMENTED) return 'absent';
      throw error;
    }
  }
  const action = {
    type: 'startWorkflow' as const,
    workflowType: retentionWorkflow,
    args: [{ policy }] as [{ policy: RetentionPolicy }],
    taskQueue: deps.taskQueue,
    workflowId: id,
  };
  try {
    await deps.client.schedule.create({
      scheduleId: id,
      spec: { cronExpressions: [cron] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) {
      if (isInvalidArgument(error)) throw new InvalidScheduleSpecError(`RETENTION_SCHEDULE: ${(error as Error).message}`);
      throw error;
    }
  }
  await handle.update((previous) => ({ ...previous, spec: { cronExpressions: [cron] }, action }));
  return 'updated';
}
