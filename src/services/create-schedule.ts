// createSchedule: a run of a method with fixed inputs, fired by a Temporal Schedule on a cron
// expression or an interval. Everything a fire's createRun would check about the inputs is checked
// now (so a schedule never fires runs doomed by its own inputs); the row and the Temporal Schedule
// are made together: the row is inserted in a transaction that commits only once Temporal has
// accepted the schedule, so a failure of either leaves neither.
import type { Prisma, Schedule } from '../generated/prisma/client.ts';
import type { ScheduleOverlapPolicy } from '../generated/prisma/enums.ts';
import type { Access } from '../access/access.ts';
import { ValidationError, type FieldError } from '../errors.ts';
import { LABEL_PATTERN, MAX_LABELS, MAX_LABEL_LENGTH, normalizeLabels } from '../rules/run-metadata.ts';
import {
  createTemporalSchedule,
  deleteTemporalSchedule,
  InvalidScheduleSpecError,
  shortestGapSeconds,
  temporalScheduleId,
} from '../schedules/temporal-schedules.ts';
import { validateRun, type ValidRun } from './create-run.ts';
import type { ServiceDeps } from './deps.ts';
import { scheduleLabel } from './fire-schedule.ts';

export interface CreateScheduleInput {
  instanceId: string;
  methodName: string;
  inputs?: unknown;
  cron?: string | null;
  intervalSeconds?: number | null;
  name: string;
  labels?: string[] | null;
  overlapPolicy?: ScheduleOverlapPolicy | null;
  memoryOverrideMb?: number | null;
  priority?: number | null;
}

/** Every run carries the label `schedule:{name}`, so a name is label text short enough to make one. */
export const MAX_SCHEDULE_NAME_LENGTH = MAX_LABEL_LENGTH - scheduleLabel('').length;
/** Longest cron expression accepted (Temporal parses it; this only bounds what is stored). */
const MAX_CRON_LENGTH = 200;

