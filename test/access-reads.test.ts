// Two teams share one deployment with the same seeded data, each in its own workspace: nothing one
// reads ever shows the other's. Random run filters, orders and page sizes (fast-check) over real
// HTTP (compiled reads where they apply, resolvers elsewhere): lists, totals, facets, the nested
// Routine → instances → runs graph, node/nodes. A third user, a member of both, sees exactly the
// union: so what each team sees is also complete, not only free of the other's.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { graphql } from './gql/index.ts';
import type { RunFilter, RunOrderField, RunStatus } from './gql/graphql.ts';
import { GraphQLTestClient } from './helpers/graphql.ts';
import { seedRunGraph, STATUSES, TEAMS } from './helpers/seed-runs.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const RunsEverywhere = graphql(`
  query AccessReadsRuns($filter: RunFilter, $orderBy: RunOrder, $first: Int) {
    runs(first: $first, filter: $filter, orderBy: $orderBy) {
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
      edges {
        node {
          id
          instance {
            id
          }
          parentRun {
            id
          }
          artifacts {
            id
            run {
              id
            }
          }
        }
      }
    }
    routines {
      name
      instances(first: 10) {
        totalCount
        edges {
          node {
            id
            runs(first: $first, filter: $filter, orderBy: $orderBy) {
              totalCount
              facets {
                status {
                  status
                  count
                }
              }
              edges {
                node {
                  id
                }
              }
            }
          }
        }
      }
    }
    instances(first: 100) {
      totalCount
      edges {
        node {
          id
        }
      }
    }
  }
`);

const Nodes = graphql(`
  query AccessReadsNodes($ids: [ID!]!) {
    nodes(ids: $ids) {
      __typename
      id
    }
  }
`);

const Lookups = graphql(`
  query AccessReadsLookups($run: ID!, $workspaceId: ID, $ids: [ID!]!) {
    run(id: $run) {
      id
    }
    instance(routineName: "kmeans", name: "seeded 1") {
      id
    }
    inWorkspace: instances(workspaceId: $workspaceId) {
      totalCount
      edges {
        node {
          id
        }
      }
    }
    compareRuns(ids: $ids) {
      __typename
      ... on RunComparison {
        runs {
          id
        }
      }
      ... on NotFoundError {
        id
      }
    }
  }
