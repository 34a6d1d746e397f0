// Loading the run graph's lists without N+1, for the fields over them (Query.runs,
// RoutineInstance.runs, RoutineRun.events). Query.runs reads one page of ids with SQL
// (run-filter.ts) and the runs with the request's Prisma selection in one query; nested lists do
// the same for every parent of the request at once (a LIMIT per parent), and so do their totals
// and facets.
import type { Access } from '../access/access.ts';
import type { Db } from '../db/client.ts';
import type { RoutineRun, RunEvent } from '../generated/prisma/client.ts';
import type { RunEventType } from '../generated/prisma/enums.ts';
import { batchLoad } from './batch-load.ts';
import { countRunTotals, runFacets, type RunFacets, type RunTotal } from './run-counts.ts';
import { encodeRunCursor, selectRunPage, selectRunPagesByInstance, type RunFilter, type RunListQuery } from './run-filter.ts';

/** The request's selection of the runs, as a Prisma `findMany` argument (its `where` is set here). */
export type RunSelection = Record<string, unknown>;
type RunRow = Record<string, unknown> & { id: string };
/** batchLoad batches per request: the request's context, which holds the database client and what it may see. */
type RequestContext = { db: Db; access: Access };

export interface Page<Node> {
  edges: { cursor: string; node: Node }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/** Read only when the request asks for them. */
export interface RunListExtras {
  totalCount: () => Promise<RunTotal>;
  facets: () => Promise<RunFacets>;
}

/** Rows hold what the request selected (and the sort column), typed as the whole run for the fields beneath. */
function runPage(rows: RunRow[], list: RunListQuery, extras: RunListExtras): Page<RoutineRun> & RunListExtras {
  const page = rows.slice(0, list.take);
  const edges = page.map((row) => ({ cursor: encodeRunCursor(list.order, row), node: row as unknown as RoutineRun }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > list.take,
      hasPreviousPage: list.after !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    ...extras,
  };
}

async function loadRuns(db: Db, ids: string[], selection: RunSelection): Promise<RunRow[]> {
  if (!ids.length) return [];
  return (await db.routineRun.findMany({ ...selection, where: { id: { in: ids } } })) as unknown as RunRow[];
}

/** Query.runs: one page of the runs matching the list's filter, in its order. */
export async function loadRunList(ctx: RequestContext, list: RunListQuery, selection: RunSelection) {
  const ids = await selectRunPage(ctx.db, { ...list, access: ctx.access, take: list.take + 1 });
  const rows = await loadRuns(
    ctx.db,
    ids.map((r) => r.id),
    selection,
  );
  const position = new Map(ids.map((r, index) => [r.id, index]));
  rows.sort((a, b) => position.get(a.id)! - position.get(b.id)!);
  let total: Promise<RunTotal> | null = null;
  let facets: Promise<RunFacets> | null = null;
  return runPage(rows, list, {
    totalCount: () => (total ??= countRunTotals(ctx.db, ctx.access, list.filter).then((byScope) => byScope.get('')!)),
    facets: () => (facets ??= runFacets(ctx.db, { access: ctx.access, filter: list.filter }).then((byScope) => byScope.get('')!)),
  });
}

/**
 * RoutineInstance.runs: the instance's page, loaded with every other instance's page of the same
 * list field (`field`, one batch per field of the request) in one statement and one Prisma query.
 *
 * Not folded into the parent's Prisma query: Prisma's relation join builds every run of an
 * instance (with its nested relations) before it applies the LIMIT, so `first: 5` read all of
 * them. Here one statement picks each instance's page of ids (LATERAL, the instance's index) and
 * one Prisma query loads those runs with the request's selection.
 */
export async function loadInstanceRunList(
  ctx: RequestContext,
  { instanceId, list, field, selection }: { instanceId: string; list: RunListQuery; field: string; selection: RunSelection },
) {
  const rows = await batchLoad(ctx, `runs.page:${field}:${list.key}`, instanceId, async (instanceIds) => {
    const pages = await selectRunPagesByInstance(ctx.db, { ...list, access: ctx.access, take: list.take + 1 }, instanceIds);
    const loaded = await loadRuns(ctx.db, [...pages.values()].flat(), selection);
    const byId = new Map(loaded.map((row) => [row.id, row]));
    return instanceIds.map((id) => pages.get(id)!.flatMap((runId) => byId.get(runId) ?? []));
  });
  const scoped: RunFilter = { ...list.filter };
  return runPage(rows, list, {
    totalCount: () =>
      batchLoad(ctx, `runs.count:${list.key}`, instanceId, async (instanceIds) => {
        const totals = await countRunTotals(ctx.db, ctx.access, scoped, instanceIds);
        return instanceIds.map((id) => totals.get(id)!);
      }),
    facets: () =>
      batchLoad(ctx, `runs.facets:${list.key}`, instanceId, async (instanceIds) => {
        const byScope = await runFacets(ctx.db, { access: ctx.access, filter: scoped, instanceIds });
        return instanceIds.map((id) => byScope.get(id)!);
      }),
  });
}

// ---- A run's events: cursor = the sequence ----

export interface EventListQuery {
  take: number;
  /** The sequence the page starts after (0: from the first event). */
  after: number;
  types: RunEventType[] | null | undefined;
}

/**
 * The events relation's arguments for a run's page of events, loaded with the run (one more than
 * the page, to tell whether another follows).
 */
export function eventPageQuery({ take, after, types }: EventListQuery) {
  return {
    where: { sequence: { gt: after }, ...(types ? { type: { in: types } } : {}) },
    orderBy: { sequence: 'asc' as const },
    take: take + 1,
  };
}

/**
 * RoutineRun.events from the events eventPageQuery loaded with the run (as its `events`); the
 * total is counted for every run of the request at once.
 */
export function runEventPage(ctx: RequestContext, { run, list }: { run: { id: string }; list: EventListQuery }) {
  const rows = (run as { id: string; events: RunEvent[] }).events;
  const runId = run.id;
  const { take, after, types } = list;
  const edges = rows.slice(0, take).map((event) => ({ cursor: String(event.sequence), node: event }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > take,
      hasPreviousPage: after > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: () =>
      batchLoad(ctx, `events.count:${JSON.stringify(types ?? null)}`, runId, async (runIds) => {
        const counts = await ctx.db.runEvent.groupBy({
          by: ['runId'],
          where: { runId: { in: runIds }, ...(types ? { type: { in: types } } : {}) },
          _count: { _all: true },
        });
        const byRun = new Map(counts.map((c) => [c.runId, c._count._all]));
        return runIds.map((id) => byRun.get(id) ?? 0);
      }),
  } satisfies Page<RunEvent> & { totalCount: () => Promise<number> };
}
