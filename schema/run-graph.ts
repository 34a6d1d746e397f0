// The read side of the run graph: RunFilter, RunOrder, RoutineRunConnection (with totalCount and
// facets), Query.runs, RoutineInstance.runs and RoutineRun.events. Semantics live in
// src/runs/run-filter.ts; this file maps GraphQL onto them without N+1: Query.runs reads one page
// of ids with SQL and the nodes with the Pothos selection in one Prisma query; nested lists do
// the same for every parent of the request at once (a LIMIT per parent), and so do their totals
// and facets.
import { badInput } from '../src/argument-errors.ts';
import { queryFromInfo } from '@pothos/plugin-prisma';
import type { RoutineRun, RunEvent } from '../src/generated/prisma/client.ts';
import type { RunEventType } from '../src/generated/prisma/enums.ts';
import { batchLoad } from '../src/runs/batch-load.ts';
import {
  countRuns,
  countRunsByInstance,
  encodeRunCursor,
  MAX_FACET_LABELS,
  MAX_PAGE_SIZE,
  pageSize,
  runFacets,
  runListQuery,
  selectRunPage,
  selectRunPagesByInstance,
  sortSelect,
  type RunFacets,
  type RunFilter,
  type RunListArgs,
  type RunListQuery,
} from '../src/runs/run-filter.ts';
import { builder } from './builder.ts';
import { RunEventTypeEnum, RunStatusEnum } from './enums.ts';
import { RoutineInstanceRef } from './instance.ts';
import { RunEventRef } from './run-event.ts';
import { RoutineRunRef } from './run.ts';
import { UserRef } from './user.ts';

// ---- Inputs ----

export const RunOrderFieldEnum = builder.enumType('RunOrderField', {
  description:
    'What runs are ordered by; ties are broken by id, and NULLs come last in both directions. CREATED_AT and NAME never change once a run exists, so pages ordered by them are stable while runs run; UPDATED_AT, FINISHED_AT and DURATION change as runs progress, so a run can move between pages while you page.',
  values: {
    CREATED_AT: { description: 'When the run was created (stable).' },
    UPDATED_AT: { description: 'The last change of the run (moves with every event).' },
    FINISHED_AT: { description: 'When the run ended; runs not ended yet come last (moves when a run ends).' },
    DURATION: { description: 'From RUNNING to the end; runs not ended yet come last (moves when a run ends).' },
    NAME: { description: 'The run name; unnamed runs come last (stable).' },
  } as const,
});

export const OrderDirectionEnum = builder.enumType('OrderDirection', { values: ['ASC', 'DESC'] as const });

export const RunOrderInput = builder.inputType('RunOrder', {
  description: 'Default: CREATED_AT DESC (newest first).',
  fields: (t) => ({
    field: t.field({ type: RunOrderFieldEnum, required: true }),
    direction: t.field({ type: OrderDirectionEnum, required: true }),
  }),
});

export const RunFilterInput = builder.inputType('RunFilter', {
  description: 'Every condition given must hold (AND). Lists within a condition are ORs unless their name says otherwise.',
  fields: (t) => ({
    status: t.field({ type: [RunStatusEnum], description: 'Runs in any of these statuses.' }),
    labelsAll: t.stringList({ description: 'Runs carrying every one of these labels.' }),
    labelsAny: t.stringList({ description: 'Runs carrying at least one of these labels.' }),
    attributes: t.field({
      type: 'JSON',
      description: 'A JSON object: runs whose attributes contain it (PostgreSQL JSON containment, `@>`).',
    }),
    routineName: t.string(),
    methodName: t.string(),
    instanceId: t.globalID({ for: RoutineInstanceRef }),
    createdBy: t.globalIDList({ for: UserRef, description: 'Runs created by any of these users.' }),
    createdAfter: t.field({ type: 'DateTime', description: 'Created at or after this time.' }),
    createdBefore: t.field({ type: 'DateTime', description: 'Created before this time.' }),
    search: t.string({ description: 'A case-insensitive substring of the run name or description.' }),
  }),
});

// ---- RoutineRunConnection ----

