// Run lists' totalCount and facets, for the resolvers and the compiled reads alike (one SQL for both).
//
// A filter made only of counted dimensions — status, routineName, methodName, instanceId, at most
// one label (labelsAll/labelsAny), and the request's workspaces — is answered from the counters
// (RunCount, RunLabelCount: prisma/migrations/20261204090200_run_counters), which triggers keep
// exact in every writer's transaction: a sum over a few hundred rows however many runs there are.
// Any other filter (search, attributes, createdBy, createdAfter/Before, several labels) counts
// runs, but at most COUNT_CAP + 1 of them: up to COUNT_CAP the count is exact; beyond, totalCount
// is COUNT_CAP and `approximate` is true (there are more). Facets under such a filter count the
// first COUNT_CAP matching runs and say so the same way. docs/querying.md#counts.
import { Prisma } from '../generated/prisma/client.ts';
import type { RunStatus } from '../generated/prisma/enums.ts';
import type { Access } from '../access/access.ts';
import { visibleSql } from '../access/visibility.ts';
import { queryRows, type Db } from '../db/client.ts';
import { MAX_FACET_LABELS, runFilterSql, visibleRunFilterSql, type FilterDimension, type RunFilter } from './run-filter.ts';

/** Beyond this many matching runs, a count that has to read runs stops and says it is approximate. */
export const COUNT_CAP = 10_000;

/**
 * 'rows' counts every matching run, as before the counters existed, with no cap: only
 * bench/counts.ts sets it, to measure both ways in one process.
 */
let countingStrategy: 'counters' | 'rows' = 'counters';
export function setCountingStrategy(strategy: 'counters' | 'rows'): void {
  countingStrategy = strategy;
}

/** One more condition on the counted table (alias given): a nested list's instance, or TRUE. */
export type CountScope = (alias: string) => Prisma.Sql;
export const UNSCOPED: CountScope = () => Prisma.sql`TRUE`;

/**
 * How the counters can answer `filter` (less the `omit`ted dimension): with the label the runs
 * must carry (or none); null when some condition is not a counter dimension.
 */
function counterShape(filter: RunFilter, omit?: FilterDimension): { label: string | null } | null {
  if (countingStrategy === 'rows') return null;
  if (filter.attributes !== undefined && filter.attributes !== null) return null;
  if (filter.createdBy || filter.createdAfter || filter.createdBefore || filter.search) return null;
  if (omit === 'labels') return { label: null };
  const labels = new Set(filter.labelsAll ?? []);
  if (filter.labelsAny) {
    // `labels && '{}'` matches nothing, and two labels are an overlap the counters do not hold.
    if (filter.labelsAny.length !== 1) return null;
    labels.add(filter.labelsAny[0]);
  }
  if (labels.size > 1) return null;
  return { label: labels.size ? [...labels][0] : null };
}

/** The counter rows matching the filter, as FROM … WHERE … on alias `c`. */
function counterRows(
  access: Access,
  filter: RunFilter,
  scope: CountScope,
  label: string | null,
  omit?: FilterDimension,
  labelTable = false,
) {
  // The counted dimensions only: their SQL is runFilterSql's, as the counters' columns are named like the run's.
  const counted: RunFilter = {
    status: filter.status,
    routineName: filter.routineName,
    methodName: filter.methodName,
    instanceId: filter.instanceId,
  };
  const table = label !== null || labelTable ? Prisma.raw('"RunLabelCount"') : Prisma.raw('"RunCount"');
  const labelCondition = label !== null ? Prisma.sql` AND c.label = ${label}` : Prisma.empty;
  return Prisma.sql`${table} c WHERE ${visibleSql(access, 'c')} AND ${runFilterSql(counted, { alias: 'c', omit })}${labelCondition} AND ${scope('c')}`;
}

/** The matching runs as FROM … WHERE … on alias `r`. */
function matchingRuns(access: Access, filter: RunFilter, scope: CountScope, omit?: FilterDimension) {
  return Prisma.sql`"RoutineRun" r WHERE ${visibleRunFilterSql(access, filter, { omit })} AND ${scope('r')}`;
}

/** More than COUNT_CAP runs match (false when the counters answer: they are exact). */
function beyondCapSql(access: Access, filter: RunFilter, scope: CountScope, omit?: FilterDimension): Prisma.Sql {
  if (counterShape(filter, omit) || countingStrategy === 'rows') return Prisma.sql`false`;
  return Prisma.sql`EXISTS (SELECT 1 FROM ${matchingRuns(access, filter, scope, omit)} OFFSET ${COUNT_CAP})`;
}

/** totalCount and whether it is approximate, as two SQL scalars (int, boolean). */
export function runTotalSql(
  access: Access,
  filter: RunFilter,
  scope: CountScope = UNSCOPED,
): { count: Prisma.Sql; approximate: Prisma.Sql } {
  const shape = counterShape(filter);
  if (shape) {
    return {
      count: Prisma.sql`(SELECT coalesce(sum(c.count), 0)::int FROM ${counterRows(access, filter, scope, shape.label)})`,
      approximate: Prisma.sql`false`,
    };
  }
  if (countingStrategy === 'rows') {
    return { count: Prisma.sql`(SELECT count(*)::int FROM ${matchingRuns(access, filter, scope)})`, approximate: Prisma.sql`false` };
  }
  return {
    count: Prisma.sql`(SELECT count(*)::int FROM (SELECT 1 FROM ${matchingRuns(access, filter, scope)} LIMIT ${COUNT_CAP}) sample)`,
    approximate: beyondCapSql(access, filter, scope),
  };
}

