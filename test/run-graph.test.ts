// The run graph in one query, without N+1: routines → instances → runs → artifacts costs the
// same few SQL statements whatever the amount of data, and a nested page reads only its rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './gql/index.ts';
import { countedGraphQL, type CountedGraphQL } from './helpers/counted-graphql.ts';
import { seedRunGraph } from './helpers/seed-runs.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const NestedGraph = graphql(`
  query NestedGraph($instances: Int!, $runs: Int!) {
    routines {
      name
      methods {
        name
        kind
        parameters {
          name
          type
          required
        }
      }
      instances(first: $instances) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            id
            name
            constructed
            config
            createdAt
            createdBy {
              name
            }
            routine {
              name
            }
            runs(first: $runs) {
              totalCount
              pageInfo {
                hasNextPage
                endCursor
              }
              edges {
                cursor
                node {
                  id
                  name
                  status
                  labels
                  attributes
                  createdAt
                  durationMs
                  createdBy {
                    name
                  }
                  method {
                    name
                    kind
                  }
                  progress {
                    percent
                  }
                  artifacts {
                    id
                    name
                    path
                    sizeBytes
                  }
                }
              }
            }
          }
        }
      }
    }
  }
`);

const NodeById = graphql(`
  query NodeById($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on Routine {
        name
      }
      ... on RoutineInstance {
        name
      }
      ... on RoutineRun {
        status
      }
      ... on Artifact {
        name
      }
      ... on User {
        name
      }
    }
  }
`);

const ViewerId = graphql(`
  query ViewerId {
    viewer {
      id
      name
    }
  }
`);

const RoutineId = graphql(`
  query RoutineId($name: String!) {
    routine(name: $name) {
      id
      name
    }
  }