const RunStatusFacetRef = builder.objectRef<{ status: RoutineRun['status']; count: number }>('RunStatusFacet').implement({
  fields: (t) => ({
    status: t.field({ type: RunStatusEnum, resolve: (f) => f.status }),
    count: t.exposeInt('count'),
  }),
});
const RunLabelFacetRef = builder.objectRef<{ label: string; count: number }>('RunLabelFacet').implement({
  fields: (t) => ({ label: t.exposeString('label'), count: t.exposeInt('count') }),
});
const RunFacetsRef = builder.objectRef<RunFacets>('RunFacets').implement({
  description:
    "Counts of the filtered runs, per status and per label. Each facet ignores its own part of the filter (the status facet ignores `status`, the label facet ignores `labelsAll` and `labelsAny`), so a client can show every choice with its count.",
  fields: (t) => ({
    status: t.field({ type: [RunStatusFacetRef], description: 'Statuses with at least one run, most runs first.', resolve: (f) => f.status }),
    labels: t.field({
      type: [RunLabelFacetRef],
      description: `The ${MAX_FACET_LABELS} most used labels, most runs first.`,
      resolve: (f) => f.labels,
    }),
  }),
});

interface RunConnectionExtras {
  totalCount: () => Promise<number>;
  facets: () => Promise<RunFacets>;
}

export const RoutineRunConnection = builder.connectionObject(
  {
    type: RoutineRunRef,
    name: 'RoutineRunConnection',
    fields: (t) => ({
      totalCount: t.int({
        description: 'How many runs match the filter (all pages).',
        resolve: (connection) => (connection as unknown as RunConnectionExtras).totalCount(),
      }),
      facets: t.field({
        type: RunFacetsRef,
        description: 'Counts per status and label of the runs matching the filter, read in the same request.',
        resolve: (connection) => (connection as unknown as RunConnectionExtras).facets(),
      }),
    }),
  },
  { name: 'RoutineRunEdge' },
);

