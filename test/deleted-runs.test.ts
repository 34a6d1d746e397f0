// Deleted runs: deleteRun leaves a tombstone that Query.deletedRuns lists (who, when, why) to the
// ADMINs of the run's workspace, newest first and keyset paged; everyone else gets an empty list,
// and node(id:) of a deleted run is null.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

interface Tombstone {
  runId: string;
  instanceId: string;
  routineName: string;
  methodName: string;
  name: string | null;
  status: string;
  reason: string | null;
  createdAt: string;
  deletedAt: string;
  createdBy: { name: string } | null;
  deletedBy: { name: string } | null;
}

interface TombstonePage {
  edges: { cursor: string; node: Tombstone }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const TOMBSTONES = `query($first: Int, $after: String) { deletedRuns(first: $first, after: $after) {
  edges { cursor node { runId instanceId routineName methodName name status reason createdAt deletedAt createdBy { name } deletedBy { name } } }
  pageInfo { hasNextPage endCursor } } }`;

describe('deletedRuns', () => {
  let stack: TestStack;
  const tokens: Record<string, string> = {};

  async function gql(who: string, query: string, variables: Record<string, unknown> = {}) {
    const response = await fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[who]}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown };
    if (body.errors || !body.data) throw new Error(JSON.stringify(body));
    return body.data;
  }

  async function deletedRuns(who: string, variables: { first?: number; after?: string } = {}): Promise<TombstonePage> {
    return (await gql(who, TOMBSTONES, variables)).deletedRuns as TombstonePage;
  }

  async function instance(who: string, name: string): Promise<string> {
    const data = await gql(
      who,
      `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { __typename ... on CreateInstanceSuccess { instance { id } } ... on Error { message } } }`,
      { input: { name, routineName: 'montecarlo' } },
    );
    const payload = data.createInstance as { instance?: { id: string } };
    if (!payload.instance) throw new Error(JSON.stringify(payload));
    return payload.instance.id;
  }

  /** A finished run (montecarlo, executed in the API process). */
  async function finishedRun(who: string, instanceId: string, name: string): Promise<string> {
    const data = await gql(
      who,
      `mutation($input: CreateRunInput!) { createRun(input: $input) { __typename ... on CreateRunSuccess { run { id status } } ... on Error { message } } }`,
      { input: { instanceId, name, methodName: 'estimatePi', inputs: { samples: 1000, batches: 1, seed: 7 }, executionType: 'IN_MEMORY' } },
    );
    const run = (data.createRun as { run?: { id: string; status: string } }).run;
    if (run?.status !== 'COMPLETED') throw new Error(JSON.stringify(data));
    return run.id;
  }

  async function deleteRun(who: string, id: string, reason?: string): Promise<void> {
    const data = await gql(who, `mutation($input: DeleteRunInput!) { deleteRun(input: $input) { __typename ... on Error { message } } }`, {
      input: { id, reason },
    });
    expect(data.deleteRun).toEqual({ __typename: 'DeleteRunSuccess' });
  }

  let instanceA: string;
  let instanceB: string;
  let deletedA: string;
  let deletedB: string;

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    const db = stack.core.db;
    const member = async (userName: string, workspace: string, role: 'ADMIN' | 'MAINTAINER' | 'OPERATOR') =>
      (tokens[userName] = (await createToken({ db, userName, workspace, role, bind: true })).token);
    await member('admin-a', 'tomb-a', 'ADMIN');
    await member('maintainer-a', 'tomb-a', 'MAINTAINER');
    await member('operator-a', 'tomb-a', 'OPERATOR');
    await member('admin-b', 'tomb-b', 'ADMIN');
    instanceA = await instance('admin-a', 'tomb-mc-a');
    instanceB = await instance('admin-b', 'tomb-mc-b');
    deletedA = await finishedRun('operator-a', instanceA, 'first');
    await deleteRun('operator-a', deletedA, 'wrong seed');
    deletedB = await finishedRun('admin-b', instanceB, 'in b');
    await deleteRun('admin-b', deletedB);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("lists a tombstone to its workspace's ADMIN: what the run was, who deleted it, when and why", async () => {
    const page = await deletedRuns('admin-a');
    expect(page.edges.map((edge) => edge.node.runId)).toEqual([deletedA]);
    const tombstone = page.edges[0].node;
    expect(tombstone).toMatchObject({
      instanceId: instanceA,
      routineName: 'montecarlo',
      methodName: 'estimatePi',
      name: 'first',
      status: 'COMPLETED',
      reason: 'wrong seed',
      createdBy: { name: 'operator-a' },
      deletedBy: { name: 'operator-a' },
    });
    const deletedAt = Date.parse(tombstone.deletedAt);
    expect(deletedAt).toBeGreaterThanOrEqual(Date.parse(tombstone.createdAt));
    expect(Date.now() - deletedAt).toBeLessThan(5 * 60_000);
  });

  it("keeps each workspace's tombstones to its own ADMINs", async () => {
    expect((await deletedRuns('admin-b')).edges.map((edge) => edge.node.runId)).toEqual([deletedB]);
  });

  it('answers an empty list below ADMIN, as the audit log would refuse them', async () => {
    expect(await deletedRuns('maintainer-a')).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
    expect(await deletedRuns('operator-a')).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('answers null for node(id) and run(id) of a deleted run', async () => {
    const data = await gql('admin-a', `query($id: ID!) { node(id: $id) { id } run(id: $id) { id } }`, { id: deletedA });
    expect(data).toEqual({ node: null, run: null });
  });

  it('pages newest first by a cursor', async () => {
    const more: string[] = [];
    for (const name of ['second', 'third', 'fourth']) {
      const id = await finishedRun('admin-a', instanceA, name);
      await deleteRun('admin-a', id);
      more.push(id);
    }
    const first = await deletedRuns('admin-a', { first: 2 });
    expect(first.edges.map((edge) => edge.node.runId)).toEqual([more[2], more[1]]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await deletedRuns('admin-a', { first: 2, after: first.pageInfo.endCursor! });
    expect(second.edges.map((edge) => edge.node.runId)).toEqual([more[0], deletedA]);
    expect(second.pageInfo.hasNextPage).toBe(false);
  });
});
