// Retention: deletes old finished runs — their rows, events, logs, artifacts and stored files,
// through the same code as deleteRun (tombstones included) — under a policy: older than an age,
// beyond the newest N runs of their instance, never runs with a label to keep, failed runs
// optionally kept longer. Active (CREATED, QUEUED, RUNNING) runs are never touched. A dry run
// only reports what would go.
import { Prisma, type User } from '../generated/prisma/client.ts';
import { ForbiddenError, ValidationError } from '../errors.ts';
import type { ServiceDeps } from './deps.ts';
import { deleteRunsInTx, deleteStoredFiles, retryOnDeadlock } from './delete-run.ts';

const BATCH = 200;
/** Candidates listed in the answer; the count covers them all. */
export const LISTED_CANDIDATES = 100;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionPolicy {
  /** Finished runs older than this (by finish time) may go. */
  olderThanDays?: number | null;
  /** FAILED runs are kept this long instead (to investigate them); default olderThanDays. */
  failedOlderThanDays?: number | null;
  /** The newest N runs of each instance are kept, whatever their age. */
  keepLastPerInstance?: number | null;
  /** Runs with any of these labels are kept. */
  keepLabels?: string[] | null;
  /** Only this instance's runs (raw id). */
  instanceId?: string | null;
}

export interface RetentionCandidate {
  id: string;
  instanceId: string;
  status: string;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface RetentionResult {
  dryRun: boolean;
  /** Runs the policy selects (deleted, or that a real run would delete). */
  matchedCount: number;
  deletedCount: number;
  /** The first LISTED_CANDIDATES of them, oldest first. */
  candidates: RetentionCandidate[];
}

export function checkRetentionPolicy(policy: RetentionPolicy): void {
  const errors = [];
  if (policy.olderThanDays == null && policy.keepLastPerInstance == null) {
    errors.push({ path: ['olderThanDays'], message: 'Give olderThanDays or keepLastPerInstance (or both): retention without a limit would delete every finished run' });
  }
  for (const key of ['olderThanDays', 'failedOlderThanDays', 'keepLastPerInstance'] as const) {
    const value = policy[key];
    if (value != null && (!Number.isFinite(value) || value < 0)) errors.push({ path: [key], message: 'Must be zero or more' });
  }
  if (errors.length > 0) throw new ValidationError(errors);
}

export async function applyRetention(
  deps: Pick<ServiceDeps, 'db' | 'storageRoot'>,
  { user, policy, dryRun = true, now = new Date() }: { user: User; policy: RetentionPolicy; dryRun?: boolean; now?: Date },
): Promise<RetentionResult> {
  if (!user.isAdmin) throw new ForbiddenError('Only an admin can apply retention');
  checkRetentionPolicy(policy);
  const selected = await selectRuns({ deps, policy, now });
  let deletedCount = 0;
  if (!dryRun) {
    for (let start = 0; start < selected.length; start += BATCH) {
      const ids = selected.slice(start, start + BATCH).map((run) => run.id);
      // deleteRunsInTx re-checks under lock that each run is still finished.
      const deleted = await retryOnDeadlock(() =>
        deps.db.$transaction((tx) => deleteRunsInTx(tx, { where: { id: { in: ids } }, deletedById: user.id, reason: 'retention' })),
      );
      await deleteStoredFiles(deps as ServiceDeps, deleted);
      deletedCount += deleted.length;
    }
  }
  return { dryRun, matchedCount: selected.length, deletedCount, candidates: selected.slice(0, LISTED_CANDIDATES) };
}

/** One statement: rank each instance's runs newest first, then apply the policy to finished ones. */
async function selectRuns({ deps, policy, now }: { deps: Pick<ServiceDeps, 'db'>; policy: RetentionPolicy; now: Date }) {
  const cutoff = policy.olderThanDays != null ? new Date(now.getTime() - policy.olderThanDays * DAY_MS) : null;
  const failedCutoff = policy.failedOlderThanDays != null ? new Date(now.getTime() - policy.failedOlderThanDays * DAY_MS) : cutoff;
  const keepLabels = policy.keepLabels ?? [];
  // The columns are timestamp without time zone holding UTC: compare with UTC wall-clock text.
  const utc = (date: Date | null) => (date ? date.toISOString().replace('Z', '') : null);
  return deps.db.$queryRaw<RetentionCandidate[]>`
    SELECT id, "instanceId", status::text AS status, "createdAt", "finishedAt"
    FROM (
      SELECT r.id, r."instanceId", r.status, r.labels, r."createdAt", r."finishedAt",
             row_number() OVER (PARTITION BY r."instanceId" ORDER BY r."createdAt" DESC, r.id DESC) AS rank
      FROM "RoutineRun" r
      ${policy.instanceId ? Prisma.sql`WHERE r."instanceId" = ${policy.instanceId}::uuid` : Prisma.empty}
    ) ranked
    WHERE status::text IN ('COMPLETED', 'FAILED', 'CANCELLED')
      AND NOT (labels && ${keepLabels}::text[])
      ${policy.keepLastPerInstance != null ? Prisma.sql`AND rank > ${policy.keepLastPerInstance}` : Prisma.empty}
      ${
        cutoff
          ? Prisma.sql`AND COALESCE("finishedAt", "createdAt") < CASE WHEN status::text = 'FAILED' THEN ${utc(failedCutoff)}::timestamp ELSE ${utc(cutoff)}::timestamp END`
          : failedCutoff
            ? Prisma.sql`AND (status::text <> 'FAILED' OR COALESCE("finishedAt", "createdAt") < ${utc(failedCutoff)}::timestamp)`
            : Prisma.empty
      }
    ORDER BY COALESCE("finishedAt", "createdAt") ASC, id ASC`;
}
