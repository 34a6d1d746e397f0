// RunFilter, RunOrder, keyset cursors and facets, on Query.runs and RoutineInstance.runs: both
// lists answer every filter the same way, and that way is the one spelled out here in plain
// TypeScript over the stored rows.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './gql/index.ts';
import type { FilteredRunsQuery, InstanceRunsQuery, RunFilter, RunOrder, RunOrderField } from './gql/graphql.ts';
import { accessOfUser } from '../src/access/access.ts';
import { selectRunPage, type RunFilter as RunFilterRows } from '../src/runs/run-filter.ts';
import type { GraphQLTestClient } from './helpers/graphql.ts';
import { seedRunGraph } from './helpers/seed-runs.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const Runs = graphql(`
  query FilteredRuns($first: Int, $after: String, $filter: RunFilter, $orderBy: RunOrder) {
    runs(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        cursor
        node {
          id
          name
        }
      }
    }
  }
`);

const InstanceRuns = graphql(`
  query InstanceRuns($routineName: String!, $name: String!, $first: Int, $after: String, $filter: RunFilter, $orderBy: RunOrder) {
    instance(routineName: $routineName, name: $name) {
      id
      runs(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          cursor
          node {
            id
          }
        }
        facets {
          status {
            status
            count
          }
          labels {
            label
            count
          }
        }
      }
    }
  }
`);

const Facets = graphql(`
  query RunFacets($filter: RunFilter) {
    runs(first: 1, filter: $filter) {
      totalCount
      facets {
        status {
          status
          count
        }
        labels {
          label
          count
        }
      }
    }
  }
`);

const RunById = graphql(`
  query RunById($id: ID!) {
    run(id: $id) {
      id
    }
  }
