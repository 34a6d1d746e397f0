// Compiled reads: a query over the run graph's read model compiled into one SQL statement that
// builds the whole response in PostgreSQL (the way PostGraphile and Hasura answer), instead of
// resolvers over Prisma rows. A 1,000-run page with its artifacts is ~26,000 field resolutions:
// the resolvers spend ~150 ms of the API's CPU on it (Prisma's row handling, graphql-js, JSON);
// compiled, the API spends ~10 ms (receiving and sending 1.3 MB of text) and PostgreSQL ~1.2 times
// what a hand-written JSON query costs it (bench/nested-query).
//
// It is an optimisation with one contract: the answer is exactly the resolvers' answer
// (test/compiled-reads.test.ts compares both over every compiled field). Whatever it does not
// know — a field not listed below, an argument it does not handle, a directive, a bad argument —
// throws NotCompilable, and the request goes to the resolvers, which answer it or report its error.
// The list semantics (filters, orders, keyset cursors, page sizes, facets) are
// src/runs/run-filter.ts's, shared with the resolvers.
import { getNamedType, isObjectType, type GraphQLObjectType, type SelectionSetNode } from 'graphql';
import type { Access } from '../access/access.ts';
import { visibleSql } from '../access/visibility.ts';
import type { Context } from '../context.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { runPathSql } from '../storage/layout-sql.ts';
import { isUuid, runPageProbeSql, runPageSql, selectRunPage, sortSpec, type RunListQuery } from '../runs/run-filter.ts';
import { runFacetsSql, runTotalSql, UNSCOPED, withFacetSamples, type CountScope } from '../runs/run-counts.ts';
import { badInput, excerpt } from '../argument-errors.ts';
import { pageSize, rawId, runListQuery, type GlobalIdArg, type RunListArgs } from '../../schema/run-list-args.ts';
import { DEFAULT_ERROR_PHASE, RUN_ERROR_PHASES } from '../runs/run-error.ts';
import { collectFields, NotCompilable, type CollectedField, type SelectionScope } from './selection.ts';
import { base64url, column, globalId, isoDate, jsonObject, MAX_OBJECT_KEYS, nameLiteral, prismaStringCursor } from './sql-json.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface FieldInput {
  /** The SQL alias of the row the object is read from (a virtual object reads its parent's). */
  row: string;
  field: CollectedField;
  compiler: Compiler;
}
type FieldCompiler = (input: FieldInput) => Prisma.Sql | Promise<Prisma.Sql>;

// ---- Field compilers ----

const col =
  (name: string): FieldCompiler =>
  ({ row }) =>
    column(row, name);
const date =
  (name: string): FieldCompiler =>
  ({ row }) =>
    isoDate(column(row, name));
const nodeId =
  (typename: string): FieldCompiler =>
  ({ row }) =>
    globalId(typename, column(row, 'id'));
/** A value inside a JSON document (`row.value`, an element of jsonb_array_elements). */
const jsonPath =
  (...keys: string[]): FieldCompiler =>
  ({ row }) =>
    Prisma.raw(`(${row}.value${keys.map((key) => ` -> '${key}'`).join('')})`);

/** The elements of a JSON array, each an object read from `m.value`, in array order. */
function jsonArray(array: (row: string) => Prisma.Sql): FieldCompiler {
  return async ({ row, field, compiler }) => {
    const m = compiler.alias();
    return Prisma.sql`(SELECT coalesce(json_agg(${await compiler.object(field, m)} ORDER BY ${Prisma.raw(m)}.position), '[]'::json)
      FROM jsonb_array_elements(${array(row)}) WITH ORDINALITY AS ${Prisma.raw(m)}(value, position))`;
  };
}

/**
 * A to-one relation: the related row by key, or null. `scoped`: the table carries a workspace
 * (instances, runs), and a row of another workspace is read as no row.
 */
function toOne(table: string, foreignKey: string, { scoped = false } = {}): FieldCompiler {
  return async ({ row, field, compiler }) => {
    const t = compiler.alias();
    const visible = scoped ? Prisma.sql` AND ${visibleSql(compiler.context.access, t)}` : Prisma.empty;
    return Prisma.sql`(SELECT ${await compiler.object(field, t)} FROM "${Prisma.raw(table)}" ${Prisma.raw(t)} WHERE ${Prisma.raw(
      t,
    )}.id = ${column(row, foreignKey)}${visible})`;
  };
}

