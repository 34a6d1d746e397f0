// Retention: deletes old finished runs — their rows, events, logs, artifacts and stored files,
// through the same code as deleteRun (tombstones included) — under a policy: older than an age,
// beyond the newest N runs of their instance, never runs with a label to keep, failed runs
// optionally kept longer. Active (CREATED, QUEUED, RUNNING) runs are never touched. A dry run
// only reports what would go: how many, and the oldest LISTED_CANDIDATES. It acts only in the
// workspaces where the request is ADMIN (`npm run retention` has the operator's access: all of them).
import { Prisma } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import { ForbiddenError, ValidationError } from '../errors.ts';
import type { ServiceDeps } from './deps.ts';
import { requireInstance } from './require-access.ts';
import { deleteRunsInTx, deleteStoredFiles, retryOnDeadlock } from './delete-run.ts';

/** Runs selected, and deleted in one transaction, at a time. */
export const RETENTION_PAGE_SIZE = 200;
const INSTANCE_PAGE_SIZE = 500;
/** Candidates listed in the answer; the count covers them all. */
export const LISTED_CANDIDATES = 100;
const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * The longest age a policy may name (100 years): `now` minus far more is no date JavaScript or
 * PostgreSQL's timestamp can hold, and no run is that old anyway.
 */
export const MAX_RETENTION_DAYS = 36_500;

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
    errors.push({
      path: ['olderThanDays'],
      message: 'Give olderThanDays or keepLastPerInstance (or both): retention without a limit would delete every finished run',
    });
  }
  for (const key of ['olderThanDays', 'failedOlderThanDays', 'keepLastPerInstance'] as const) {
    const value = policy[key];
    if (value != null && (!Number.isFinite(value) || value < 0)) errors.push({ path: [key], message: 'Must be zero or more' });
    else if (value != null && key !== 'keepLastPerInstance' && value > MAX_RETENTION_DAYS) {
      errors.push({ path: [key], message: `Must be at most ${MAX_RETENTION_DAYS} days (100 years), got ${value}` });
    }
  }
  if (errors.length > 0) throw new ValidationError(errors);
}

export async function applyRetention(
  deps: Pick<ServiceDeps, 'db' | 'storageRoot'>,
  {
    access,
    policy,
    workspaceId = null,
    dryRun = true,
    now = new Date(),
  }: {
    access: Access;
    policy: RetentionPolicy;
    /** Only this workspace's runs (raw id); default every workspace where the request is ADMIN. */
    workspaceId?: string | null;
    dryRun?: boolean;
    now?: Date;
  },
): Promise<RetentionResult> {
  const workspaceIds = retentionWorkspaces(access, workspaceId);
  if (policy.instanceId) {
    const instance = await deps.db.routineInstance.findUnique({ where: { id: policy.instanceId }, select: { workspaceId: true } });
    requireInstance(access, 'applyRetention', instance, policy.instanceId);
  }
  checkRetentionPolicy(policy);
  const scope = { deps, policy, now, workspaceIds };
  // What a dry run reports, and a real run too: how many runs the policy selects, the oldest listed.
  const { runs: candidates, total } = await selectPage({
    ...scope,
    instanceId: policy.instanceId ?? null,
    after: null,
    limit: LISTED_CANDIDATES,
  });
  if (dryRun || total === 0) return { dryRun, matchedCount: total, deletedCount: 0, candidates };
  // Instance by instance, page by page (oldest first), each page selected once the previous one
  // is gone: memory holds one page whatever the number of runs, and a page costs what its
  // instance's runs cost to rank, not the whole table. Deleting a selected run never changes
  // whether another is selected — the newest keepLastPerInstance of an instance are never
  // selected, so the runs ranked behind them stay behind them — so the pages add up to what the
  // first statement counted.
  let deletedCount = 0;
  for await (const instanceId of instancesOf(scope)) {
    let after: RetentionCandidate | null = null;
    for (;;) {
      const { runs } = await selectPage({ ...scope, instanceId, after, limit: RETENTION_PAGE_SIZE });
      if (runs.length === 0) break;
      const ids = runs.map((run) => run.id);
      // deleteRunsInTx re-checks under lock that each run is still finished.
      const deleted = await retryOnDeadlock(() =>
        deps.db.$transaction((tx) => deleteRunsInTx(tx, { where: { id: { in: ids } }, deletedById: access.user.id, reason: 'retention' })),
      );
      await deleteStoredFiles(deps as ServiceDeps, deleted);
      deletedCount += deleted.length;
      if (runs.length < RETENTION_PAGE_SIZE) break;
      after = runs[runs.length - 1];
    }
  }
  return { dryRun, matchedCount: total, deletedCount, candidates };
}