`);

const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');
/** Every `"id"` in an answer. */
const idsIn = (body: unknown) => [...JSON.stringify(body).matchAll(/"id":"([^"]+)"/g)].map((m) => m[1]);

interface Team {
  client: GraphQLTestClient;
  userId: string;
  workspaceId: string;
  instanceIds: string[];
  runIds: string[];
  artifactIds: string[];
  /** The global ids of everything it owns: instances, runs, artifacts, its user. */
  owned: Set<string>;
}

describe('two teams in two workspaces with the same data never see each other', () => {
  let stack: TestStack;
  const teams: Record<'a' | 'b', Team> = {} as never;
  let both: GraphQLTestClient;

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false, env: { RECONCILE_INTERVAL_MS: String(24 * 3600_000) } });
    const db = stack.core.db;
    const base = new Date();
    for (const name of ['a', 'b'] as const) {
      const { token, user, workspace } = await createToken({ db, userName: `team-${name}`, workspace: `team-${name}`, role: 'VIEWER' });
      // The same seed in both: same instance names, labels, attributes, statuses and times.
      const instanceIds = [
        ...(await seedRunGraph(db, {
          routineName: 'kmeans',
          createdById: user.id,
          instances: 2,
          runsPerInstance: 9,
          artifactsPerRun: 1,
          workspaceId: workspace!.id,
          base,
        })),
        ...(await seedRunGraph(db, {
          routineName: 'montecarlo',
          createdById: user.id,
          instances: 1,
          runsPerInstance: 4,
          artifactsPerRun: 0,
          instancePrefix: 'mc',
          workspaceId: workspace!.id,
          base,
        })),
      ];
      const runs = await db.routineRun.findMany({ where: { instanceId: { in: instanceIds } }, include: { artifacts: true } });
      const team: Team = {
        client: new GraphQLTestClient({ url: stack.url, token }),
        userId: user.id,
        workspaceId: workspace!.id,
        instanceIds,
        runIds: runs.map((r) => r.id),
        artifactIds: runs.flatMap((r) => r.artifacts.map((a) => a.id)),
        owned: new Set(),
      };
      for (const id of team.instanceIds) team.owned.add(gid('RoutineInstance', id));
      for (const id of team.runIds) team.owned.add(gid('RoutineRun', id));
      for (const id of team.artifactIds) team.owned.add(gid('Artifact', id));
      team.owned.add(gid('User', user.id));
      teams[name] = team;
    }
    // A re-run's parent in its own workspace, as re-runs are: the one relation between runs.
    for (const team of Object.values(teams)) {
      await db.routineRun.update({ where: { id: team.runIds[1] }, data: { parentRunId: team.runIds[0] } });
    }
    await createToken({ db, userName: 'both', workspace: 'team-a', role: 'VIEWER' });
    both = new GraphQLTestClient({
      url: stack.url,
      token: (await createToken({ db, userName: 'both', tokenName: 'b', workspace: 'team-b', role: 'VIEWER' })).token,
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('lists, totals, facets, nested lists and nodes, for random filters', async () => {
    const statuses = fc.subarray([...STATUSES] as RunStatus[], { minLength: 1 });
    const labels = fc.subarray(['all', 'even', 'mod3-0', 'mod3-1', 'mod3-2', 'none'], { minLength: 1 });
    // Up to three conditions: more would rarely match anything.
    const condition: fc.Arbitrary<RunFilter> = fc.oneof(
      fc.record({ status: statuses }),
      fc.record({ labelsAll: labels }),
      fc.record({ labelsAny: labels }),
      fc.record({
        attributes: fc.oneof(
          fc.record({ team: fc.constantFrom(...TEAMS) }),
          fc.record({ n: fc.integer({ min: 0, max: 9 }) }),
          fc.constant({ nested: { flag: true } }),
        ),
      }),
      fc.record({ routineName: fc.constantFrom('kmeans', 'montecarlo') }),
      fc.record({ methodName: fc.constantFrom('fit', 'estimatePi') }),
      fc.record({ search: fc.constantFrom('needle', 'run 1', 'RUN', 'nothing like it') }),
      fc.record({
        createdAfter: fc.integer({ min: 0, max: 10 }).map((minutes) => new Date(Date.now() - minutes * 60_000).toISOString()),
      }),
    );
    const filterArb = fc.array(condition, { maxLength: 3 }).map((parts): RunFilter => Object.assign({}, ...parts));
    const orderArb = fc.record({
      field: fc.constantFrom<RunOrderField>('CREATED_AT', 'UPDATED_AT', 'FINISHED_AT', 'DURATION', 'NAME'),
      direction: fc.constantFrom('ASC' as const, 'DESC' as const),
    });
    let nonEmpty = 0;
    await fc.assert(
      fc.asyncProperty(filterArb, orderArb, fc.integer({ min: 1, max: 40 }), async (filter, orderBy, first) => {
        const variables = { filter, orderBy, first };
        const [a, b, union] = await Promise.all([
          teams.a.client.query(RunsEverywhere, variables),
          teams.b.client.query(RunsEverywhere, variables),
          both.query(RunsEverywhere, variables),
        ]);
        for (const [own, other, answer] of [
          [teams.a, teams.b, a],
          [teams.b, teams.a, b],
        ] as const) {
          // Routines are global; every other id must be its own.
          const shown = idsIn(answer).filter((id) => !isRoutineId(id));
          expect(shown.filter((id) => other.owned.has(id))).toEqual([]);
          expect(shown.filter((id) => !own.owned.has(id))).toEqual([]);
        }
        // The same data: the same counts; and the member of both sees exactly the two together.
        expect(a.runs.totalCount).toBe(b.runs.totalCount);
        expect(union.runs.totalCount).toBe(a.runs.totalCount + b.runs.totalCount);
        expect(a.runs.edges.length).toBe(Math.min(first, a.runs.totalCount));
        expect(summed(a.runs.facets.status, 'status')).toEqual(summed(b.runs.facets.status, 'status'));
        expect(summed(union.runs.facets.status, 'status')).toEqual(double(summed(a.runs.facets.status, 'status')));
        expect(summed(union.runs.facets.labels, 'label')).toEqual(double(summed(a.runs.facets.labels, 'label')));
        expect(a.instances.totalCount).toBe(teams.a.instanceIds.length);
        expect(union.instances.totalCount).toBe(teams.a.instanceIds.length + teams.b.instanceIds.length);
        const nestedTotal = (answer: typeof a) =>
          answer.routines.flatMap((r) => r.instances.edges).reduce((sum, e) => sum + e.node.runs.totalCount, 0);
        expect(nestedTotal(a)).toBe(a.runs.totalCount);
        expect(nestedTotal(union)).toBe(union.runs.totalCount);
        if (a.runs.totalCount > 0) nonEmpty += 1;
      }),
      { seed: 1313, numRuns: 25, endOnFailure: true },
    );
    // Random filters that matched nothing would prove little.
    expect(nonEmpty).toBeGreaterThan(5);
  });

  it('node and nodes answer null for every id of the other team, and the ids themselves for its own', async () => {
    for (const [own, other] of [
      [teams.a, teams.b],
      [teams.b, teams.a],
    ] as const) {
      const theirs = [...other.owned];
      const { nodes: hidden } = await own.client.query(Nodes, { ids: theirs });
      expect(hidden).toEqual(theirs.map(() => null));
      const mine = [...own.owned];
      const { nodes: shown } = await own.client.query(Nodes, { ids: mine });
      expect(shown.map((node) => node?.id)).toEqual(mine);
    }
    // A member of both sees both users: each shares a workspace with it.
    const { nodes } = await both.query(Nodes, { ids: [gid('User', teams.a.userId), gid('User', teams.b.userId)] });
    expect(nodes.map((node) => node?.__typename)).toEqual(['User', 'User']);
  });

  it('run, instance by name, instances of a workspace and compareRuns: the other team’s are unknown', async () => {
    for (const [own, other] of [
      [teams.a, teams.b],
      [teams.b, teams.a],
    ] as const) {
      const theirs = await own.client.query(Lookups, {
        run: gid('RoutineRun', other.runIds[0]),
        workspaceId: gid('Workspace', other.workspaceId),
        ids: [gid('RoutineRun', own.runIds[0]), gid('RoutineRun', other.runIds[0])],
      });
      expect(theirs.run).toBeNull();
      // Both workspaces have an instance "seeded 1": the one it can see.
      expect(theirs.instance && own.owned.has(theirs.instance.id)).toBe(true);
      expect(theirs.inWorkspace).toEqual({ totalCount: 0, edges: [] });
      expect(theirs.compareRuns).toEqual({ __typename: 'NotFoundError', id: other.runIds[0] });
      const unknown = await own.client.query(Lookups, {
        run: gid('RoutineRun', own.runIds[0]),
        workspaceId: gid('Workspace', own.workspaceId),
        ids: [gid('RoutineRun', own.runIds[0]), gid('RoutineRun', '00000000-0000-4000-8000-000000000000')],
      });
      expect(unknown.run?.id).toBe(gid('RoutineRun', own.runIds[0]));
      expect(unknown.inWorkspace.totalCount).toBe(own.instanceIds.length);
      // The same answer as for an id nobody has.
      expect(unknown.compareRuns).toEqual({ __typename: 'NotFoundError', id: '00000000-0000-4000-8000-000000000000' });
    }
  });
});

function isRoutineId(id: string): boolean {
  return Buffer.from(id, 'base64').toString('utf8').startsWith('Routine:');
}

/** Facet counts by value, as a sorted object. */
function summed<K extends string>(facets: readonly ({ count: number } & Record<K, string>)[], key: K): Record<string, number> {
  return Object.fromEntries(facets.map((f) => [f[key], f.count] as const).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

function double(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v * 2]));
}