/** An object made of the parent row's columns (RunProgress, RunError, …); null when `whenNull` holds. */
function virtual(whenNull?: (row: string) => Prisma.Sql): FieldCompiler {
  return async ({ row, field, compiler }) => {
    const object = await compiler.object(field, row);
    return whenNull ? Prisma.sql`CASE WHEN ${whenNull(row)} THEN NULL ELSE ${object} END` : object;
  };
}

// ---- Connections ----

interface ConnectionSource {
  /** FROM clause: the page's rows as `row`, the nodes' own rows with their place `rn` (1-based), at most take + 1 of them. */
  from: Prisma.Sql;
  row: string;
  take: number;
  cursor: Prisma.Sql;
  hasPreviousPage: boolean;
  totalCount?: () => Prisma.Sql;
  totalCountIsApproximate?: () => Prisma.Sql;
  facets?: (field: CollectedField, compiler: Compiler) => Promise<Prisma.Sql>;
}

/**
 * The fields of the connection types that connection() and runFacets() build themselves (not
 * through TYPES). test/unit/compiled-coverage.test.ts holds every connection type reachable from a
 * compiled field to these lists, so a field added to one of them cannot silently leave the fast path.
 */
export const CONNECTION_PARTS = {
  connection: ['totalCount', 'totalCountIsApproximate', 'facets', 'edges', 'pageInfo'],
  edge: ['cursor', 'node'],
  pageInfo: ['hasNextPage', 'hasPreviousPage', 'startCursor', 'endCursor'],
  facets: ['status', 'labels', 'approximate'],
} as const;

async function connection({ field, compiler }: FieldInput, source: ConnectionSource): Promise<Prisma.Sql> {
  const rn = column(source.row, 'rn');
  const inPage = Prisma.sql`FILTER (WHERE ${rn} <= ${source.take})`;
  const entries: [string, Prisma.Sql][] = [];
  for (const part of compiler.fieldsOf(field)) {
    if (part.name === '__typename') entries.push([part.responseKey, typename(field)]);
    else if (part.name === 'totalCount' && source.totalCount) entries.push([part.responseKey, source.totalCount()]);
    else if (part.name === 'totalCountIsApproximate' && source.totalCountIsApproximate)
      entries.push([part.responseKey, source.totalCountIsApproximate()]);
    else if (part.name === 'facets' && source.facets) entries.push([part.responseKey, await source.facets(part, compiler)]);
    else if (part.name === 'edges') {
      const edge: [string, Prisma.Sql][] = [];
      for (const edgePart of compiler.fieldsOf(part)) {
        if (edgePart.name === '__typename') edge.push([edgePart.responseKey, typename(part)]);
        else if (edgePart.name === 'cursor') edge.push([edgePart.responseKey, source.cursor]);
        else if (edgePart.name === 'node') edge.push([edgePart.responseKey, await compiler.object(edgePart, source.row)]);
        else throw new NotCompilable(`edge ${edgePart.name}`);
      }
      entries.push([part.responseKey, Prisma.sql`coalesce(json_agg(${jsonObject(edge)} ORDER BY ${rn}) ${inPage}, '[]'::json)`]);
    } else if (part.name === 'pageInfo') {
      const info: [string, Prisma.Sql][] = [];
      for (const infoPart of compiler.fieldsOf(part)) {
        const key = infoPart.responseKey;
        if (infoPart.name === '__typename') info.push([key, typename(part)]);
        else if (infoPart.name === 'hasNextPage') info.push([key, Prisma.sql`count(*) > ${source.take}`]);
        else if (infoPart.name === 'hasPreviousPage') info.push([key, source.hasPreviousPage ? Prisma.sql`true` : Prisma.sql`false`]);
        else if (infoPart.name === 'startCursor') info.push([key, Prisma.sql`(array_agg(${source.cursor} ORDER BY ${rn}) ${inPage})[1]`]);
        else if (infoPart.name === 'endCursor')
          info.push([key, Prisma.sql`(array_agg(${source.cursor} ORDER BY ${rn} DESC) ${inPage})[1]`]);
        else throw new NotCompilable(`pageInfo ${infoPart.name}`);
      }
      entries.push([part.responseKey, jsonObject(info)]);
    } else throw new NotCompilable(`connection ${part.name}`);
  }
  checkKeys(entries);
  // GROUP BY (): one row, even for an empty page or a selection without aggregates (totalCount only).
  return Prisma.sql`(SELECT ${jsonObject(entries)} FROM ${source.from} GROUP BY ())`;
}