/** The workspaces retention acts in: the one asked for, else every one where the request is ADMIN. */
function retentionWorkspaces(access: Access, workspaceId: string | null): string[] {
  if (workspaceId) {
    access.require('applyRetention', workspaceId, { what: 'Workspace', id: workspaceId });
    return [workspaceId];
  }
  const workspaceIds = access.workspaceIds.filter((id) => access.can('applyRetention', id));
  if (workspaceIds.length > 0) return workspaceIds;
  if (access.workspaceIds.length > 0) throw access.forbidden('applyRetention', access.workspaceIds[0]);
  throw new ForbiddenError('Retention needs the ADMIN role in a workspace', 'ADMIN', null);
}

/** The policy's instance, or every instance of the workspaces, a keyset page of ids at a time. */
async function* instancesOf({
  deps,
  policy,
  workspaceIds,
}: {
  deps: Pick<ServiceDeps, 'db'>;
  policy: RetentionPolicy;
  workspaceIds: string[];
}): AsyncGenerator<string> {
  if (policy.instanceId) {
    yield policy.instanceId;
    return;
  }
  let after: string | null = null;
  for (;;) {
    const page: Array<{ id: string }> = await deps.db.routineInstance.findMany({
      where: { workspaceId: { in: workspaceIds }, ...(after ? { id: { gt: after } } : {}) },
      select: { id: true },
      orderBy: { id: 'asc' },
      take: INSTANCE_PAGE_SIZE,
    });
    for (const { id } of page) yield id;
    if (page.length < INSTANCE_PAGE_SIZE) return;
    after = page[page.length - 1].id;
  }
}

/**
 * One page of the runs the policy selects (of one instance, or of all), oldest first (by finish
 * time, then id), after the keyset position `after`; with the count of all of them when it is the
 * first page. One statement: rank each instance's runs newest first, then apply the policy to
 * finished ones.
 */
async function selectPage({
  deps,
  policy,
  now,
  workspaceIds,
  instanceId,
  after,
  limit,
}: {
  deps: Pick<ServiceDeps, 'db'>;
  policy: RetentionPolicy;
  now: Date;
  workspaceIds: string[];
  instanceId: string | null;
  after: RetentionCandidate | null;
  limit: number;
}): Promise<{ runs: RetentionCandidate[]; total: number }> {
  const cutoff = policy.olderThanDays != null ? new Date(now.getTime() - policy.olderThanDays * DAY_MS) : null;
  const failedCutoff = policy.failedOlderThanDays != null ? new Date(now.getTime() - policy.failedOlderThanDays * DAY_MS) : cutoff;
  const keepLabels = policy.keepLabels ?? [];
  // The columns are timestamp without time zone holding UTC: compare with UTC wall-clock text.
  const utc = (date: Date | null) => (date ? date.toISOString().replace('Z', '') : null);
  const rows = await deps.db.$queryRaw<Array<RetentionCandidate & { total: bigint }>>`
    SELECT id, "instanceId", status::text AS status, "createdAt", "finishedAt",
           ${after ? Prisma.sql`0::bigint` : Prisma.sql`count(*) OVER ()`} AS total
    FROM (
      SELECT r.id, r."instanceId", r.status, r.labels, r."createdAt", r."finishedAt",
             row_number() OVER (PARTITION BY r."instanceId" ORDER BY r."createdAt" DESC, r.id DESC) AS rank
      FROM "RoutineRun" r
      WHERE r."workspaceId" = ANY(${workspaceIds}::uuid[])
      ${instanceId ? Prisma.sql`AND r."instanceId" = ${instanceId}::uuid` : Prisma.empty}
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
      ${
        after
          ? Prisma.sql`AND (COALESCE("finishedAt", "createdAt"), id) > (${utc(after.finishedAt ?? after.createdAt)}::timestamp, ${after.id}::uuid)`
          : Prisma.empty
      }
    ORDER BY COALESCE("finishedAt", "createdAt") ASC, id ASC
    LIMIT ${limit}`;
  return { runs: rows.map(({ total: _total, ...run }) => run), total: Number(rows[0]?.total ?? 0) };
}