`);

describe('the run graph: routines → instances → runs → artifacts in one request', () => {
  let stack: TestStack;
  let counted: CountedGraphQL;
  /** The same server answering with the resolvers only (GRAPHQL_COMPILED_READS=false). */
  let resolvers: CountedGraphQL;
  let adminId: string;

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    counted = countedGraphQL({
      databaseUrl: stack.database.url,
      services: stack.api.services,
      token: stack.admin.options.token!,
    });
    resolvers = countedGraphQL({
      databaseUrl: stack.database.url,
      services: stack.api.services,
      token: stack.admin.options.token!,
      compiledReads: false,
    });
    adminId = (await stack.core.db.user.findUniqueOrThrow({ where: { name: 'admin' } })).id;
  });
  afterAll(async () => {
    await counted?.close();
    await resolvers?.close();
    await stack?.stop();
  });

  async function nested(variables: { instances: number; runs: number }, through = counted) {
    const { body, statements } = await through.request(NestedGraph, variables);
    expect(body.errors).toBeUndefined();
    return { data: body.data!, statements };
  }

  it('makes the same few SQL statements when the data grows ten-fold', async () => {
    // 1. Small: 2 instances × 3 runs × 3 artifacts.
    await seedRunGraph(stack.core.db, {
      routineName: 'kmeans',
      createdById: adminId,
      instances: 2,
      runsPerInstance: 3,
      artifactsPerRun: 3,
      instancePrefix: 'small',
    });
    const small = await nested({ instances: 50, runs: 50 });
    const smallViaResolvers = await nested({ instances: 50, runs: 50 }, resolvers);
    const kmeans = small.data.routines.find((r) => r.name === 'kmeans')!;
    expect(kmeans.instances.totalCount).toBe(2);
    expect(kmeans.instances.edges.map((e) => e.node.runs.edges.length)).toEqual([3, 3]);
    expect(kmeans.instances.edges[0].node.runs.edges[0].node.artifacts).toHaveLength(3);

    // 2. Ten-fold in each dimension that grows: 20 instances × 30 runs × 3 artifacts (+ the small ones).
    await seedRunGraph(stack.core.db, {
      routineName: 'kmeans',
      createdById: adminId,
      instances: 20,
      runsPerInstance: 30,
      artifactsPerRun: 3,
      instancePrefix: 'large',
    });
    const large = await nested({ instances: 50, runs: 50 });
    const grown = large.data.routines.find((r) => r.name === 'kmeans')!;
    expect(grown.instances.totalCount).toBe(22);
    expect(grown.instances.edges).toHaveLength(22);
    const runCounts = grown.instances.edges.map((e) => e.node.runs.totalCount);
    expect(runCounts.filter((n) => n === 30)).toHaveLength(20);
    expect(runCounts.filter((n) => n === 3)).toHaveLength(2);
    for (const edge of grown.instances.edges) {
      expect(edge.node.createdBy.name).toBe('admin');
      expect(edge.node.routine.name).toBe('kmeans');
      for (const run of edge.node.runs.edges) {
        expect(run.node.artifacts.map((a) => a.name)).toEqual(['artifact_1', 'artifact_2', 'artifact_3']);
        expect(run.node.method.name).toBe('fit');
      }
    }

    // 3. The count of statements is the same, and small: the routine with its instances, the page
    //    of run ids of every instance (LATERAL), those runs with their artifacts, and the runs'
    //    totals of every instance.
    expect(large.statements.length).toBe(small.statements.length);
    expect(large.statements.length).toBeLessThanOrEqual(4);
    // Compiled reads (the default) answer it with one statement; the resolvers (the fallback for
    // what is not compiled) stay constant too, and answer the same.
    expect(large.statements).toHaveLength(1);
    const viaResolvers = await nested({ instances: 50, runs: 50 }, resolvers);
    expect(viaResolvers.data).toEqual(large.data);
    expect(viaResolvers.statements.length).toBe(smallViaResolvers.statements.length);
    expect(viaResolvers.statements.length).toBeLessThanOrEqual(4);
    console.log(
      `nested query: ${large.statements.length} SQL statement compiled, ${viaResolvers.statements.length} through the resolvers (small and ten-fold data: ${small.statements.length} / ${large.statements.length})`,
    );
  });

  it('reads only the page of each instance: a nested first: 5 is a LIMIT per instance', async () => {
    // Compiled reads: one statement. Its scans of the runs read the page of each instance (at most
    // first + 2 runs), those runs by id, and for totalCount each instance's runs once (606 here);
    // never a whole-table scan per instance.
    const compiledRead = await nested({ instances: 50, runs: 5 });
    expect(compiledRead.statements).toHaveLength(1);
    const [statement] = compiledRead.statements;
    const compiledPlan = await explainAnalyze(statement.sql, JSON.parse(statement.params) as unknown[]);
    const runScans = scans(compiledPlan).filter((n) => n['Relation Name'] === 'RoutineRun');
    expect(runScans.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
    const compiledRows = runScans.reduce((sum, n) => sum + Number(n['Actual Rows']) * Number(n['Actual Loops']), 0);
    expect(compiledRows).toBeGreaterThan(0);
    expect(compiledRows).toBeLessThanOrEqual(22 * (5 + 2) * 2 + 606);

    // The resolvers: a page of ids per instance (LATERAL), then those runs with their artifacts.
    const { data, statements } = await nested({ instances: 50, runs: 5 }, resolvers);
    expect(data).toEqual(compiledRead.data);
    const kmeans = data.routines.find((r) => r.name === 'kmeans')!;
    const large = kmeans.instances.edges.filter((e) => e.node.name.startsWith('large'));
    expect(large.every((e) => e.node.runs.edges.length === 5 && e.node.runs.pageInfo.hasNextPage)).toBe(true);
    // Each instance's runs come newest first.
    for (const edge of large) {
      const created = edge.node.runs.edges.map((r) => Date.parse(r.node.createdAt));
      expect([...created].sort((a, b) => b - a)).toEqual(created);
    }
    const page = statements.find((s) => s.sql.includes('CROSS JOIN LATERAL') && s.sql.includes('"RoutineRun"'));
    expect(page?.sql).toMatch(/LIMIT/);
    const load = statements.find((s) => s.sql.includes('"RoutineRun"') && s.sql.includes('"Artifact"'));
    expect(load).toBeDefined();

    // EXPLAIN ANALYZE of both statements: each reads at most first + 1 runs per instance.
    for (const statement of [page!, load!]) {
      const plan = await explainAnalyze(statement.sql, JSON.parse(statement.params) as unknown[]);
      const runRows = scans(plan).filter((n) => n['Relation Name'] === 'RoutineRun');
      const rowsRead = runRows.reduce((sum, n) => sum + Number(n['Actual Rows']) * Number(n['Actual Loops']), 0);
      expect(rowsRead).toBeGreaterThan(0);
      // Per instance (22 here): first + 1 to know hasNextPage, + 1 that the sort on
      // (createdAt DESC, id DESC) reads to close its last group; never the 30 runs of one.
      expect(rowsRead).toBeLessThanOrEqual(22 * (5 + 2));
    }
    expect(statements.length).toBeLessThanOrEqual(4);
  });

  it('resolves every Node type by its global id with node(id:)', async () => {
    const { data } = await nested({ instances: 1, runs: 1 });
    const kmeans = data.routines.find((r) => r.name === 'kmeans')!;
    const instance = kmeans.instances.edges[0].node;
    const run = instance.runs.edges[0].node;
    const { viewer } = await stack.admin.query(ViewerId);
    const ids: [string, string][] = [
      [instance.id, 'RoutineInstance'],
      [run.id, 'RoutineRun'],
      [run.artifacts[0].id, 'Artifact'],
      [viewer!.id, 'User'],
    ];
    const { routine } = await stack.admin.query(RoutineId, { name: 'kmeans' });
    ids.push([routine!.id, 'Routine']);
    for (const [id, typename] of ids) {
      const { node } = await stack.admin.query(NodeById, { id });
      expect(node).toMatchObject({ __typename: typename, id });
    }
  });

  async function explainAnalyze(sql: string, params: unknown[]) {
    const rows = await stack.core.db.$queryRawUnsafe<{ 'QUERY PLAN': unknown }[]>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, ...params);
    return (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan;
  }
});

type PlanNode = Record<string, unknown> & { Plans?: PlanNode[] };
function scans(node: PlanNode): PlanNode[] {
  const own = /Scan$/.test(String(node['Node Type'])) ? [node] : [];
  return [...own, ...(node.Plans ?? []).flatMap(scans)];
}