function typename(field: CollectedField): Prisma.Sql {
  return nameLiteral(getNamedType(field.definition.type).name);
}

function checkKeys(entries: unknown[]) {
  if (entries.length > MAX_OBJECT_KEYS) throw new NotCompilable('too many fields in one object');
}

function runCursor(list: RunListQuery, row: string): Prisma.Sql {
  const spec = sortSpec(list.order);
  const value = column(row, spec.column);
  const json =
    spec.kind === 'date'
      ? Prisma.sql`'"' || ${isoDate(value)} || '"'`
      : spec.kind === 'int'
        ? Prisma.sql`${value}::text`
        : Prisma.sql`to_json(${value})::text`;
  // encodeRunCursor: base64url of JSON.stringify([field, direction, value, id]). Only a name can
  // hold a backslash, which a cast to bytea would read as an escape.
  const head = Prisma.raw(`'["${list.order.field}","${list.order.direction}",'`);
  const text = Prisma.sql`${head} || coalesce(${json}, 'null') || ',"' || ${column(row, 'id')}::text || '"]'`;
  return base64url(text, { escapeFree: spec.kind !== 'string' });
}

function runFacets(access: Access, list: RunListQuery, scope: CountScope): ConnectionSource['facets'] {
  return async (field, compiler) => {
    const facets = runFacetsSql(access, list.filter, scope);
    const entries: [string, Prisma.Sql][] = [];
    for (const part of compiler.fieldsOf(field)) {
      if (part.name === '__typename') entries.push([part.responseKey, typename(field)]);
      else if (part.name === 'status') {
        entries.push([
          part.responseKey,
          Prisma.sql`(SELECT coalesce(json_agg(${await compiler.object(part, 'f')} ORDER BY f.count DESC, f.status::text COLLATE "C"), '[]'::json)
            FROM (${facets.status}) f)`,
        ]);
      } else if (part.name === 'labels') {
        entries.push([
          part.responseKey,
          Prisma.sql`(SELECT coalesce(json_agg(${await compiler.object(part, 'f')} ORDER BY f.count DESC, f.label COLLATE "C"), '[]'::json)
            FROM (${facets.labels}) f)`,
        ]);
      } else if (part.name === 'approximate') {
        entries.push([part.responseKey, facets.approximate]);
      } else throw new NotCompilable(`facets ${part.name}`);
    }
    return facets.ctes.length ? Prisma.sql`(${withFacetSamples(facets, Prisma.sql`SELECT ${jsonObject(entries)}`)})` : jsonObject(entries);
  };
}

function runConnection(input: FieldInput, list: RunListQuery, page: (row: string) => Prisma.Sql, scope: CountScope): Promise<Prisma.Sql> {
  const row = input.compiler.alias();
  const { access } = input.compiler.context;
  const total = runTotalSql(access, list.filter, scope);
  return connection(input, {
    from: page(row),
    row,
    take: list.take,
    cursor: runCursor(list, row),
    hasPreviousPage: list.after !== null,
    totalCount: () => total.count,
    totalCountIsApproximate: () => total.approximate,
    facets: runFacets(access, list, scope),
  });
}

/**
 * A plugin-prisma connection of the instances the request may see, ordered newest first, `first`
 * only (no cursors: those go to the resolvers).
 */
function instanceConnection(input: FieldInput, condition: (i: string) => Prisma.Sql): Promise<Prisma.Sql> {
  const { args } = input.field;
  if (args.after != null || args.before != null || args.last != null) throw new NotCompilable('instance cursors');
  const take = pageSize(args.first as number | null | undefined);
  const [row, i, t] = [input.compiler.alias(), input.compiler.alias(), input.compiler.alias()];
  const { access } = input.compiler.context;
  const where = (alias: string) => Prisma.sql`${visibleSql(access, alias)} AND ${condition(alias)}`;
  return connection(input, {
    from: Prisma.sql`(SELECT ${Prisma.raw(i)}.*, row_number() OVER (ORDER BY ${Prisma.raw(i)}."createdAt" DESC, ${Prisma.raw(i)}.id DESC) AS rn
        FROM "RoutineInstance" ${Prisma.raw(i)} WHERE ${where(i)}
        ORDER BY ${Prisma.raw(i)}."createdAt" DESC, ${Prisma.raw(i)}.id DESC LIMIT ${take + 1}) ${Prisma.raw(row)}`,
    row,
    take,
    cursor: prismaStringCursor(column(row, 'id')),
    hasPreviousPage: false,
    totalCount: () => Prisma.sql`(SELECT count(*)::int FROM "RoutineInstance" ${Prisma.raw(t)} WHERE ${where(t)})`,
  });
}