export async function createSchedule(
  deps: ServiceDeps,
  { access, input }: { access: Access; input: CreateScheduleInput },
): Promise<Schedule> {
  const { db } = deps;
  const schedules = deps.schedules;
  if (!schedules) throw new Error('Schedules need Temporal: this process has no schedule client');
  const errors: FieldError[] = [];
  const cron = input.cron?.trim() || null;
  const intervalSeconds = input.intervalSeconds ?? null;
  if ((cron === null) === (intervalSeconds === null)) {
    errors.push({ path: [cron === null ? 'cron' : 'intervalSeconds'], message: 'Give exactly one of cron and intervalSeconds' });
  }
  if (cron !== null) errors.push(...cronFormatErrors(cron));
  if (intervalSeconds !== null && !(Number.isInteger(intervalSeconds) && intervalSeconds >= schedules.minIntervalSeconds)) {
    errors.push({
      path: ['intervalSeconds'],
      message: `A whole number of seconds, at least ${schedules.minIntervalSeconds} (SCHEDULE_MIN_INTERVAL_SECONDS)`,
    });
  }
  if (!(input.name.length >= 1 && input.name.length <= MAX_SCHEDULE_NAME_LENGTH && LABEL_PATTERN.test(input.name))) {
    errors.push({
      path: ['name'],
      message: `1 to ${MAX_SCHEDULE_NAME_LENGTH} characters: a letter or digit, then letters, digits and _ . : / - (each run is labelled ${scheduleLabel('{name}')})`,
    });
  }
  const labels = normalizeLabels(input.labels ?? []);
  if (labels.length + 1 > MAX_LABELS) {
    errors.push({ path: ['labels'], message: `At most ${MAX_LABELS - 1} labels: each run also carries ${scheduleLabel(input.name)}` });
  }
  labels.forEach((label, index) => {
    // The schedule label says which schedule fired a run; one schedule must not wear another's.
    if (label.startsWith(scheduleLabel(''))) {
      errors.push({
        path: ['labels', String(index)],
        message: `Labels starting with ${scheduleLabel('')} are given by schedules themselves`,
      });
    }
  });
  // The run each fire will create, checked now exactly as createRun will check it (the method,
  // the creator's role for it, the inputs and the data they name, memory, priority, labels, a
  // stateful instance not yet configured). The inputs are stored as given: a parameter drawn at
  // random, a seed, is drawn anew by each fire.
  let valid: ValidRun | null = null;
  try {
    valid = await validateRun(deps, access, {
      instanceId: input.instanceId,
      methodName: input.methodName,
      inputs: input.inputs ?? {},
      labels,
      memoryOverrideMb: input.memoryOverrideMb ?? null,
      priority: input.priority ?? null,
    });
  } catch (error) {
    if (!(error instanceof ValidationError) || errors.length === 0) throw error;
    errors.push(...error.fieldErrors);
  }
  if (errors.length > 0 || !valid) throw new ValidationError(errors);
  const { instance } = valid;
  const inputs = input.inputs ?? {};

  let created: Schedule | null = null;
  try {
    return await db.$transaction(
      async (tx) => {
        // Schedules of one workspace are counted and named under its row's lock, so two creates
        // cannot both take the last place or the same name.
        await tx.$queryRaw`SELECT id FROM "Workspace" WHERE id = ${instance.workspaceId}::uuid FOR UPDATE`;
        const count = await tx.schedule.count({ where: { workspaceId: instance.workspaceId } });
        if (count >= schedules.perWorkspace) {
          throw ValidationError.field(
            ['instanceId'],
            `This workspace has ${count} schedules, the most SCHEDULES_PER_WORKSPACE allows: delete one first`,
          );
        }
        if (await tx.schedule.findUnique({ where: { workspaceId_name: { workspaceId: instance.workspaceId, name: input.name } } })) {
          throw ValidationError.field(['name'], `This workspace already has a schedule named "${input.name}"`);
        }
        const row = await tx.schedule.create({
          data: {
            workspaceId: instance.workspaceId,
            instanceId: instance.id,
            methodName: input.methodName,
            inputs: inputs as Prisma.InputJsonValue,
            cron,
            intervalSeconds,
            name: input.name,
            labels,
            overlapPolicy: input.overlapPolicy ?? 'SKIP',
            memoryOverrideMb: input.memoryOverrideMb ?? null,
            priority: input.priority ?? 0,
            createdById: access.user.id,
          },
        });
        try {
          await createTemporalSchedule(schedules, { ...row, paused: false });
        } catch (error) {
          if (error instanceof InvalidScheduleSpecError) {
            throw ValidationError.field([cron !== null ? 'cron' : 'intervalSeconds'], `Temporal refused it: ${error.message}`);
          }
          throw error;
        }
        created = row;
        if (cron !== null) {
          // Held to the same minimum as intervalSeconds, on the fire times Temporal computed (a
          // 6- or 7-field expression has a seconds field); refused here, the Temporal Schedule is
          // taken back below with the rolled-back row.
          const gap = await shortestGapSeconds(schedules.client, row.id);
          if (gap === null) throw ValidationError.field(['cron'], 'This cron expression never fires');
          if (gap < schedules.minIntervalSeconds) {
            throw ValidationError.field(
              ['cron'],
              `It fires ${formatSeconds(gap)} apart; at least ${schedules.minIntervalSeconds} s (SCHEDULE_MIN_INTERVAL_SECONDS) must pass between two fires`,
            );
          }
        }
        return row;
      },
      { timeout: 30_000 },
    );
  } catch (error) {
    // The commit failed after Temporal accepted the schedule: take it back, so nothing is half made.
    const made = created as Schedule | null;
    if (made) await deleteTemporalSchedule(schedules.client, temporalScheduleId(made.id)).catch(() => {});
    throw error;
  }
}

/**
 * What Temporal would take but the contract does not: cron is UTC (no CRON_TZ / TZ prefix) and
 * an interval is intervalSeconds (no `@every`, which would also escape the minimum).
 */
function cronFormatErrors(cron: string): FieldError[] {
  if (cron.length > MAX_CRON_LENGTH) return [{ path: ['cron'], message: `At most ${MAX_CRON_LENGTH} characters` }];
  if (/^(CRON_)?TZ=/i.test(cron)) return [{ path: ['cron'], message: 'Cron expressions are in UTC: leave out CRON_TZ / TZ' }];
  if (/^@every\b/i.test(cron)) return [{ path: ['cron'], message: 'Use intervalSeconds for a fixed interval instead of @every' }];
  return [];
}

function formatSeconds(seconds: number): string {
  return seconds < 1 ? `${seconds * 1000} ms` : `${seconds} s`;
}