/** The status facet's rows (status, count), unordered: statuses with at least one run. */
export function statusFacetSql(access: Access, filter: RunFilter, scope: CountScope = UNSCOPED): Prisma.Sql {
  const shape = counterShape(filter, 'status');
  if (shape) {
    return Prisma.sql`SELECT c.status, sum(c.count)::int AS count FROM ${counterRows(access, filter, scope, shape.label, 'status')}
      GROUP BY c.status HAVING sum(c.count) > 0`;
  }
  const limit = countingStrategy === 'rows' ? Prisma.empty : Prisma.sql` LIMIT ${COUNT_CAP}`;
  return Prisma.sql`SELECT status, count(*)::int AS count FROM (SELECT r.status FROM ${matchingRuns(access, filter, scope, 'status')}${limit}) sample
    GROUP BY status`;
}

/** The label facet's rows (label, count): the MAX_FACET_LABELS most used, most runs first, ties by code point. */
export function labelFacetSql(access: Access, filter: RunFilter, scope: CountScope = UNSCOPED): Prisma.Sql {
  const shape = counterShape(filter, 'labels');
  if (shape) {
    return Prisma.sql`SELECT c.label, sum(c.count)::int AS count FROM ${counterRows(access, filter, scope, null, 'labels', true)}
      GROUP BY c.label HAVING sum(c.count) > 0 ORDER BY sum(c.count) DESC, c.label COLLATE "C" LIMIT ${MAX_FACET_LABELS}`;
  }
  const limit = countingStrategy === 'rows' ? Prisma.empty : Prisma.sql` LIMIT ${COUNT_CAP}`;
  return Prisma.sql`SELECT label, count(*)::int AS count
    FROM (SELECT r.labels FROM ${matchingRuns(access, filter, scope, 'labels')}${limit}) sample CROSS JOIN LATERAL unnest(sample.labels) AS label
    GROUP BY label ORDER BY count(*) DESC, label COLLATE "C" LIMIT ${MAX_FACET_LABELS}`;
}

/** Whether either facet counted only the first COUNT_CAP of its runs. */
export function facetsApproximateSql(access: Access, filter: RunFilter, scope: CountScope = UNSCOPED): Prisma.Sql {
  return Prisma.sql`(${beyondCapSql(access, filter, scope, 'status')} OR ${beyondCapSql(access, filter, scope, 'labels')})`;
}

// ---- The resolvers' reads: one statement for Query.runs or for every instance of a nested list ----

export interface RunTotal {
  count: number;
  approximate: boolean;
}

export interface RunFacets {
  status: { status: RunStatus; count: number }[];
  labels: { label: string; count: number }[];
  approximate: boolean;
}

/** Query.runs (no instanceIds: one scope keyed '') or one scope per instance (keyed by its id). */
function scopes(instanceIds: string[] | undefined): { from: Prisma.Sql; scope: CountScope } {
  if (!instanceIds) return { from: Prisma.sql`(VALUES ('')) AS s(key)`, scope: UNSCOPED };
  return {
    from: Prisma.sql`(SELECT id, id::text AS key FROM unnest(${instanceIds}::uuid[]) AS i(id)) s`,
    scope: (alias) => Prisma.sql`${Prisma.raw(`${alias}."instanceId"`)} = s.id`,
  };
}

export async function countRunTotals(db: Db, access: Access, filter: RunFilter, instanceIds?: string[]): Promise<Map<string, RunTotal>> {
  const { from, scope } = scopes(instanceIds);
  const total = runTotalSql(access, filter, scope);
  const rows = await queryRows<{ key: string; count: number; approximate: boolean }>(
    db,
    Prisma.sql`SELECT s.key, ${total.count} AS count, ${total.approximate} AS approximate FROM ${from}`,
  );
  return new Map(rows.map((row) => [row.key, { count: row.count, approximate: row.approximate }]));
}

/** Ties in facet counts: by code point, as PostgreSQL's `COLLATE "C"` (compiled reads sort in SQL). */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Facet counts of the filtered runs per scope, in one statement. Each facet ignores its own
 * dimension of the filter: the status facet counts every status the other conditions allow, the
 * label facet (top MAX_FACET_LABELS) ignores labelsAll/labelsAny.
 */
export async function runFacets(
  db: Db,
  { access, filter, instanceIds }: { access: Access; filter: RunFilter; instanceIds?: string[] },
): Promise<Map<string, RunFacets>> {
  const { from, scope } = scopes(instanceIds);
  const rows = await queryRows<{ kind: 'status' | 'label' | 'approximate'; key: string; value: string | null; count: number }>(
    db,
    Prisma.sql`
    SELECT 'status' AS kind, s.key, f.status::text AS value, f.count FROM ${from} CROSS JOIN LATERAL (${statusFacetSql(access, filter, scope)}) f
    UNION ALL SELECT 'label', s.key, f.label, f.count FROM ${from} CROSS JOIN LATERAL (${labelFacetSql(access, filter, scope)}) f
    UNION ALL SELECT 'approximate', s.key, NULL, (${facetsApproximateSql(access, filter, scope)})::int FROM ${from}`,
  );
  const byScope = new Map<string, RunFacets>();
  for (const key of instanceIds ?? ['']) byScope.set(key, { status: [], labels: [], approximate: false });
  for (const row of rows) {
    const facets = byScope.get(row.key)!;
    if (row.kind === 'status') facets.status.push({ status: row.value as RunStatus, count: row.count });
    else if (row.kind === 'label') facets.labels.push({ label: row.value!, count: row.count });
    else facets.approximate = row.count === 1;
  }
  for (const facets of byScope.values()) {
    facets.status.sort((a, b) => b.count - a.count || byCodePoint(a.status, b.status));
    facets.labels.sort((a, b) => b.count - a.count || byCodePoint(a.label, b.label));
  }
  return byScope;
}