`);

interface StoredRun {
  id: string;
  instanceId: string;
  routineName: string;
  methodName: string;
  name: string | null;
  description: string | null;
  status: string;
  labels: string[];
  attributes: Record<string, unknown>;
  createdById: string;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  priority: number;
}

/** PostgreSQL's jsonb `@>` for the shapes attributes hold. */
function contains(value: unknown, pattern: unknown): boolean {
  if (pattern !== null && typeof pattern === 'object' && !Array.isArray(pattern)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    return Object.entries(pattern).every(([key, p]) => key in value && contains((value as Record<string, unknown>)[key], p));
  }
  if (Array.isArray(pattern)) {
    return Array.isArray(value) && pattern.every((p) => value.some((v) => contains(v, p)));
  }
  return value === pattern;
}

interface PlainFilter {
  status?: string[];
  labelsAll?: string[];
  labelsAny?: string[];
  attributes?: Record<string, unknown>;
  routineName?: string;
  methodName?: string;
  instanceId?: string;
  createdBy?: string[];
  createdAfter?: Date;
  createdBefore?: Date;
  search?: string;
}

function matches(run: StoredRun, f: PlainFilter): boolean {
  const search = f.search?.toLowerCase();
  return (
    (!f.status || f.status.includes(run.status)) &&
    (!f.labelsAll || f.labelsAll.every((l) => run.labels.includes(l))) &&
    (!f.labelsAny || f.labelsAny.some((l) => run.labels.includes(l))) &&
    (!f.attributes || contains(run.attributes, f.attributes)) &&
    (!f.routineName || run.routineName === f.routineName) &&
    (!f.methodName || run.methodName === f.methodName) &&
    (!f.instanceId || run.instanceId === f.instanceId) &&
    (!f.createdBy || f.createdBy.includes(run.createdById)) &&
    (!f.createdAfter || run.createdAt >= f.createdAfter) &&
    (!f.createdBefore || run.createdAt < f.createdBefore) &&
    (!search || !!run.name?.toLowerCase().includes(search) || !!run.description?.toLowerCase().includes(search))
  );
}

const COLUMNS: Record<RunOrderField, keyof StoredRun> = {
  CREATED_AT: 'createdAt',
  UPDATED_AT: 'updatedAt',
  FINISHED_AT: 'finishedAt',
  DURATION: 'durationMs',
  NAME: 'name',
  PRIORITY: 'priority',
};

/** (sort value, id) in the direction, NULLs last either way. */
function sorted(runs: StoredRun[], order: RunOrder): StoredRun[] {
  const column = COLUMNS[order.field];
  const sign = order.direction === 'ASC' ? 1 : -1;
  const value = (run: StoredRun) => {
    const v = run[column] as Date | string | number | null;
    return v instanceof Date ? v.getTime() : v;
  };
  return [...runs].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === null && vb !== null) return 1;
    if (vb === null && va !== null) return -1;
    if (va !== null && vb !== null && va !== vb) return (va < vb ? -1 : 1) * sign;
    return (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) * sign;
  });
}

const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');

describe('RunFilter, RunOrder and keyset cursors', () => {
  let stack: TestStack;
  let admin: GraphQLTestClient;
  let stored: StoredRun[];
  let adminId: string;
  let otherId: string;
  let instanceIds: string[];

  async function loadStored() {
    // A few runs share each priority, so PRIORITY pages cross ties (broken by id). Idempotent.
    await stack.core.db.$executeRaw`UPDATE "RoutineRun" SET priority = abs(hashtext(id::text)) % 5 - 2`;
    const rows = await stack.core.db.routineRun.findMany({ include: { routine: { select: { name: true } } } });
    stored = rows.map((r) => ({ ...r, routineName: r.routine.name, attributes: r.attributes as Record<string, unknown> }));
  }

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    admin = stack.admin;
    await stack.clientFor('other');
    adminId = (await stack.core.db.user.findUniqueOrThrow({ where: { name: 'admin' } })).id;
    otherId = (await stack.core.db.user.findUniqueOrThrow({ where: { name: 'other' } })).id;
    // Two kmeans instances by admin (60 runs each), one montecarlo instance by "other" (30 runs).
    instanceIds = [
      ...(await seedRunGraph(stack.core.db, {
        routineName: 'kmeans',
        createdById: adminId,
        instances: 2,
        runsPerInstance: 60,
        artifactsPerRun: 0,
        instancePrefix: 'km',
      })),
      ...(await seedRunGraph(stack.core.db, {
        routineName: 'montecarlo',
        createdById: otherId,
        instances: 1,
        runsPerInstance: 30,
        artifactsPerRun: 0,
        instancePrefix: 'mc',
      })),
    ];
    await stack.core.db.routineRun.updateMany({
      where: { instanceId: instanceIds[2] },
      data: { methodName: 'estimatePi' },
    });
    await loadStored();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** Every page of Query.runs, following endCursor. */
  async function allPages(variables: { filter?: RunFilter; orderBy?: RunOrder; first?: number }) {
    const ids: string[] = [];
    let after: string | null = null;
    let totalCount = -1;
    for (let page = 0; page < 100; page++) {
      const { runs }: FilteredRunsQuery = await admin.query(Runs, { ...variables, after });
      totalCount = runs.totalCount;
      ids.push(...runs.edges.map((e) => Buffer.from(e.node.id, 'base64').toString().split(':')[1]));
      expect(runs.pageInfo.hasPreviousPage).toBe(after !== null);
      if (!runs.pageInfo.hasNextPage) break;
      after = runs.pageInfo.endCursor!;
    }
    return { ids, totalCount };
  }

  async function allInstancePages(
    instanceName: string,
    routineName: string,
    variables: { filter?: RunFilter; orderBy?: RunOrder; first?: number },
  ) {
    const ids: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 100; page++) {
      const { instance }: InstanceRunsQuery = await admin.query(InstanceRuns, { routineName, name: instanceName, ...variables, after });
      ids.push(...instance!.runs.edges.map((e) => Buffer.from(e.node.id, 'base64').toString().split(':')[1]));
      if (!instance!.runs.pageInfo.hasNextPage) break;
      after = instance!.runs.pageInfo.endCursor!;
    }
    return ids;
  }

  const cases: [string, () => { graphql: RunFilter; plain: PlainFilter }][] = [
    ['status', () => ({ graphql: { status: ['COMPLETED', 'FAILED'] }, plain: { status: ['COMPLETED', 'FAILED'] } })],
    ['labelsAll', () => ({ graphql: { labelsAll: ['even', 'mod3-0'] }, plain: { labelsAll: ['even', 'mod3-0'] } })],
    ['labelsAny', () => ({ graphql: { labelsAny: ['mod3-1', 'nope'] }, plain: { labelsAny: ['mod3-1', 'nope'] } })],
    ['attributes (flat)', () => ({ graphql: { attributes: { team: 'beta' } }, plain: { attributes: { team: 'beta' } } })],
    [
      'attributes (nested object and number)',
      () => ({ graphql: { attributes: { nested: { flag: true }, n: 4 } }, plain: { attributes: { nested: { flag: true }, n: 4 } } }),
    ],
    ['routineName', () => ({ graphql: { routineName: 'montecarlo' }, plain: { routineName: 'montecarlo' } })],
    ['methodName', () => ({ graphql: { methodName: 'estimatePi' }, plain: { methodName: 'estimatePi' } })],
    ['instanceId', () => ({ graphql: { instanceId: gid('RoutineInstance', instanceIds[1]) }, plain: { instanceId: instanceIds[1] } })],
    ['createdBy', () => ({ graphql: { createdBy: [gid('User', otherId)] }, plain: { createdBy: [otherId] } })],
    [
      'createdAfter and createdBefore',
      () => {
        const times = stored.map((r) => r.createdAt.getTime()).sort((a, b) => a - b);
        const after = new Date(times[20]);
        const before = new Date(times[90]);
        return {
          graphql: { createdAfter: after.toISOString(), createdBefore: before.toISOString() },
          plain: { createdAfter: after, createdBefore: before },
        };
      },
    ],
    ['search (description)', () => ({ graphql: { search: 'NEEDLE' }, plain: { search: 'needle' } })],
    ['search (name, case-insensitive)', () => ({ graphql: { search: 'Run 1' }, plain: { search: 'run 1' } })],
    ['search (LIKE wildcards are literal)', () => ({ graphql: { search: '%' }, plain: { search: '%' } })],
    [
      'everything at once (AND)',
      () => ({
        graphql: {
          status: ['CREATED', 'FAILED'],
          labelsAny: ['even'],
          attributes: { team: 'alpha' },
          search: 'run',
          routineName: 'kmeans',
        },
        plain: { status: ['CREATED', 'FAILED'], labelsAny: ['even'], attributes: { team: 'alpha' }, search: 'run', routineName: 'kmeans' },
      }),
    ],
  ];

  it.each(cases)('filters by %s the same way on Query.runs and RoutineInstance.runs', async (_name, make) => {
    const { graphql: filter, plain } = make();
    const expected = stored.filter((r) => matches(r, plain));
    const order: RunOrder = { field: 'CREATED_AT', direction: 'DESC' };
    const { ids, totalCount } = await allPages({ filter, orderBy: order, first: 25 });
    expect(ids).toEqual(sorted(expected, order).map((r) => r.id));
    expect(totalCount).toBe(expected.length);

    // The nested list, per instance, answers the same filter the same way.
    const instances = await stack.core.db.routineInstance.findMany({ include: { routine: true } });
    for (const instance of instances) {
      const nested = await allInstancePages(instance.name, instance.routine.name, { filter, orderBy: order, first: 25 });
      expect(nested).toEqual(
        sorted(
          expected.filter((r) => r.instanceId === instance.id),
          order,
        ).map((r) => r.id),
      );
    }
  });

  it.each(cases)('reads the same page by %s whether the first index-ordered window holds it or not', async (_name, make) => {
    const { plain } = make();
    const filter = plain as RunFilterRows; // the same shape, with raw ids
    const order: RunOrder = { field: 'CREATED_AT', direction: 'DESC' };
    const expected = sorted(
      stored.filter((r) => matches(r, plain)),
      order,
    ).map((r) => r.id);
    // Windows smaller than, about as large as, and larger than what the page needs: the probe
    // answers, or falls through to the planner's plan, with the same rows.
    // As the admin, a member of the one workspace every seeded run lives in.
    const access = await accessOfUser(stack.core.db, await stack.core.db.user.findUniqueOrThrow({ where: { id: adminId } }));
    for (const probeWindow of [3, 20, 5000]) {
      let after: { value: Date; id: string } | null = null;
      const ids: string[] = [];
      for (let page = 0; page < 50; page++) {
        const rows = await selectRunPage(stack.core.db, { access, filter, order, after, take: 11, probeWindow });
        const pageIds = rows.slice(0, 10).map((r) => r.id);
        ids.push(...pageIds);
        if (rows.length <= 10) break;
        const last = stored.find((r) => r.id === pageIds.at(-1))!;
        after = { value: last.createdAt, id: last.id };
      }
      expect(ids, `probe window ${probeWindow}`).toEqual(expected);
    }
  });

  it('has a sanity check: the cases select neither nothing nor everything', () => {
    for (const [name, make] of cases) {
      const count = stored.filter((r) => matches(r, make().plain)).length;
      if (name.includes('wildcards')) expect(count).toBe(0);
      else expect(count, name).toBeGreaterThan(0);
      expect(count, name).toBeLessThan(stored.length);
    }
  });

  const orders: RunOrder[] = (['CREATED_AT', 'UPDATED_AT', 'FINISHED_AT', 'DURATION', 'NAME', 'PRIORITY'] as const).flatMap((field) => [
    { field, direction: 'ASC' as const },
    { field, direction: 'DESC' as const },
  ]);

  it.each(orders)('pages through every run ordered by $field $direction, NULLs last, without gaps or repeats', async (order) => {
    const expected = sorted(stored, order).map((r) => r.id);
    const { ids } = await allPages({ orderBy: order, first: 17 });
    expect(ids).toEqual(expected);
    const nested = await allInstancePages('km 1', 'kmeans', { orderBy: order, first: 9 });
    expect(nested).toEqual(
      sorted(
        stored.filter((r) => r.instanceId === instanceIds[0]),
        order,
      ).map((r) => r.id),
    );
  });

  it('keeps pages stable while new runs are inserted (keyset, not offset)', async () => {
    const order: RunOrder = { field: 'CREATED_AT', direction: 'DESC' };
    const filter = { routineName: 'kmeans' };
    const expected = sorted(
      stored.filter((r) => matches(r, filter)),
      order,
    ).map((r) => r.id);
    const first = await admin.query(Runs, { first: 10, filter, orderBy: order });
    // Five new runs, newer than everything: an offset would now repeat five runs of page 1.
    await seedRunGraph(stack.core.db, {
      routineName: 'kmeans',
      createdById: adminId,
      instances: 1,
      runsPerInstance: 5,
      artifactsPerRun: 0,
      instancePrefix: 'late',
      base: new Date(Date.now() + 3600_000),
    });
    const second = await admin.query(Runs, { first: 10, after: first.runs.pageInfo.endCursor, filter, orderBy: order });
    const ids = second.runs.edges.map((e) => Buffer.from(e.node.id, 'base64').toString().split(':')[1]);
    expect(ids).toEqual(expected.slice(10, 20));
    expect(second.runs.totalCount).toBe(expected.length + 5);
    await loadStored();
  });

  it('counts facets per status and label, each ignoring its own part of the filter', async () => {
    const filter = { status: ['COMPLETED' as const], labelsAny: ['even'], routineName: 'kmeans' };
    const { runs } = await admin.query(Facets, { filter });
    const byStatus = new Map<string, number>();
    for (const run of stored.filter((r) => matches(r, { labelsAny: ['even'], routineName: 'kmeans' }))) {
      byStatus.set(run.status, (byStatus.get(run.status) ?? 0) + 1);
    }
    const byLabel = new Map<string, number>();
    for (const run of stored.filter((r) => matches(r, { status: ['COMPLETED'], routineName: 'kmeans' }))) {
      for (const label of run.labels) byLabel.set(label, (byLabel.get(label) ?? 0) + 1);
    }
    expect(Object.fromEntries(runs.facets.status.map((f) => [f.status, f.count]))).toEqual(Object.fromEntries(byStatus));
    expect(Object.fromEntries(runs.facets.labels.map((f) => [f.label, f.count]))).toEqual(Object.fromEntries(byLabel));
    expect(runs.totalCount).toBe(stored.filter((r) => matches(r, filter)).length);
    // Most runs first.
    const counts = runs.facets.labels.map((f) => f.count);
    expect([...counts].sort((a, b) => b - a)).toEqual(counts);

    // The same facets per instance, on the nested list.
    const { instance } = await admin.query(InstanceRuns, { routineName: 'kmeans', name: 'km 2', first: 1, filter });
    const own = stored.filter((r) => r.instanceId === instanceIds[1] && matches(r, { status: ['COMPLETED'] }));
    const ownLabels = new Map<string, number>();
    for (const run of own) for (const label of run.labels) ownLabels.set(label, (ownLabels.get(label) ?? 0) + 1);
    expect(Object.fromEntries(instance!.runs.facets.labels.map((f) => [f.label, f.count]))).toEqual(Object.fromEntries(ownLabels));
  });

  describe('clear errors for bad arguments', () => {
    async function errorOf<R, V>(document: TypedDocumentNode<R, V>, variables: Record<string, unknown>) {
      const { body } = await admin.request(document, variables as V);
      expect(body.errors, JSON.stringify(body)).toBeDefined();
      return body.errors![0] as { message: string; extensions?: { code?: string } };
    }

    it('refuses a cursor that is not one', async () => {
      const error = await errorOf(Runs, { after: 'not-a-cursor' });
      expect(error.message).toMatch(/Invalid cursor/);
      expect(error.extensions?.code).toBe('BAD_USER_INPUT');
      const nested = await errorOf(InstanceRuns, { routineName: 'kmeans', name: 'km 1', after: 'bm9wZQ' });
      expect(nested.message).toMatch(/Invalid cursor/);
    });

    it('refuses a cursor of another order', async () => {
      const { runs } = await admin.query(Runs, { first: 2 });
      const error = await errorOf(Runs, { after: runs.pageInfo.endCursor, orderBy: { field: 'NAME', direction: 'ASC' } });
      expect(error.message).toMatch(/ordered by CREATED_AT DESC, not NAME ASC/);
    });

    it('refuses pages larger than 100', async () => {
      const error = await errorOf(Runs, { first: 101 });
      expect(error.message).toBe('"first" must be between 0 and 100 (got 101)');
      const nested = await errorOf(InstanceRuns, { routineName: 'kmeans', name: 'km 1', first: 500 });
      expect(nested.message).toMatch(/"first" must be between 0 and 100/);
    });

    it('refuses ids of the wrong type', async () => {
      const asInstance = await errorOf(Runs, { filter: { instanceId: gid('RoutineRun', stored[0].id) } });
      expect(asInstance.message).toMatch(/^Argument "filter\.instanceId" of Query\.runs: ".*" is not of type: RoutineInstance/);
      const asRun = await errorOf(RunById, { id: gid('RoutineInstance', instanceIds[0]) });
      expect(asRun.message).toMatch(/^Argument "id" of Query\.run: ".*" is not of type: RoutineRun/);
      const garbage = await errorOf(RunById, { id: '%%%' });
      expect(garbage.message).toMatch(/^Argument "id" of Query\.run: Invalid global ID "%%%"/);
    });

    it('refuses unknown enum values', async () => {
      const error = await errorOf(Runs, { orderBy: { field: 'POPULARITY', direction: 'DESC' } });
      expect(error.message).toMatch(/"POPULARITY" does not exist in "RunOrderField" enum/);
      const status = await errorOf(Runs, { filter: { status: ['DONE'] } });
      expect(status.message).toMatch(/"DONE" does not exist in "RunStatus" enum/);
    });

    it('refuses attributes filters that are not objects', async () => {
      const error = await errorOf(Runs, { filter: { attributes: [1, 2] } });
      expect(error.message).toMatch(/filter\.attributes must be a JSON object/);
    });
  });

  it('masks an unexpected failure (here: the database lost a table) and says nothing of its internals', async () => {
    const query = parse(`query Logs($id: ID!) { run(id: $id) { id logs(first: 5) { totalCount } } }`);
    const id = gid('RoutineRun', stored[0].id);
    await stack.core.db.$executeRawUnsafe('ALTER TABLE "RunLog" RENAME TO "RunLogAway"');
    let body;
    try {
      ({ body } = await admin.request(query, { id }));
    } finally {
      await stack.core.db.$executeRawUnsafe('ALTER TABLE "RunLogAway" RENAME TO "RunLog"');
    }
    expect(body.errors?.map((error) => error.message)).toEqual(['Unexpected error.']);
    // The logs are read in the run's own statement, so the run is where it failed.
    expect(body.errors?.[0].path).toEqual(['run']);
    const raw = JSON.stringify(body);
    for (const secret of ['RunLog', 'prisma', 'Prisma', 'at ', '.ts:', 'postgres']) expect(raw).not.toContain(secret);
    // The rest of the answer is still there, and the same query works once the table is back.
    expect(body.data).toEqual({ run: null });
    const again = await admin.request(query, { id });
    expect(again.body.errors).toBeUndefined();
  });

  describe('limits on what one operation may ask (GraphQL Armor)', () => {
    it('refuses queries nested deeper than GRAPHQL_MAX_DEPTH', async () => {
      let selection = 'id';
      for (let i = 0; i < 13; i++) selection = `parentRun { ${selection} }`;
      const { body } = await admin.request(parse(`query Deep($id: ID!) { run(id: $id) { ${selection} } }`), { id: 'x' });
      expect(body.errors?.[0].message).toMatch(/Query depth limit of 12 exceeded/);
    });

    it('refuses too many aliases', async () => {
      const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: viewer { id }`).join(' ');
      const { body } = await admin.request(parse(`query Aliases { ${aliases} }`), {});
      expect(body.errors?.[0].message).toMatch(/Aliases limit of 30 exceeded/);
    });

    it('refuses documents with too many tokens', async () => {
      const fields = Array.from({ length: 5100 }, () => 'id').join(' ');
      const { body } = await admin.request(parse(`query Tokens { viewer { ${fields} } }`), {});
      expect(body.errors?.[0].message).toMatch(/Token limit of 5000 exceeded/);
    });

    it('accepts the full run graph query a frontend makes', async () => {
      const { body } = await admin.request(Runs, { first: 100 });
      expect(body.errors).toBeUndefined();
    });
  });
});