/** Query.instances' `workspaceId` (a Workspace's global id) as a raw id, or null; a bad one is the resolvers' argument error. */
export function instancesWorkspaceId(arg: GlobalIdArg | null | undefined): string | null {
  if (arg === null || arg === undefined) return null;
  const id = rawId(arg, 'Workspace', 'workspaceId');
  if (!isUuid(id)) throw badInput(`workspaceId: not a valid id: ${excerpt(id)}`);
  return id;
}

// ---- The types it compiles, field by field (anything else goes to the resolvers) ----

const RUN_ERROR_PHASE_LIST = Prisma.raw(RUN_ERROR_PHASES.map((phase) => `'${phase}'`).join(', '));
const DEFAULT_RUN_ERROR_PHASE = Prisma.raw(`'${DEFAULT_ERROR_PHASE}'`);

const TYPES: Record<string, Record<string, FieldCompiler>> = {
  Query: {
    routine: async ({ field, compiler }) => {
      const t = compiler.alias();
      return Prisma.sql`(SELECT ${await compiler.object(field, t)} FROM "Routine" ${Prisma.raw(t)}
        WHERE ${Prisma.raw(t)}.name = ${String(field.args.name)} ORDER BY ${Prisma.raw(t)}."createdAt" DESC LIMIT 1)`;
    },
    routines: async ({ field, compiler }) => {
      const t = compiler.alias();
      const names = compiler.context.services.registry.list().map((routine) => routine.name);
      return Prisma.sql`(SELECT coalesce(json_agg(${await compiler.object(field, t)} ORDER BY ${Prisma.raw(t)}.name), '[]'::json)
        FROM (SELECT DISTINCT ON (name) * FROM "Routine" WHERE name = ANY(${names}::text[]) ORDER BY name, "createdAt" DESC) ${Prisma.raw(t)})`;
    },
    run: async ({ field, compiler }) => {
      const id = rawId(String(field.args.id), 'RoutineRun', 'id');
      if (!UUID.test(id)) throw new NotCompilable('run id');
      const t = compiler.alias();
      return Prisma.sql`(SELECT ${await compiler.object(field, t)} FROM "RoutineRun" ${Prisma.raw(t)}
        WHERE ${Prisma.raw(t)}.id = ${id}::uuid AND ${visibleSql(compiler.context.access, t)})`;
    },
    runs: async (input) => {
      const list = runListQuery(input.field.args as RunListArgs);
      const { compiler } = input;
      const page = { ...list, access: compiler.context.access, take: list.take + 1 };
      if (compiler.pagesInStatement) {
        // The page read in the same statement, the way selectRunPage reads it: the planner's page,
        // or the index-ordered probe, which is the page only when it holds a full one. The
        // statement says whether it did (checks); if not, it is compiled again the other way.
        const dir = Prisma.raw(list.order.direction);
        const numbered = (source: Prisma.Sql) => (row: string) =>
          Prisma.sql`(SELECT p.*, row_number() OVER (ORDER BY (p."sortValue" IS NULL), p."sortValue" ${dir}, p.id ${dir}) AS rn
            FROM ${source} p) ${Prisma.raw(row)}`;
        const probe = runPageProbeSql(page, { wholeRows: true });
        if (!probe) return runConnection(input, list, numbered(runPageSql(page, Prisma.sql`TRUE`, { wholeRows: true })), UNSCOPED);
        const name = Prisma.raw(`probe_${compiler.alias()}`);
        compiler.ctes.push(Prisma.sql`${name} AS (${probe})`);
        compiler.checks.push(Prisma.sql`(SELECT count(*) FROM ${name}) = ${page.take}`);
        return runConnection(input, list, numbered(name), UNSCOPED);
      }
      // The page's ids as the resolvers pick them (selectRunPage), then the statement.
      const ids = (await selectRunPage(compiler.context.db, page)).map((row) => row.id);
      return runConnection(
        input,
        list,
        (row) =>
          Prisma.sql`(SELECT r.*, page.rn FROM unnest(${ids}::uuid[]) WITH ORDINALITY AS page(id, rn) JOIN "RoutineRun" r ON r.id = page.id) ${Prisma.raw(row)}`,
        UNSCOPED,
      );
    },
    instances: (input) => {
      const routineName = input.field.args.routineName as string | null | undefined;
      const workspaceId = instancesWorkspaceId(input.field.args.workspaceId as GlobalIdArg | null | undefined);
      return instanceConnection(input, (i) => {
        const parts = [
          routineName ? Prisma.sql`${Prisma.raw(i)}."routineId" IN (SELECT id FROM "Routine" WHERE name = ${routineName})` : null,
          workspaceId ? Prisma.sql`${Prisma.raw(i)}."workspaceId" = ${workspaceId}::uuid` : null,
        ].filter((part) => part !== null);
        return parts.length ? Prisma.join(parts, ' AND ') : Prisma.sql`TRUE`;
      });
    },
  },
  Routine: {
    id: nodeId('Routine'),
    name: col('name'),
    version: col('version'),
    description: col('description'),
    stateful: col('stateful'),
    instances: (input) => instanceConnection(input, (i) => Prisma.sql`${Prisma.raw(i)}."routineId" = ${column(input.row, 'id')}`),
    methods: jsonArray((row) => column(row, 'methods')),
  },
  RoutineMethod: {
    name: jsonPath('name'),
    kind: jsonPath('kind'),
    description: jsonPath('description'),
    allowsInMemory: jsonPath('allowsInMemory'),
    defaultMemoryMb: jsonPath('defaultMemoryMb'),
    maxAttempts: jsonPath('retry', 'maxAttempts'),
    memoryGrowth: jsonPath('retry', 'memoryGrowth'),
    timeoutMs: jsonPath('timeoutMs'),
    parameters: jsonArray((row) => Prisma.raw(`(${row}.value -> 'parameters')`)),
    inputSchema: jsonPath('inputSchema'),
  },
  MethodParameter: {
    name: jsonPath('name'),
    type: jsonPath('type'),
    required: jsonPath('required'),
    description: jsonPath('description'),
    default: jsonPath('default'),
    options: jsonPath('options'),
  },
  RoutineInstance: {
    id: nodeId('RoutineInstance'),
    name: col('name'),
    description: col('description'),
    routine: toOne('Routine', 'routineId'),
    constructed: ({ row }) => Prisma.sql`(${column(row, 'constructedAt')} IS NOT NULL)`,
    constructedAt: date('constructedAt'),
    config: col('config'),
    createdAt: date('createdAt'),
    updatedAt: date('updatedAt'),
    createdBy: toOne('User', 'createdById'),
    runs: (input) => {
      const list = runListQuery(input.field.args as RunListArgs);
      const scope: CountScope = (alias) => Prisma.sql`${Prisma.raw(alias)}."instanceId" = ${column(input.row, 'id')}`;
      // The page's whole rows (read through the instance's index), numbered in page order.
      const page = runPageSql({ ...list, access: input.compiler.context.access, take: list.take + 1 }, scope('r'), { wholeRows: true });
      const dir = Prisma.raw(list.order.direction);
      return runConnection(
        input,
        list,
        (row) =>
          Prisma.sql`(SELECT p.*, row_number() OVER (ORDER BY (p."sortValue" IS NULL), p."sortValue" ${dir}, p.id ${dir}) AS rn FROM ${page} p) ${Prisma.raw(row)}`,
        scope,
      );
    },
  },
  RoutineRun: {
    id: nodeId('RoutineRun'),
    name: col('name'),
    description: col('description'),
    instance: toOne('RoutineInstance', 'instanceId', { scoped: true }),
    routine: toOne('Routine', 'routineId'),
    routineVersion: col('routineVersion'),
    methodName: col('methodName'),
    method: async ({ row, field, compiler }) => {
      const [routine, m] = [compiler.alias(), compiler.alias()];
      return Prisma.sql`(SELECT ${await compiler.object(field, m)}
        FROM "Routine" ${Prisma.raw(routine)}, jsonb_array_elements(${Prisma.raw(routine)}.methods) WITH ORDINALITY AS ${Prisma.raw(m)}(value, position)
        WHERE ${Prisma.raw(routine)}.id = ${column(row, 'routineId')} AND ${Prisma.raw(m)}.value ->> 'name' = ${column(row, 'methodName')}
        ORDER BY ${Prisma.raw(m)}.position LIMIT 1)`;
    },
    status: col('status'),
    inputs: col('inputs'),
    outputs: col('outputs'),
    executionType: col('executionType'),
    invocationMethod: col('invocationMethod'),
    storeArtifacts: col('storeArtifacts'),
    includeStatistics: col('includeStatistics'),
    includePreviews: col('includePreviews'),
    previewRows: col('previewRows'),
    memoryMb: col('memoryMb'),
    memoryOverrideMb: col('memoryOverrideMb'),
    priority: col('priority'),
    labels: col('labels'),
    attributes: col('attributes'),
    createdBy: toOne('User', 'createdById'),
    createdAt: date('createdAt'),
    queuedAt: date('queuedAt'),
    startedAt: date('startedAt'),
    finishedAt: date('finishedAt'),
    updatedAt: date('updatedAt'),
    admittedAt: date('admittedAt'),
    durationMs: col('durationMs'),
    cancelRequestedAt: date('cancelRequestedAt'),
    cancelReason: col('cancelReason'),
    changedInputs: col('changedInputs'),
    instanceConfig: col('instanceConfig'),
    instanceConfigVersion: col('instanceConfigVersion'),
    resources: virtual(),
    attempt: col('attempt'),
    maxAttempts: col('maxAttempts'),
    progress: virtual((row) => Prisma.sql`${column(row, 'progressPercent')} IS NULL OR ${column(row, 'progressAt')} IS NULL`),
    lastSequence: col('lastSequence'),
    error: virtual((row) => Prisma.sql`${column(row, 'errorType')} IS NULL`),
    storagePath: ({ row }) => runPathSql({ instanceId: column(row, 'instanceId'), runId: column(row, 'id') }),
    artifacts: async ({ row, field, compiler }) => {
      const a = compiler.alias();
      return Prisma.sql`(SELECT coalesce(json_agg(${await compiler.object(field, a)} ORDER BY ${Prisma.raw(a)}.name), '[]'::json)
        FROM "Artifact" ${Prisma.raw(a)} WHERE ${Prisma.raw(a)}."runId" = ${column(row, 'id')})`;
    },
    parentRun: toOne('RoutineRun', 'parentRunId', { scoped: true }),
    workflowId: col('workflowId'),
  },
  RunResources: {
    requestedMemoryMb: col('memoryMb'),
    peakMemoryMb: col('peakMemoryMb'),
    cpuTimeMs: col('cpuTimeMs'),
  },
  RunProgress: {
    percent: col('progressPercent'),
    message: ({ row }) => Prisma.sql`coalesce(${column(row, 'progressMessage')}, '')`,
    at: date('progressAt'),
    sequence: ({ row }) => Prisma.sql`coalesce(${column(row, 'progressSequence')}, 0)`,
  },
  RunError: {
    type: col('errorType'),
    message: ({ row }) => Prisma.sql`coalesce(${column(row, 'errorMessage')}, '')`,
    attempt: ({ row }) => Prisma.sql`coalesce(${column(row, 'errorAttempt')}, 0)`,
    retryable: ({ row }) => Prisma.sql`coalesce(${column(row, 'errorRetryable')}, false)`,
    at: ({ row }) => isoDate(Prisma.sql`coalesce(${column(row, 'errorAt')}, 'epoch'::timestamp)`),
    phase: ({ row }) =>
      Prisma.sql`CASE WHEN ${column(row, 'errorPhase')} IN (${RUN_ERROR_PHASE_LIST}) THEN ${column(row, 'errorPhase')} ELSE ${DEFAULT_RUN_ERROR_PHASE} END`,
    method: col('methodName'),
    workerId: col('errorWorkerId'),
    host: col('errorHost'),
    suggestedMemoryMb: col('errorSuggestedMemoryMb'),
  },
  Artifact: {
    id: nodeId('Artifact'),
    name: col('name'),
    run: toOne('RoutineRun', 'runId', { scoped: true }),
    path: col('path'),
    contentType: col('contentType'),
    sizeBytes: col('sizeBytes'),
    checksum: col('checksum'),
    metadata: col('metadata'),
    statistics: col('statistics'),
    createdAt: date('createdAt'),
    preview: virtual((row) => Prisma.sql`${column(row, 'preview')} IS NULL OR jsonb_typeof(${column(row, 'preview')}) = 'null'`),
  },
  ArtifactPreview: {
    columns: ({ row }) => Prisma.sql`(${column(row, 'preview')} -> 'columns')`,
    rows: ({ row }) => Prisma.sql`(${column(row, 'preview')} -> 'rows')`,
    text: ({ row }) => Prisma.sql`(${column(row, 'preview')} -> 'text')`,
    truncated: ({ row }) => Prisma.sql`(${column(row, 'preview')} -> 'truncated')`,
  },
  User: {
    id: nodeId('User'),
    name: col('name'),
    isAdmin: col('isAdmin'),
  },
  RunStatusFacet: { status: col('status'), count: col('count') },
  RunLabelFacet: { label: col('label'), count: col('count') },
};

