// The run counters (RunCount, RunLabelCount, kept by triggers) against COUNT(*) of the runs, after
// seeded random sequences of every change path the service has — create (CREATED or QUEUED), a
// transition to each status, cancelRun, cancelRuns, deleteRun, deleteRuns, applyRetention,
// addRunLabels, removeRunLabels, deleteInstance — and after concurrent transitions of one
// instance's runs; and the API's counter-backed totals and facets against the same filter counted
// from rows (a createdAfter condition that matches every run forces the row count), on the
// compiled path and the resolvers, with another workspace's runs never in them.
import fc from 'fast-check';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { transitionRun } from '../src/runs/state-machine.ts';
import { COUNT_CAP, setCountingStrategy } from '../src/runs/run-counts.ts';
import { countedGraphQL, type CountedGraphQL } from './helpers/counted-graphql.ts';
import { seedRunGraph } from './helpers/seed-runs.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
let token: string;
let otherToken: string;
/** The same API with compiled reads off: the resolvers' answers (the stack's own server compiles). */
let resolvers: CountedGraphQL;

beforeAll(async () => {
  stack = await startTestStack({ withWorker: false, env: { RECONCILE_INTERVAL_MS: '600000' } });
  token = stack.admin.options.token!;
  const other = await createToken({ db: stack.core.db, userName: 'counts-other', workspace: 'counts-elsewhere', role: 'ADMIN' });
  otherToken = other.token;
  resolvers = countedGraphQL({ databaseUrl: stack.database.url, services: stack.api.services, token, compiledReads: false });
}, 60_000);