function runConnection(
  rows: (Record<string, unknown> & { id: string })[],
  list: RunListQuery,
  extras: RunConnectionExtras,
) {
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

const listArgDescription = `At most ${MAX_PAGE_SIZE} per page (default 20); \`after\` takes an edge's cursor from the same filter and order.`;

builder.queryField('runs', (t) =>
  t.field({
    type: RoutineRunConnection,
    description: `Runs matching \`filter\`, in \`orderBy\` order (default: newest first). ${listArgDescription} Cursors are keyset positions (sort value, id): runs created meanwhile never shift a page.`,
    args: {
      first: t.arg.int(),
      after: t.arg.string(),
      filter: t.arg({ type: RunFilterInput }),
      orderBy: t.arg({ type: RunOrderInput }),
    },
    resolve: async (_root, args, ctx, info) => {
      const list = runListQuery(args as RunListArgs);
      const ids = await selectRunPage(ctx.db, { ...list, take: list.take + 1 });
      const query = queryFromInfo({ context: ctx, info, path: ['edges', 'node'], select: sortSelect(list.order) });
      const rows = ids.length
        ? ((await ctx.db.routineRun.findMany({ ...query, where: { id: { in: ids.map((r) => r.id) } } })) as unknown as (Record<
            string,
            unknown
          > & { id: string })[])
        : [];
      const position = new Map(ids.map((r, index) => [r.id, index]));
      rows.sort((a, b) => position.get(a.id)! - position.get(b.id)!);
      let total: Promise<number> | null = null;
      let facets: Promise<RunFacets> | null = null;
      return runConnection(rows, list, {
        totalCount: () => (total ??= countRuns(ctx.db, list.filter)),
        facets: () => (facets ??= runFacets(ctx.db, { filter: list.filter }).then((byScope) => byScope.get('')!)),
      });
    },
  }),
);

// ---- RoutineInstance.runs: one page per instance, batched over every instance of the request ----
//
// Not folded into the parent's Prisma query: Prisma's relation join builds every run of an
// instance (with its nested relations) before it applies the LIMIT, so `first: 5` read all of
// them. Here one statement picks each instance's page of ids (LATERAL, the instance's index) and
// one Prisma query loads those runs with the request's selection.

builder.prismaObjectFields(RoutineInstanceRef, (t) => ({
  runs: t.field({
    type: RoutineRunConnection,
    description: `The instance's runs matching \`filter\`, in \`orderBy\` order (default: newest first). ${listArgDescription} Loaded for every instance of the request at once (a LIMIT per instance), whatever the number of instances.`,
    args: {
      first: t.arg.int(),
      after: t.arg.string(),
      filter: t.arg({ type: RunFilterInput }),
      orderBy: t.arg({ type: RunOrderInput }),
    },
    resolve: async (instance, args, ctx, info) => {
      const list = runListQuery(args as RunListArgs);
      // One batch per list field of the request (its response path without list indices).
      const field = responsePathWithoutIndices(info.path);
      // Built for each instance's list, not once per batch: it also tells the fields beneath this
      // list (a run's artifacts…) that their data comes preloaded with these rows.
      const query = queryFromInfo({ context: ctx, info, path: ['edges', 'node'], select: sortSelect(list.order) });
      const rows = await batchLoad(ctx, `runs.page:${field}:${list.key}`, instance.id, async (instanceIds) => {
        const pages = await selectRunPagesByInstance(ctx.db, { ...list, take: list.take + 1 }, instanceIds);
        const ids = [...pages.values()].flat();
        const loaded = ids.length
          ? ((await ctx.db.routineRun.findMany({ ...query, where: { id: { in: ids } } })) as unknown as (Record<string, unknown> & {
              id: string;
            })[])
          : [];
        const byId = new Map(loaded.map((row) => [row.id, row]));
        return instanceIds.map((id) => pages.get(id)!.flatMap((runId) => byId.get(runId) ?? []));
      });
      const scoped: RunFilter = { ...list.filter };
      return runConnection(rows, list, {
        totalCount: () =>
          batchLoad(ctx, `runs.count:${list.key}`, instance.id, async (instanceIds) => {
            const counts = await countRunsByInstance(ctx.db, scoped, instanceIds);
            return instanceIds.map((id) => counts.get(id) ?? 0);
          }),
        facets: () =>
          batchLoad(ctx, `runs.facets:${list.key}`, instance.id, async (instanceIds) => {
            const byScope = await runFacets(ctx.db, { filter: scoped, instanceIds });
            return instanceIds.map((id) => byScope.get(id) ?? { status: [], labels: [] });
          }),
      });
    },
  }),
}));

function responsePathWithoutIndices(path: { prev: unknown; key: string | number } | undefined): string {
  const keys: string[] = [];
  for (let at = path; at; at = at.prev as typeof path) if (typeof at.key === 'string') keys.push(at.key);
  return keys.reverse().join('.');
}

// ---- RoutineRun.events: cursor = the sequence ----

export const RunEventConnection = builder.connectionObject(
  {
    type: RunEventRef,
    name: 'RunEventConnection',
    fields: (t) => ({
      totalCount: t.int({
        description: 'How many events match `types` (all pages).',
        resolve: (connection) => (connection as unknown as { totalCount: () => Promise<number> }).totalCount(),
      }),
    }),
  },
  { name: 'RunEventEdge' },
);

function sequenceCursor(after: string | null | undefined): number {
  if (after === null || after === undefined) return 0;
  if (!/^\d{1,9}$/.test(after)) throw badInput('Argument "after" is not an event cursor: an event cursor is a sequence number, e.g. "12"');
  return Number(after);
}

builder.prismaObjectFields(RoutineRunRef, (t) => ({
  events: t.field({
    type: RunEventConnection,
    description: `The run's events in sequence order, optionally only some types. The cursor is the sequence: \`after: "12"\` starts at sequence 13, which lets a client resume from the \`sequence\` it last saw. At most ${MAX_PAGE_SIZE} per page (default 20).`,
    args: {
      first: t.arg.int(),
      after: t.arg.string(),
      types: t.arg({ type: [RunEventTypeEnum] }),
    },
    select: (args, _ctx, nestedSelection) => {
      const take = pageSize(args.first);
      const where = { sequence: { gt: sequenceCursor(args.after) }, ...(args.types ? { type: { in: args.types } } : {}) };
      const nested = nestedSelection({ where, orderBy: { sequence: 'asc' }, take: take + 1 }, ['edges', 'node']) as {
        select?: Record<string, unknown>;
      };
      return { events: nested.select ? { ...nested, select: { sequence: true, ...nested.select } } : nested };
    },
    resolve: (run, args, ctx) => {
      const take = pageSize(args.first);
      const after = sequenceCursor(args.after);
      const rows = (run as unknown as { events: RunEvent[] }).events;
      const page = rows.slice(0, take);
      const edges = page.map((event) => ({ cursor: String(event.sequence), node: event }));
      const types = args.types as RunEventType[] | null | undefined;
      return {
        edges,
        pageInfo: {
          hasNextPage: rows.length > take,
          hasPreviousPage: after > 0,
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
        totalCount: () =>
          batchLoad(ctx, `events.count:${JSON.stringify(types ?? null)}`, run.id, async (runIds) => {
            const counts = await ctx.db.runEvent.groupBy({
              by: ['runId'],
              where: { runId: { in: runIds }, ...(types ? { type: { in: types } } : {}) },
              _count: { _all: true },
            });
            const byRun = new Map(counts.map((c) => [c.runId, c._count._all]));
            return runIds.map((id) => byRun.get(id) ?? 0);
          }),
      };
    },
  }),
}));