/** The fields compiled, per type (test/compiled-reads.test.ts checks each against the resolvers). */
export const COMPILED_FIELDS: Record<string, string[]> = Object.fromEntries(
  Object.entries(TYPES).map(([type, fields]) => [type, Object.keys(fields)]),
);

// ---- The compiler ----

export class Compiler {
  private aliases = 0;
  /** WITH entries of the statement (probed pages). */
  readonly ctes: Prisma.Sql[] = [];
  /** Conditions the statement's answer holds only if true (a probed page was full). */
  readonly checks: Prisma.Sql[] = [];
  constructor(
    readonly scope: SelectionScope,
    readonly context: Context,
    /** Query.runs reads its page in the statement (else first, with selectRunPage). */
    readonly pagesInStatement = true,
  ) {}

  alias(): string {
    return `t${++this.aliases}`;
  }

  /** The fields `field` selects of its own (object) type. */
  fieldsOf(field: CollectedField): CollectedField[] {
    const type = getNamedType(field.definition.type);
    if (!isObjectType(type)) throw new NotCompilable(`${type.name} is not an object type`);
    return collectFields(this.scope, type, field.selections);
  }

  /** `field`'s value as a JSON object read from `row`. */
  async object(field: CollectedField, row: string): Promise<Prisma.Sql> {
    const type = getNamedType(field.definition.type) as GraphQLObjectType;
    return this.objectOf(type, field.selections, row);
  }

