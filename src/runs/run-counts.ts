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
import {
  MAX_FACET_LABELS,
  narrowingConditions,
  runFilterSql,
  visibleRunFilterSql,
  type FilterDimension,
  type RunFilter,
} from './run-filter.ts';

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

const COUNTED_CONDITIONS = new Set<keyof RunFilter>(['status', 'labelsAll', 'labelsAny', 'routineName', 'methodName', 'instanceId']);

/**
 * How the counters can answer `filter` (less the `omit`ted dimension): with the label the runs
 * must carry (or none); null when some condition is not a counter dimension.
 */
function counterShape(filter: RunFilter, omit?: FilterDimension): { label: string | null } | null {
  if (countingStrategy === 'rows') return null;
  // Only the dimensions the counters hold: any other condition (a schedule, a search…) counts runs.
  if (narrowingConditions(filter).some((condition) => !COUNTED_CONDITIONS.has(condition))) return null;
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

/** totalCount and whether it is approximate, as two SQL scalars (int, boolean). */
export function runTotalSql(
  access: Access,
  filter: RunFilter,
  scope: CountScope = UNSCOPED,
): { count: Prisma.Sql; approximate: Prisma.Sql; capped: Prisma.Sql | null } {
  const shape = counterShape(filter);
  if (shape) {
    return {
      count: Prisma.sql`(SELECT coalesce(sum(c.count), 0)::int FROM ${counterRows(access, filter, scope, shape.label)})`,
      approximate: Prisma.sql`false`,
      capped: null,
    };
  }
  if (countingStrategy === 'rows') {
    const count = Prisma.sql`(SELECT count(*)::int FROM ${matchingRuns(access, filter, scope)})`;
    return { count, approximate: Prisma.sql`false`, capped: null };
  }
  // How many match, counted up to one past the cap: more than COUNT_CAP means approximate.
  const capped = Prisma.sql`(SELECT count(*)::int FROM (SELECT 1 FROM ${matchingRuns(access, filter, scope)} LIMIT ${COUNT_CAP + 1}) capped)`;
  return { count: Prisma.sql`least(${capped}, ${COUNT_CAP})`, approximate: Prisma.sql`(${capped} > ${COUNT_CAP})`, capped };
}

/** The facets as SQL: `status` rows (status, count), `labels` rows (label, count), `approximate` (boolean), read under `ctes`. */
export interface FacetsSql {
  /** Common table expressions the other parts read (the samples of runs a capped facet counts). */
  ctes: Prisma.Sql[];
  /** Unordered: statuses with at least one run. */
  status: Prisma.Sql;
  /** The MAX_FACET_LABELS most used labels, most runs first, ties by code point. */
  labels: Prisma.Sql;
  /** Whether a facet counted only COUNT_CAP of its runs. */
  approximate: Prisma.Sql;
}

/**
 * Each facet from the counters when they hold its filter (the filter less the facet's own
 * dimension); otherwise from a sample of COUNT_CAP + 1 matching runs, read once (MATERIALIZED) for
 * both the counts (its first COUNT_CAP) and the flag, and shared by both facets when neither
 * dimension is in the filter: one bounded scan instead of four.
 */
export function runFacetsSql(access: Access, filter: RunFilter, scope: CountScope = UNSCOPED): FacetsSql {
  const ctes: Prisma.Sql[] = [];
  const shared = !filter.status && !filter.labelsAll?.length && !filter.labelsAny;
  const sampleOf = (omit: FilterDimension): Prisma.Sql => {
    const name = Prisma.raw(shared ? 'run_sample' : `${omit}_sample`);
    if (!shared || !ctes.length) {
      ctes.push(Prisma.sql`${name} AS MATERIALIZED (
        SELECT r.status, r.labels FROM ${matchingRuns(access, filter, scope, omit)} LIMIT ${COUNT_CAP + 1})`);
    }
    return name;
  };
  const flags: Prisma.Sql[] = [];

  let status: Prisma.Sql;
  const statusShape = counterShape(filter, 'status');
  if (statusShape) {
    status = Prisma.sql`SELECT c.status, sum(c.count)::int AS count FROM ${counterRows(access, filter, scope, statusShape.label, 'status')}
      GROUP BY c.status HAVING sum(c.count) > 0`;
  } else if (countingStrategy === 'rows') {
    status = Prisma.sql`SELECT r.status, count(*)::int AS count FROM ${matchingRuns(access, filter, scope, 'status')} GROUP BY r.status`;
  } else {
    const sample = sampleOf('status');
    status = Prisma.sql`SELECT status, count(*)::int AS count FROM (SELECT status FROM ${sample} LIMIT ${COUNT_CAP}) counted GROUP BY status`;
    flags.push(Prisma.sql`(SELECT count(*) FROM ${sample}) > ${COUNT_CAP}`);
  }

  let labels: Prisma.Sql;
  const top = Prisma.sql`GROUP BY label ORDER BY count(*) DESC, label COLLATE "C" LIMIT ${MAX_FACET_LABELS}`;
  if (counterShape(filter, 'labels')) {
    labels = Prisma.sql`SELECT c.label, sum(c.count)::int AS count FROM ${counterRows(access, filter, scope, null, 'labels', true)}
      GROUP BY c.label HAVING sum(c.count) > 0 ORDER BY sum(c.count) DESC, c.label COLLATE "C" LIMIT ${MAX_FACET_LABELS}`;
  } else if (countingStrategy === 'rows') {
    labels = Prisma.sql`SELECT label, count(*)::int AS count FROM "RoutineRun" r CROSS JOIN LATERAL unnest(r.labels) AS label
      WHERE ${visibleRunFilterSql(access, filter, { omit: 'labels' })} AND ${scope('r')} ${top}`;
  } else {
    const sample = sampleOf('labels');
    labels = Prisma.sql`SELECT label, count(*)::int AS count
      FROM (SELECT labels FROM ${sample} LIMIT ${COUNT_CAP}) counted CROSS JOIN LATERAL unnest(counted.labels) AS label ${top}`;
    if (!shared) flags.push(Prisma.sql`(SELECT count(*) FROM ${sample}) > ${COUNT_CAP}`);
  }

  const approximate = flags.length ? Prisma.sql`(${Prisma.join(flags, ' OR ')})` : Prisma.sql`false`;
  return { ctes, status, labels, approximate };
}

/** `body` (a SELECT) under the facets' common table expressions. */
export function withFacetSamples(facets: FacetsSql, body: Prisma.Sql): Prisma.Sql {
  return facets.ctes.length ? Prisma.sql`WITH ${Prisma.join(facets.ctes, ', ')} ${body}` : body;
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
  // A capped count is read once here, its flag derived from it.
  const rows = await queryRows<{ key: string; count: number }>(
    db,
    Prisma.sql`SELECT s.key, ${total.capped ?? total.count} AS count FROM ${from}`,
  );
  return new Map(
    rows.map((row) => [
      row.key,
      total.capped
        ? { count: Math.min(row.count, COUNT_CAP), approximate: row.count > COUNT_CAP }
        : { count: row.count, approximate: false },
    ]),
  );
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
  const facets = runFacetsSql(access, filter, scope);
  const parts = withFacetSamples(
    facets,
    Prisma.sql`SELECT 'status' AS kind, f.status::text AS value, f.count FROM (${facets.status}) f
      UNION ALL SELECT 'label', f.label, f.count FROM (${facets.labels}) f
      UNION ALL SELECT 'approximate', NULL, (${facets.approximate})::int`,
  );
  const rows = await queryRows<{ kind: 'status' | 'label' | 'approximate'; key: string; value: string | null; count: number }>(
    db,
    Prisma.sql`SELECT p.kind, s.key, p.value, p.count FROM ${from} CROSS JOIN LATERAL (${parts}) p`,
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
