// The run graph's list semantics, in one place: RunFilter, RunOrder, keyset cursors on
// (sort value, id), page sizes, totals and facet counts.
//
// The filter is SQL (`runFilterSql`), always read with the request's visibility ANDed in
// (`visibleRunFilterSql`), for every list, total and facet (Query.runs, RoutineInstance.runs,
// compiled reads, runsUpdated) and for deleteRuns: the id page is read with
// raw SQL so that JSON containment uses the GIN jsonb_path_ops index (`@>`, which Prisma's
// filters cannot express) and a nullable sort column is read in index order with its NULLs after
// it; a nested list reads a page per parent in one statement (a LATERAL join and a LIMIT per
// parent), so it never reads every run of a parent.
//
// Nothing here knows GraphQL: a list's arguments arrive as plain values (the schema decodes
// global ids, schema/run-list-args.ts) and a refused one is a RunListInputError, which the schema
// reports as an argument error.
import { Prisma } from '../generated/prisma/client.ts';
import type { RunStatus } from '../generated/prisma/enums.ts';
import type { Access } from '../access/access.ts';
import { visibleSql } from '../access/visibility.ts';
import { queryRows, type Db } from '../db/client.ts';
import { MAX_LABEL_LENGTH } from '../rules/run-metadata.ts';
import { MAX_JSON_DEPTH, MAX_LIST_ENTRIES } from '../rules/text.ts';

/** A page size, cursor or filter condition a run list refuses; the message names the argument. */
export class RunListInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunListInputError';
  }
}

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_FACET_LABELS = 50;

export interface RunFilter {
  status?: RunStatus[] | null;
  labelsAll?: string[] | null;
  labelsAny?: string[] | null;
  /** JSON containment: runs whose attributes contain this object. */
  attributes?: unknown;
  routineName?: string | null;
  methodName?: string | null;
  /** A raw instance id, a UUID (the GraphQL layer decodes the global id and checks it). */
  instanceId?: string | null;
  /** Raw user ids, UUIDs. */
  createdBy?: string[] | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  /** Case-insensitive substring of the name or the description. */
  search?: string | null;
  /** Runs a schedule fired (a raw id; Schedule.runs sets it, RunFilter in GraphQL does not have it). */
  scheduleId?: string | null;
}

export type RunOrderField = 'CREATED_AT' | 'UPDATED_AT' | 'FINISHED_AT' | 'DURATION' | 'NAME' | 'PRIORITY';
export type OrderDirection = 'ASC' | 'DESC';
export interface RunOrder {
  field: RunOrderField;
  direction: OrderDirection;
}
export const DEFAULT_RUN_ORDER: RunOrder = { field: 'CREATED_AT', direction: 'DESC' };

type SortColumn = 'createdAt' | 'updatedAt' | 'finishedAt' | 'durationMs' | 'name' | 'priority';
interface SortSpec {
  column: SortColumn;
  nullable: boolean;
  kind: 'date' | 'int' | 'string';
}
const SORTS: Record<RunOrderField, SortSpec> = {
  CREATED_AT: { column: 'createdAt', nullable: false, kind: 'date' },
  UPDATED_AT: { column: 'updatedAt', nullable: false, kind: 'date' },
  FINISHED_AT: { column: 'finishedAt', nullable: true, kind: 'date' },
  DURATION: { column: 'durationMs', nullable: true, kind: 'int' },
  NAME: { column: 'name', nullable: true, kind: 'string' },
  PRIORITY: { column: 'priority', nullable: false, kind: 'int' },
};

export function sortSpec(order: RunOrder): SortSpec {
  return SORTS[order.field];
}

// ---- Page size ----

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw new RunListInputError(`"first" must be between 0 and ${MAX_PAGE_SIZE} (got ${first})`);
  }
  return first;
}

// ---- Cursors: (order, sort value, id), opaque to clients ----

export interface RunCursor {
  value: string | number | Date | null;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids in a filter or cursor are UUIDs: anything else would fail as SQL (`::uuid`), not match nothing. */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}

export function encodeRunCursor(order: RunOrder, row: Record<string, unknown> & { id: string }): string {
  const spec = sortSpec(order);
  const raw = row[spec.column];
  const value = raw instanceof Date ? raw.toISOString() : (raw ?? null);
  return Buffer.from(JSON.stringify([order.field, order.direction, value, row.id])).toString('base64url');
}

