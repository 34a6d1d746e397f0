// The schedule workflows' activities (workflows/schedule.workflow.ts). The worker builds them with
// the services a fire needs to create a run the way createRun does (src/runtime.ts startWorker).
import { ApplicationFailure } from '@temporalio/activity';
import { systemAccess } from '../../src/access/access.ts';
import { ValidationError } from '../../src/errors.ts';
import { applyRetention } from '../../src/services/apply-retention.ts';
import type { ServiceDeps } from '../../src/services/deps.ts';
import { FIRE_REFUSALS, fireSchedule, scheduledRunEnded } from '../../src/services/fire-schedule.ts';
import type { RetentionWorkflowInput } from '../shared.ts';

export function createScheduleActivities({ services }: { services: ServiceDeps }) {
  return {
    async createScheduledRun({ scheduleId, fireId }: { scheduleId: string; fireId: string }): Promise<{ runId: string | null }> {
      try {
        return { runId: await fireSchedule(services, { scheduleId, fireId }) };
      } catch (error) {
        const refusal = FIRE_REFUSALS.find((type) => error instanceof type);
        // A retry cannot change a refusal: the fire fails at once and says why (the schedule's lastFireError).
        if (refusal) {
          const detail = error instanceof ValidationError ? `: ${JSON.stringify(error.fieldErrors)}` : '';
          throw ApplicationFailure.nonRetryable(`${(error as Error).message}${detail}`, refusal.name);
        }
        throw error;
      }
    },

    /** Local activity. */
    async scheduledRunEnded({ runId }: { runId: string }): Promise<boolean> {
      return scheduledRunEnded(services, runId);
    },

    async applyScheduledRetention({ policy }: RetentionWorkflowInput): Promise<{ deletedCount: number }> {
      const { db } = services;
      const user = await db.user.upsert({ where: { name: 'retention' }, create: { name: 'retention' }, update: {} });
      // The operator's policy, set in the deployment's environment: it acts in every workspace, as `npm run retention` does.
      const result = await applyRetention(services, { access: await systemAccess(db, user), policy, dryRun: false });
      return { deletedCount: result.deletedCount };
    },
  };
}

export type ScheduleActivities = ReturnType<typeof createScheduleActivities>;