afterAll(async () => {
  await resolvers?.close();
  await stack?.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests walk answer data by path
type Data = Record<string, any>;

async function post(query: string, variables: Record<string, unknown> = {}, as = token, compiled = true): Promise<Data> {
  if (!compiled) {
    const { body } = await resolvers.request(parse(query), variables);
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data as Data;
  }
  const response = await fetch(stack.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${as}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Data; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');
const rawId = (id: string) => Buffer.from(id, 'base64').toString().split(':')[1];

async function createInstance(name: string, as = token): Promise<string> {
  const data = await post(
    `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ... on CreateInstanceSuccess { instance { id } } } }`,
    { input: { routineName: 'montecarlo', name } },
    as,
  );
  return rawId(data.createInstance.instance.id);
}

async function createRun(instanceId: string, labels: string[], start: boolean, as = token): Promise<string> {
  const data = await post(
    `mutation($input: CreateRunInput!) { createRun(input: $input) { __typename ... on CreateRunSuccess { run { id } } ... on Error { message } } }`,
    { input: { instanceId: globalId('RoutineInstance', instanceId), methodName: 'estimatePi', inputs: { samples: 10 }, labels, start } },
    as,
  );
  if (data.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(data));
  return rawId(data.createRun.run.id);
}

/** Cells where the counters and COUNT(*) of the runs differ (empty when they agree). */
async function counterMismatches(): Promise<unknown[]> {
  return stack.core.db.$queryRaw<unknown[]>`
    WITH runs AS (
      SELECT "workspaceId", "instanceId", "routineId", "methodName", status::text, '' AS label, count(*)::int AS n FROM "RoutineRun" GROUP BY 1, 2, 3, 4, 5
      UNION ALL
      SELECT r."workspaceId", r."instanceId", r."routineId", r."methodName", r.status::text, l.label, count(*)::int
      FROM "RoutineRun" r CROSS JOIN LATERAL unnest(r.labels) AS l(label) GROUP BY 1, 2, 3, 4, 5, 6
    ), counted AS (
      SELECT "workspaceId", "instanceId", "routineId", "methodName", status::text, '' AS label, sum(count)::int AS n FROM "RunCount" GROUP BY 1, 2, 3, 4, 5
      UNION ALL
      SELECT "workspaceId", "instanceId", "routineId", "methodName", status::text, label, sum(count)::int FROM "RunLabelCount" GROUP BY 1, 2, 3, 4, 5, 6
    )
    SELECT * FROM runs FULL JOIN counted USING ("workspaceId", "instanceId", "routineId", "methodName", status, label)
    WHERE coalesce(runs.n, 0) <> coalesce(counted.n, 0)`;
}

const LABELS = ['a', 'b', 'c'] as const;
const STATUSES = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
const pick = fc.nat({ max: 1000 });
const label = fc.constantFrom(...LABELS);
const operation = fc.oneof(
  fc.record({ op: fc.constant('create' as const), labels: fc.subarray([...LABELS]), start: fc.boolean() }),
  fc.record({ op: fc.constant('transition' as const), pick, to: fc.constantFrom(...STATUSES) }),
  fc.record({ op: fc.constant('cancel' as const), pick }),
  fc.record({ op: fc.constant('cancelMany' as const), label }),
  fc.record({ op: fc.constant('delete' as const), pick }),
  fc.record({ op: fc.constant('deleteMany' as const), status: fc.constantFrom(...STATUSES) }),
  fc.record({ op: fc.constant('retention' as const), pick }),
  fc.record({ op: fc.constant('addLabel' as const), pick, label }),
  fc.record({ op: fc.constant('removeLabel' as const), pick, label }),
  fc.record({ op: fc.constant('deleteInstance' as const) }),
);
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

describe('run counters', () => {
  it('stay equal to COUNT(*) after random sequences of every change path', async () => {
    let instance = await createInstance('counts-0');
    let instances = 1;
    const applied = new Set<string>();
    const runsOf = async () =>
      (
        await stack.core.db.$queryRaw<
          { id: string }[]
        >`SELECT id FROM "RoutineRun" WHERE "instanceId" = ${instance}::uuid ORDER BY "createdAt", id`
      ).map((row) => row.id);
    const apply = async (step: Operation) => {
      const runs = await runsOf();
      const run = 'pick' in step && runs.length ? runs[step.pick % runs.length] : null;
      const runId = run ? globalId('RoutineRun', run) : null;
      switch (step.op) {
        case 'create':
          await createRun(instance, step.labels, step.start);
          break;
        case 'transition':
          if (run) await transitionRun(stack.core.db, { runId: run, to: step.to });
          break;
        case 'cancel':
          if (runId) await post(`mutation($input: CancelRunInput!) { cancelRun(input: $input) { __typename } }`, { input: { id: runId } });
          break;
        case 'cancelMany':
          await post(`mutation($input: CancelRunsInput!) { cancelRuns(input: $input) { __typename } }`, {
            input: { filter: { labelsAny: [step.label], instanceId: globalId('RoutineInstance', instance) }, dryRun: false },
          });
          break;
        case 'delete':
          if (runId) await post(`mutation($input: DeleteRunInput!) { deleteRun(input: $input) { __typename } }`, { input: { id: runId } });
          break;
        case 'deleteMany':
          await post(`mutation($input: DeleteRunsInput!) { deleteRuns(input: $input) { __typename } }`, {
            input: { filter: { status: [step.status], instanceId: globalId('RoutineInstance', instance) } },
          });
          break;
        case 'retention':
          // An old run (a date change, which no counter holds) for retention to delete, if it has ended.
          if (run) {
            await stack.core.db.$executeRaw`UPDATE "RoutineRun" SET "createdAt" = now() - interval '30 days',
              "finishedAt" = CASE WHEN "finishedAt" IS NULL THEN NULL ELSE now() - interval '30 days' END WHERE id = ${run}::uuid`;
          }
          await post(`mutation($input: ApplyRetentionInput!) { applyRetention(input: $input) { __typename } }`, {
            input: { olderThanDays: 7, instanceId: globalId('RoutineInstance', instance), dryRun: false },
          });
          break;
        case 'addLabel':
          if (runId)
            await post(`mutation($input: AddRunLabelsInput!) { addRunLabels(input: $input) { __typename } }`, {
              input: { id: runId, labels: [step.label] },
            });
          break;
        case 'removeLabel':
          if (runId)
            await post(`mutation($input: RemoveRunLabelsInput!) { removeRunLabels(input: $input) { __typename } }`, {
              input: { id: runId, labels: [step.label] },
            });
          break;
        case 'deleteInstance': {
          // Refused while a run has not ended: end them first, as a user would.
          await post(`mutation($input: CancelRunsInput!) { cancelRuns(input: $input) { __typename } }`, {
            input: { filter: { instanceId: globalId('RoutineInstance', instance) }, dryRun: false },
          });
          await post(`mutation($input: DeleteInstanceInput!) { deleteInstance(input: $input) { __typename } }`, {
            input: { id: globalId('RoutineInstance', instance) },
          });
          instance = await createInstance(`counts-${instances++}`);
          break;
        }
      }
    };
    const [before] = await stack.core.db.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM "RoutineRun"`;
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 5, maxLength: 20 }), async (steps) => {
        for (const step of steps) {
          await apply(step);
          applied.add(step.op);
        }
        expect(await counterMismatches()).toEqual([]);
      }),
      { seed: 1717, numRuns: 12, endOnFailure: true },
    );
    // The sequences went through every path, and runs came and went.
    expect([...applied].sort()).toEqual(
      [
        'addLabel',
        'cancel',
        'cancelMany',
        'create',
        'delete',
        'deleteInstance',
        'deleteMany',
        'removeLabel',
        'retention',
        'transition',
      ].sort(),
    );
    const [after] = await stack.core.db.$queryRaw<{ n: number; deleted: number }[]>`
      SELECT (SELECT count(*)::int FROM "RoutineRun") AS n, (SELECT count(*)::int FROM "RunTombstone") AS deleted`;
    expect(after.n).not.toBe(before.n);
    expect(after.deleted).toBeGreaterThan(0);
  }, 600_000);

  it('stay exact under concurrent transitions of one instance’s runs (each connection its own shard)', async () => {
    const instance = await createInstance('counts-concurrent');
    const runs = await Promise.all(Array.from({ length: 16 }, (_, i) => createRun(instance, i % 2 ? ['a'] : ['b'], false)));
    for (const to of ['QUEUED', 'RUNNING'] as const) {
      // Each run twice at once: one of the two moves it, the other finds it moved.
      await Promise.all([...runs, ...runs].map((runId) => transitionRun(stack.core.db, { runId, to })));
    }
    await Promise.all(runs.map((runId, i) => transitionRun(stack.core.db, { runId, to: i % 3 ? 'COMPLETED' : 'FAILED' })));
    expect(await counterMismatches()).toEqual([]);
    const [cells] = await stack.core.db.$queryRaw<{ completed: number }[]>`
      SELECT sum(count)::int AS completed FROM "RunCount"
      WHERE "instanceId" = ${instance}::uuid AND status = 'COMPLETED' AND count <> 0`;
    expect(cells.completed).toBe(runs.filter((_, i) => i % 3).length);
  }, 120_000);

  const COUNTS = `query($filter: RunFilter) { runs(first: 1, filter: $filter) {
    totalCount totalCountIsApproximate facets { approximate status { status count } labels { label count } } } }`;
  const NESTED = `query($filter: RunFilter) { routine(name: "montecarlo") { instances(first: 100) { edges { node { id runs(first: 1, filter: $filter) {
    totalCount totalCountIsApproximate facets { approximate status { status count } labels { label count } } } } } } } }`;

  it('answer totals and facets as counting the rows does, on both paths, top-level and nested', async () => {
    const instance = await createInstance('counts-api');
    for (let i = 0; i < 9; i++)
      await createRun(
        instance,
        LABELS.filter((_, k) => (i >> k) & 1),
        i % 2 === 0,
      );
    const everything = { createdAfter: '1970-01-01T00:00:00Z' };
    const filters = [
      {},
      { status: ['QUEUED'] },
      { status: ['CREATED', 'QUEUED'], labelsAll: ['a'] },
      { labelsAny: ['b'] },
      { routineName: 'montecarlo', methodName: 'estimatePi' },
      { instanceId: globalId('RoutineInstance', instance), labelsAll: ['c'] },
      { status: [] },
    ];
    for (const filter of filters) {
      for (const compiled of [true, false]) {
        const counted = await post(COUNTS, { filter }, token, compiled);
        const fromRows = await post(COUNTS, { filter: { ...filter, ...everything } }, token, compiled);
        expect(counted, JSON.stringify(filter)).toEqual(fromRows);
        const nested = await post(NESTED, { filter }, token, compiled);
        const nestedFromRows = await post(NESTED, { filter: { ...filter, ...everything } }, token, compiled);
        expect(nested.routine.instances.edges.length).toBeGreaterThan(1);
        expect(nested).toEqual(nestedFromRows);
      }
    }
    const all = await post(COUNTS, { filter: {} });
    expect(all.runs.totalCount).toBeGreaterThanOrEqual(9);
    expect(all.runs.totalCountIsApproximate).toBe(false);
  }, 120_000);

  it('answer the same when switched to counting rows (bench:counts’ “before”)', async () => {
    const filters = [{}, { status: ['QUEUED'] }, { labelsAll: ['a', 'b'] }, { search: 'x', labelsAny: ['c'] }];
    const counted = await Promise.all(filters.map((filter) => post(COUNTS, { filter })));
    setCountingStrategy('rows');
    try {
      for (const compiled of [true, false]) {
        for (const [i, filter] of filters.entries()) expect(await post(COUNTS, { filter }, token, compiled)).toEqual(counted[i]);
      }
    } finally {
      setCountingStrategy('counters');
    }
  }, 60_000);

  it('never count another workspace’s runs', async () => {
    const theirs = await createInstance('counts-theirs', otherToken);
    await createRun(theirs, ['theirs-only'], false, otherToken);
    const mine = await post(COUNTS, { filter: {} });
    const [total] = await stack.core.db.$queryRaw<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM "RoutineRun" WHERE "instanceId" <> ${theirs}::uuid`;
    expect(mine.runs.totalCount).toBe(total.n);
    expect(mine.runs.facets.labels.map((f: { label: string }) => f.label)).not.toContain('theirs-only');
    const mineByLabel = await post(COUNTS, { filter: { labelsAny: ['theirs-only'] } });
    expect(mineByLabel.runs.totalCount).toBe(0);
    const them = await post(COUNTS, { filter: {} }, otherToken);
    expect(them.runs.totalCount).toBe(1);
    expect(them.runs.facets.labels).toEqual([{ label: 'theirs-only', count: 1 }]);
    expect(them.runs.facets.status).toEqual([{ status: 'CREATED', count: 1 }]);
  }, 60_000);

  it('count a filter the counters do not keep up to the cap, then say it is approximate', async () => {
    const adminId = (await stack.core.db.user.findUniqueOrThrow({ where: { name: 'admin' } })).id;
    await seedRunGraph(stack.core.db, {
      routineName: 'montecarlo',
      createdById: adminId,
      instances: 1,
      runsPerInstance: COUNT_CAP + 50,
      artifactsPerRun: 0,
      instancePrefix: 'counts-many',
    });
    const [{ n }] = await stack.core.db.$queryRaw<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM "RoutineRun" WHERE "instanceId" IN (SELECT id FROM "RoutineInstance" WHERE name NOT LIKE 'counts-theirs')`;
    for (const compiled of [true, false]) {
      const exact = await post(COUNTS, { filter: {} }, token, compiled);
      expect(exact.runs).toMatchObject({ totalCount: n, totalCountIsApproximate: false, facets: { approximate: false } });
      const capped = await post(COUNTS, { filter: { createdAfter: '1970-01-01T00:00:00Z' } }, token, compiled);
      expect(capped.runs).toMatchObject({ totalCount: COUNT_CAP, totalCountIsApproximate: true, facets: { approximate: true } });
      const statusSum = capped.runs.facets.status.reduce((sum: number, f: { count: number }) => sum + f.count, 0);
      expect(statusSum).toBe(COUNT_CAP);
      // Each facet its own sample when the filter holds its dimension (every seeded run carries `all`).
      const allStatuses = ['CREATED', 'QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'];
      const own = await post(
        COUNTS,
        { filter: { labelsAny: ['all'], status: allStatuses, createdAfter: '1970-01-01T00:00:00Z' } },
        token,
        compiled,
      );
      expect(own.runs).toMatchObject({ totalCount: COUNT_CAP, totalCountIsApproximate: true, facets: { approximate: true } });
      expect(own.runs.facets.status.reduce((sum: number, f: { count: number }) => sum + f.count, 0)).toBe(COUNT_CAP);
      expect(own.runs.facets.labels[0].label).toBe('all');
      expect(own.runs.facets.labels[0].count).toBeLessThanOrEqual(COUNT_CAP);
      // Under the cap, a filter the counters do not keep is exact.
      const few = await post(COUNTS, { filter: { search: 'counts-api-none', createdAfter: '1970-01-01T00:00:00Z' } }, token, compiled);
      expect(few.runs).toMatchObject({ totalCount: 0, totalCountIsApproximate: false, facets: { approximate: false, status: [] } });
    }
  }, 120_000);
});