export function decodeRunCursor(order: RunOrder, cursor: string | null | undefined): RunCursor | null {
  if (cursor === null || cursor === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new RunListInputError('Invalid cursor: pass the cursor of an edge (or pageInfo.endCursor) from this list');
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) {
    throw new RunListInputError('Invalid cursor: pass the cursor of an edge (or pageInfo.endCursor) from this list');
  }
  const [field, direction, value, id] = parsed as unknown[];
  if (field !== order.field || direction !== order.direction) {
    throw new RunListInputError(
      `Invalid cursor: it belongs to a list ordered by ${String(field)} ${String(direction)}, not ${order.field} ${order.direction}`,
    );
  }
  if (typeof id !== 'string' || !UUID.test(id)) throw new RunListInputError('Invalid cursor: it names no run');
  const spec = sortSpec(order);
  if (value === null) {
    if (!spec.nullable) throw new RunListInputError('Invalid cursor: missing sort value');
    return { value: null, id };
  }
  if (spec.kind === 'date') {
    const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw new RunListInputError('Invalid cursor: bad sort value');
    return { value: date, id };
  }
  if (spec.kind === 'int') {
    if (typeof value !== 'number' || !Number.isInteger(value)) throw new RunListInputError('Invalid cursor: bad sort value');
    return { value, id };
  }
  if (typeof value !== 'string') throw new RunListInputError('Invalid cursor: bad sort value');
  return { value, id };
}

// ---- A run list: filter, order, page size and cursor, checked ----

export interface RunListQuery {
  filter: RunFilter;
  order: RunOrder;
  take: number;
  after: ReturnType<typeof decodeRunCursor>;
  /** Identifies the filter for batching nested totals and facets. */
  key: string;
}

// ---- Filter validation ----

// What one RunFilter may hold. Every condition becomes part of one SQL statement (and of the
// batching key of nested lists), so each is bounded; errors name the field and the limit.
export const RUN_FILTER_LIMITS = {
  /** status, labelsAll, labelsAny, createdBy. */
  listEntries: MAX_LIST_ENTRIES,
  /** search, routineName, methodName. */
  textLength: 200,
  /** Keys and array items of `attributes`, counted at every level. */
  attributeEntries: 100,
  attributeDepth: MAX_JSON_DEPTH,
} as const;

/** The size of a JSON value as entries and levels, walked without recursion and only as far as the limits. */
function jsonShape(value: unknown): { entries: number; depth: number } {
  let entries = 0;
  let depth = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [item, level] = stack.pop()!;
    depth = Math.max(depth, level);
    if (item === null || typeof item !== 'object') continue;
    if (entries > RUN_FILTER_LIMITS.attributeEntries || depth > RUN_FILTER_LIMITS.attributeDepth) break;
    for (const inner of Array.isArray(item) ? item : Object.values(item)) {
      entries += 1;
      stack.push([inner, level + 1]);
    }
  }
  return { entries, depth };
}

export function checkRunFilter(filter: RunFilter | null | undefined): RunFilter {
  const f = filter ?? {};
  const limits = RUN_FILTER_LIMITS;
  if (f.attributes !== undefined && f.attributes !== null) {
    if (typeof f.attributes !== 'object' || Array.isArray(f.attributes)) {
      throw new RunListInputError('filter.attributes must be a JSON object (runs whose attributes contain it match)');
    }
    const shape = jsonShape(f.attributes);
    if (shape.entries > limits.attributeEntries) {
      throw new RunListInputError(
        `filter.attributes may hold at most ${limits.attributeEntries} keys and array items in all (counted at every level)`,
      );
    }
    if (shape.depth > limits.attributeDepth) {
      throw new RunListInputError(`filter.attributes may be nested at most ${limits.attributeDepth} levels deep`);
    }
  }
  for (const [name, text] of [
    ['search', f.search],
    ['routineName', f.routineName],
    ['methodName', f.methodName],
  ] as const) {
    if (text && text.length > limits.textLength) {
      throw new RunListInputError(`filter.${name} may have at most ${limits.textLength} characters (got ${text.length})`);
    }
  }
  for (const [name, list] of [
    ['status', f.status],
    ['labelsAll', f.labelsAll],
    ['labelsAny', f.labelsAny],
    ['createdBy', f.createdBy],
  ] as const) {
    if (list && list.length > limits.listEntries) {
      throw new RunListInputError(`filter.${name} may have at most ${limits.listEntries} entries (got ${list.length})`);
    }
  }
  for (const name of ['labelsAll', 'labelsAny'] as const) {
    // A longer label is stored on no run: refused rather than matched against nothing.
    const index = f[name]?.findIndex((label) => label.length > MAX_LABEL_LENGTH) ?? -1;
    if (index >= 0)
      throw new RunListInputError(
        `filter.${name}[${index}] may have at most ${MAX_LABEL_LENGTH} characters, as a label (got ${f[name]![index].length})`,
      );
  }
  return f;
}