  async objectOf(type: GraphQLObjectType, selections: readonly SelectionSetNode[], row: string): Promise<Prisma.Sql> {
    const compilers = TYPES[type.name];
    if (!compilers || !isObjectType(type)) throw new NotCompilable(type.name);
    const entries: [string, Prisma.Sql][] = [];
    for (const field of collectFields(this.scope, type, selections)) {
      if (field.name === '__typename') {
        entries.push([field.responseKey, nameLiteral(type.name)]);
        continue;
      }
      const compile = compilers[field.name];
      if (!compile) throw new NotCompilable(`${type.name}.${field.name}`);
      entries.push([field.responseKey, await compile({ row, field, compiler: this })]);
    }
    checkKeys(entries);
    return jsonObject(entries);
  }
}

/**
 * The statement answering the query: its first column is the response's `data` as JSON text, its
 * second whether that answer holds (false: compile again with pagesInStatement false). Or
 * NotCompilable.
 */
export async function compileQuery(
  scope: SelectionScope,
  context: Context,
  selections: readonly SelectionSetNode[],
  { pagesInStatement = true } = {},
): Promise<Prisma.Sql> {
  const queryType = scope.schema.getQueryType();
  if (!queryType) throw new NotCompilable('no query type');
  const compiler = new Compiler(scope, context, pagesInStatement);
  const data = await compiler.objectOf(queryType, selections, '');
  const withClause = compiler.ctes.length ? Prisma.sql`WITH ${Prisma.join(compiler.ctes, ', ')} ` : Prisma.empty;
  const holds = compiler.checks.length ? Prisma.join(compiler.checks, ' AND ') : Prisma.sql`true`;
  return Prisma.sql`${withClause}SELECT (${data})::text AS data, (${holds}) AS holds`;
}
