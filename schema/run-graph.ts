// The run lists' types: RunFilter, RunOrder, RoutineRunConnection (with totalCount and facets) and
// Query.runs. Their semantics live in src/runs/run-filter.ts, the arguments are read by
// ./run-list-args.ts and the lists loaded by src/runs/run-lists.ts; RoutineInstance.runs
// (./instance.ts) is the same list per instance.
import type { InputObjectRef } from '@pothos/core';
import type { RoutineRun } from '../src/generated/prisma/client.ts';
import { COUNT_CAP, type RunFacets } from '../src/runs/run-counts.ts';
import { MAX_FACET_LABELS, MAX_PAGE_SIZE } from '../src/runs/run-filter.ts';
import { type RunListExtras } from '../src/runs/run-lists.ts';
import { builder } from './builder.ts';
import { RunStatusEnum } from './enums.ts';
import { RoutineInstanceRef } from './instance.ts';
import { type RunFilterArg } from './run-list-args.ts';
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
    PRIORITY: {
      description: 'The priority given at creation (stable); not the admission order, which also ages runs (RoutineRun.queuePosition).',
    },
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

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

// Typed by hand: RunFilter names RoutineInstance (instanceId) and RoutineInstance.runs takes a
// RunFilter, a cycle TypeScript cannot infer.
export const RunFilterInput: InputObjectRef<Types, RunFilterArg> = builder.inputType('RunFilter', {
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
    'Counts of the filtered runs, per status and per label. Each facet ignores its own part of the filter (the status facet ignores `status`, the label facet ignores `labelsAll` and `labelsAny`), so a client can show every choice with its count.',
  fields: (t) => ({
    status: t.field({
      type: [RunStatusFacetRef],
      description: 'Statuses with at least one run, most runs first.',
      resolve: (f) => f.status,
    }),
    labels: t.field({
      type: [RunLabelFacetRef],
      description: `The ${MAX_FACET_LABELS} most used labels, most runs first.`,
      resolve: (f) => f.labels,
    }),
    approximate: t.boolean({
      description: `True when the filter holds a condition the run counters do not keep (search, attributes, createdBy, createdAfter/createdBefore, more than one label) and more than ${COUNT_CAP} runs match: the counts are then those of ${COUNT_CAP} of them, each at most its true value.`,
      resolve: (f) => f.approximate,
    }),
  }),
});

export const RoutineRunConnection = builder.connectionObject(
  {
    type: RoutineRunRef,
    name: 'RoutineRunConnection',
    fields: (t) => ({
      totalCount: t.int({
        description: `How many runs match the filter (all pages); exact unless \`totalCountIsApproximate\`, then ${COUNT_CAP} (more match).`,
        resolve: async (connection) => (await (connection as unknown as RunListExtras).totalCount()).count,
      }),
      totalCountIsApproximate: t.boolean({
        description: `True when the filter holds a condition the run counters do not keep (search, attributes, createdBy, createdAfter/createdBefore, more than one label) and more than ${COUNT_CAP} runs match: counting stops there and \`totalCount\` is ${COUNT_CAP}.`,
        resolve: async (connection) => (await (connection as unknown as RunListExtras).totalCount()).approximate,
      }),
      facets: t.field({
        type: RunFacetsRef,
        description: 'Counts per status and label of the runs matching the filter, read in the same request.',
        resolve: (connection) => (connection as unknown as RunListExtras).facets(),
      }),
    }),
  },
  { name: 'RoutineRunEdge' },
);

export const listArgDescription = `At most ${MAX_PAGE_SIZE} per page (default 20); \`after\` takes an edge's cursor from the same filter and order.`;