function likePattern(search: string): string {
  return `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

// ---- The filter as SQL (every list, total and facet; deleteRuns) ----

export type FilterDimension = 'status' | 'labels';

export interface RunFilterSqlOptions {
  /** A dimension left out (facets). */
  omit?: FilterDimension;
  /** The alias of `RoutineRun` in the statement (default `r`). */
  alias?: string;
}

/**
 * The conditions of `filter` that can leave a run out, as runFilterSql writes them: a condition
 * that holds for every run (`search: ""`, `attributes: {}`, `labelsAll: []`) is none. cancelRuns
 * and deleteRuns refuse a filter without one; the counters answer only filters whose conditions
 * they hold (src/runs/run-counts.ts).
 */
export function narrowingConditions(filter: RunFilter): (keyof RunFilter)[] {
  const conditions: (keyof RunFilter)[] = [];
  if (filter.status) conditions.push('status');
  if (filter.labelsAll?.length) conditions.push('labelsAll');
  if (filter.labelsAny) conditions.push('labelsAny');
  const attributes = filter.attributes;
  if (attributes !== undefined && attributes !== null && !(typeof attributes === 'object' && Object.keys(attributes).length === 0)) {
    conditions.push('attributes');
  }
  for (const key of [
    'routineName',
    'methodName',
    'instanceId',
    'scheduleId',
    'createdBy',
    'createdAfter',
    'createdBefore',
    'search',
  ] as const) {
    if (filter[key]) conditions.push(key);
  }
  return conditions;
}

/** The filter as one SQL condition on `RoutineRun` aliased `r` (or `alias`); `omit` drops a dimension (facets). */
export function runFilterSql(filter: RunFilter, { omit, alias = 'r' }: RunFilterSqlOptions = {}): Prisma.Sql {
  const c = (name: string) => Prisma.raw(`${alias}.${name}`);
  const parts: Prisma.Sql[] = [];
  if (filter.status && omit !== 'status') {
    parts.push(Prisma.sql`${c('status')} = ANY(${filter.status}::"RunStatus"[])`);
  }
  if (filter.labelsAll?.length && omit !== 'labels') parts.push(Prisma.sql`${c('labels')} @> ${filter.labelsAll}::text[]`);
  if (filter.labelsAny && omit !== 'labels') parts.push(Prisma.sql`${c('labels')} && ${filter.labelsAny}::text[]`);
  if (filter.attributes !== undefined && filter.attributes !== null) {
    parts.push(Prisma.sql`${c('attributes')} @> ${JSON.stringify(filter.attributes)}::jsonb`);
  }
  if (filter.routineName) {
    parts.push(Prisma.sql`${c('"routineId"')} IN (SELECT id FROM "Routine" WHERE name = ${filter.routineName})`);
  }
  if (filter.methodName) parts.push(Prisma.sql`${c('"methodName"')} = ${filter.methodName}`);
  if (filter.instanceId) parts.push(Prisma.sql`${c('"instanceId"')} = ${filter.instanceId}::uuid`);
  if (filter.scheduleId) parts.push(Prisma.sql`${c('"scheduleId"')} = ${filter.scheduleId}::uuid`);
  if (filter.createdBy) parts.push(Prisma.sql`${c('"createdById"')} = ANY(${filter.createdBy}::uuid[])`);
  if (filter.createdAfter) parts.push(Prisma.sql`${c('"createdAt"')} >= ${filter.createdAfter}`);
  if (filter.createdBefore) parts.push(Prisma.sql`${c('"createdAt"')} < ${filter.createdBefore}`);
  if (filter.search) {
    const pattern = likePattern(filter.search);
    parts.push(Prisma.sql`(${c('name')} ILIKE ${pattern} OR ${c('description')} ILIKE ${pattern})`);
  }
  return parts.length ? Prisma.join(parts, ' AND ') : Prisma.sql`TRUE`;
}

/**
 * The runs a request may see that match `filter`, as one SQL condition on `RoutineRun` aliased `r`
 * (or `alias`): the visibility scope (src/access/visibility.ts) ANDed with runFilterSql. Every run
 * list, total, facet, live feed and bulk operation reads runs through this, never runFilterSql alone.
 */
export function visibleRunFilterSql(access: Access, filter: RunFilter, options: RunFilterSqlOptions = {}): Prisma.Sql {
  return Prisma.sql`${visibleSql(access, options.alias ?? 'r')} AND ${runFilterSql(filter, options)}`;
}

const SQL_COLUMNS: Record<SortColumn, Prisma.Sql> = {
  createdAt: Prisma.raw('r."createdAt"'),
  updatedAt: Prisma.raw('r."updatedAt"'),
  finishedAt: Prisma.raw('r."finishedAt"'),
  durationMs: Prisma.raw('r."durationMs"'),
  name: Prisma.raw('r.name'),
  priority: Prisma.raw('r.priority'),
};

/** How many runs, in sort order, the first try of a page reads at most (see selectRunPage). */
export const PROBE_WINDOW = 2000;

interface PageQuery {
  /** Whose page: only the runs it may see are read (visibleRunFilterSql). */
  access: Access;
  filter: RunFilter;
  order: RunOrder;
  after: RunCursor | null;
  take: number;
}

/**
 * The ids of one page of runs, in order.
 *
 * The planner cannot estimate JSON containment or label overlap (it assumes almost nothing
 * matches), so for such a filter it would rather collect every match and sort it than walk the
 * order's index. For CREATED_AT/UPDATED_AT the page is therefore first read from the next
 * PROBE_WINDOW runs in index order: if they hold a full page, that page is exact (any later match
 * comes after it in the order). Only a filter too selective for the window (or an exhausted table)
 * falls through to the planner's own plan.
 *
 * A nullable sort column is read in two index-ordered parts — its values, then its NULLs (NULLs
 * last in both directions) — each limited to the page, so neither part scans past it.
 */
export async function selectRunPage(db: Db, query: PageQuery & { probeWindow?: number }): Promise<{ id: string }[]> {
  const probe = runPageProbeSql(query, { wholeRows: false });
  if (!probe) return plannedRunPage(db, query);
  const probed = await queryRows<{ id: string }>(db, probe);
  if (probed.length === query.take) return probed;
  // Fewer than a page in the window: exact only if the window held every remaining run.
  const { keyset } = probeParts(query);
  const probeWindow = query.probeWindow ?? PROBE_WINDOW;
  const [{ remaining }] = await queryRows<{ remaining: number }>(
    db,
    Prisma.sql`
    SELECT count(*)::int AS remaining FROM (SELECT 1 FROM "RoutineRun" r WHERE ${keyset} LIMIT ${probeWindow + 1}) w`,
  );
  if (remaining <= probeWindow) return probed;
  return plannedRunPage(db, query);
}

/**
 * selectRunPage's first try (the next PROBE_WINDOW runs in index order, filtered) as SQL selecting
 * `id` and `sortValue` (with `wholeRows`, every column too), in page order; null when
 * selectRunPage goes straight to the planner's page (runPageSql). It is the page only when it
 * returns `take` rows.
 */
export function runPageProbeSql(query: PageQuery & { probeWindow?: number }, { wholeRows }: { wholeRows: boolean }): Prisma.Sql | null {
  if (sortSpec(query.order).nullable || !plannerIsBlind(query.filter)) return null;
  const { col, dir, keyset } = probeParts(query);
  // The window is the next runs the request may see, so that another workspace's runs never
  // crowd its page out of the window.
  const window = Prisma.sql`(SELECT * FROM "RoutineRun" r WHERE ${keyset} ORDER BY ${col} ${dir}, r.id ${dir} LIMIT ${query.probeWindow ?? PROBE_WINDOW}) r`;
  const columns = wholeRows ? Prisma.sql`r.*` : Prisma.sql`r.id`;
  return Prisma.sql`
    SELECT ${columns}, ${col} AS "sortValue" FROM ${window} WHERE ${visibleRunFilterSql(query.access, query.filter)}
    ORDER BY ${col} ${dir}, r.id ${dir} LIMIT ${query.take}`;
}

/** The order as SQL on `r`: sort column, direction, the comparison that continues after a cursor. */
function orderParts(order: RunOrder) {
  return {
    col: SQL_COLUMNS[sortSpec(order).column],
    dir: Prisma.raw(order.direction),
    cmp: Prisma.raw(order.direction === 'DESC' ? '<' : '>'),
  };
}

/** The probe's order, and the condition on the visible runs after the cursor (visibility only without one). */
function probeParts({ access, order, after }: PageQuery) {
  const { col, dir, cmp } = orderParts(order);
  const visible = visibleSql(access, 'r');
  const keyset = after ? Prisma.sql`${visible} AND (${col}, r.id) ${cmp} (${after.value}, ${after.id}::uuid)` : visible;
  return { col, dir, keyset };
}

/**
 * Labels and attributes are where the planner guesses (a fixed, tiny selectivity for `&&`, `@>`);
 * an instance's runs have their own index, which the planner picks well.
 */
function plannerIsBlind(filter: RunFilter): boolean {
  const blind = !!filter.labelsAll?.length || !!filter.labelsAny || (filter.attributes !== undefined && filter.attributes !== null);
  return blind && !filter.instanceId;
}

async function plannedRunPage(db: Db, query: PageQuery): Promise<{ id: string }[]> {
  return queryRows<{ id: string }>(db, runPageSql(query, Prisma.sql`TRUE`));
}

/**
 * The page as SQL selecting `id` and `sortValue` (with `wholeRows`, every column of the run too),
 * in page order; `scope` is one more condition on `r` (e.g. the instance of a LATERAL join). NULLs
 * come last in both directions.
 */
export function runPageSql(
  { access, filter, order, after, take }: PageQuery,
  scope: Prisma.Sql,
  { wholeRows = false }: { wholeRows?: boolean } = {},
): Prisma.Sql {
  const spec = sortSpec(order);
  const { col, dir, cmp } = orderParts(order);
  const where = Prisma.sql`${visibleRunFilterSql(access, filter)} AND ${scope}`;
  const select = wholeRows
    ? Prisma.sql`SELECT r.*, ${col} AS "sortValue" FROM "RoutineRun" r`
    : Prisma.sql`SELECT r.id, ${col} AS "sortValue" FROM "RoutineRun" r`;
  const values =
    after && after.value === null
      ? null // the cursor is already among the NULLs
      : Prisma.sql`(${select} WHERE ${where}${spec.nullable ? Prisma.sql` AND ${col} IS NOT NULL` : Prisma.empty}${
          after ? Prisma.sql` AND (${col}, r.id) ${cmp} (${after.value}, ${after.id}::uuid)` : Prisma.empty
        } ORDER BY ${col} ${dir}, r.id ${dir} LIMIT ${take})`;
  const nulls = spec.nullable
    ? Prisma.sql`(${select} WHERE ${where} AND ${col} IS NULL${
        after && after.value === null ? Prisma.sql` AND r.id ${cmp} ${after.id}::uuid` : Prisma.empty
      } ORDER BY r.id ${dir} LIMIT ${take})`
    : null;
  if (values && !nulls) return values;
  if (!values) return nulls!;
  return Prisma.sql`
    (SELECT ${wholeRows ? Prisma.sql`*` : Prisma.sql`id, "sortValue"`} FROM (${values} UNION ALL ${nulls}) page
     ORDER BY ("sortValue" IS NULL), "sortValue" ${dir}, id ${dir} LIMIT ${take})`;
}

/**
 * The same page for each of several instances, in one statement (a LATERAL join per instance,
 * each using the instance's own index): run ids in page order per instance. Nested lists use it
 * so that `first: 5` reads five runs of each instance, not all of them.
 */
export async function selectRunPagesByInstance(db: Db, query: PageQuery, instanceIds: string[]): Promise<Map<string, string[]>> {
  const dir = Prisma.raw(query.order.direction);
  const page = runPageSql(query, Prisma.sql`r."instanceId" = i.id`);
  const rows = await db.$queryRaw<{ instanceId: string; id: string }[]>`
    SELECT i.id AS "instanceId", p.id
    FROM unnest(${instanceIds}::uuid[]) AS i(id) CROSS JOIN LATERAL ${page} p
    ORDER BY i.id, (p."sortValue" IS NULL), p."sortValue" ${dir}, p.id ${dir}`;
  const pages = new Map<string, string[]>(instanceIds.map((id) => [id, []]));
  for (const row of rows) pages.get(row.instanceId)!.push(row.id);
  return pages;
}

export function sortSelect(order: RunOrder): Record<string, true> {
  return { id: true, [sortSpec(order).column]: true };
}
