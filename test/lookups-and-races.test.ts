// Lookups by id and concurrent changes, over the real API: node(id:)/nodes(ids:) answer null for
// an id that names nothing (Relay), a malformed id is the client's named mistake (never
// "Unexpected error."), and a row deleted under a concurrent request is a NotFoundError.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './gql/index.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const LrInstance = graphql(`
  mutation LrInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
      ... on CreateInstanceSuccess {
        instance {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);
const LrCreateRun = graphql(`
  mutation LrCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on Error {
        message
      }
    }
  }
`);
const LrCancel = graphql(`
  mutation LrCancel($input: CancelRunInput!) {
    cancelRun(input: $input) {
      __typename
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on Error {
        message
      }
    }
  }
`);
const LrDeleteRun = graphql(`
  mutation LrDeleteRun($input: DeleteRunInput!) {
    deleteRun(input: $input) {
      __typename
      ... on DeleteRunSuccess {
        deletedRunId
      }
      ... on Error {
        message
      }
    }
  }
`);
const LrDeleteInstance = graphql(`
  mutation LrDeleteInstance($input: DeleteInstanceInput!) {
    deleteInstance(input: $input) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);
const LrAddLabels = graphql(`
  mutation LrAddLabels($input: AddRunLabelsInput!) {
    addRunLabels(input: $input) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);
const LrNode = graphql(`
  query LrNode($id: ID!) {
    node(id: $id) {
      __typename
      id
    }
  }
`);
const LrNodes = graphql(`
  query LrNodes($ids: [ID!]!) {
    nodes(ids: $ids) {
      __typename
      id
    }
  }
`);
const LrRun = graphql(`
  query LrRun($id: ID!) {
    run(id: $id) {
      id
    }
  }
`);

let stack: TestStack;
let instanceId: string;
const gid = (text: string) => Buffer.from(text).toString('base64');
const UNKNOWN = '00000000-0000-4000-8000-0000000000aa';

async function draftRun(instance = instanceId) {
  const created = await stack.admin.query(LrCreateRun, {
    input: { instanceId: instance, methodName: 'estimatePi', inputs: { samples: 10 }, start: false },
  });
  if (created.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(created));
  return created.createRun.run.id;
}

/** A CANCELLED (finished) run, deletable. */
async function finishedRun() {
  const id = await draftRun();
  const cancelled = await stack.admin.query(LrCancel, { input: { id } });
  if (cancelled.cancelRun.__typename !== 'CancelRunSuccess') throw new Error(JSON.stringify(cancelled));
  return id;
}

beforeAll(async () => {
  stack = await startTestStack({ withWorker: false });
  const created = await stack.admin.query(LrInstance, { input: { routineName: 'montecarlo', name: 'lookups' } });
  if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(created));
  instanceId = created.createInstance.instance.id;
});
afterAll(async () => {
  await stack?.stop();
});

describe('node(id:) and nodes(ids:)', () => {
  it('answer null, without an error, for a well-formed id of every node type that names nothing', async () => {
    for (const type of ['RoutineRun', 'RoutineInstance', 'Routine', 'Artifact', 'Dataset', 'User']) {
      const { body } = await stack.admin.request(LrNode, { id: gid(`${type}:${UNKNOWN}`) });
      expect(body, type).toEqual({ data: { node: null } });
    }
    const runId = await draftRun();
    const { body } = await stack.admin.request(LrNodes, {
      ids: [runId, gid(`RoutineRun:${UNKNOWN}`), gid(`Dataset:${UNKNOWN}`), instanceId],
    });
    expect(body).toEqual({
      data: { nodes: [{ __typename: 'RoutineRun', id: runId }, null, null, { __typename: 'RoutineInstance', id: instanceId }] },
    });
  });

  it('answer null for a deleted run', async () => {
    const id = await finishedRun();
    expect((await stack.admin.query(LrDeleteRun, { input: { id } })).deleteRun.__typename).toBe('DeleteRunSuccess');
    expect((await stack.admin.request(LrNode, { id })).body).toEqual({ data: { node: null } });
    expect((await stack.admin.request(LrNodes, { ids: [id] })).body).toEqual({ data: { nodes: [null] } });
    expect((await stack.admin.request(LrRun, { id })).body).toEqual({ data: { run: null } });
  });

  it('refuse a malformed id as BAD_USER_INPUT naming the argument', async () => {
    for (const bad of ['!!!', gid('hello'), gid('RoutineRun:abc'), gid(`Nope:${UNKNOWN}`), gid(`RunEvent:${UNKNOWN}`)]) {
      const node = await stack.admin.request(LrNode, { id: bad });
      expect(node.status, bad).toBeLessThan(500);
      expect(node.body.errors, bad).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(/^Argument "id" of Query\.node: /),
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }),
        }),
      ]);
      const nodes = await stack.admin.request(LrNodes, { ids: [instanceId, bad] });
      expect(nodes.body.errors, bad).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(/^Argument "ids\.1" of Query\.nodes: /),
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }),
        }),
      ]);
    }
    const run = await stack.admin.request(LrRun, { id: gid('RoutineRun:abc') });
    expect(run.body.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);
  });

  it('a mutation refuses a malformed id with a ValidationError naming the field', async () => {
    const cancelled = await stack.admin.query(LrCancel, { input: { id: gid('RoutineRun:abc') } });
    expect(cancelled.cancelRun).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['id'], message: expect.stringContaining('not a UUID') }],
    });
    const wrongType = await stack.admin.query(LrCancel, { input: { id: instanceId } });
    expect(wrongType.cancelRun).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['id'] }] });
  });

  it('a malformed routine:// path as a run input is a ValidationError on that input', async () => {
    const created = await stack.admin.query(LrInstance, { input: { routineName: 'kmeans', name: 'paths' } });
    if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(created));
    const kmeans = created.createInstance.instance.id;
    for (const path of [
      'routine://instances_/abc/shared_/datasets_/def/',
      `routine://instances_/${UNKNOWN}/shared_/runs_/x/shared_/artifacts_/y/`,
    ]) {
      const result = await stack.admin.query(LrCreateRun, {
        input: { instanceId: kmeans, methodName: 'fit', start: false, inputs: { points: { path } } },
      });
      expect(result.createRun, path).toMatchObject({
        __typename: 'ValidationError',
        fieldErrors: [{ path: ['inputs', 'points', 'path'] }],
      });
    }
  });
});

describe('races end in NotFoundError, not "Unexpected error."', () => {
  it('ten concurrent deleteRun of one run: one succeeds, nine find it gone', async () => {
    const id = await finishedRun();
    const results = await Promise.all(Array.from({ length: 10 }, () => stack.admin.request(LrDeleteRun, { input: { id } })));
    expect(results.map((r) => r.body.errors)).toEqual(Array(10).fill(undefined));
    const kinds = results.map((r) => r.body.data!.deleteRun.__typename).sort();
    expect(kinds).toEqual(['DeleteRunSuccess', ...Array(9).fill('NotFoundError')]);
    expect(await stack.core.db.runTombstone.count({ where: { runId: Buffer.from(id, 'base64').toString().split(':')[1] } })).toBe(1);
  });

  it('createRun racing deleteInstance: each createRun succeeds or finds the instance gone', async () => {
    const answers: string[] = [];
    for (let round = 0; round < 8; round++) {
      const created = await stack.admin.query(LrInstance, { input: { routineName: 'montecarlo', name: `race ${round}` } });
      if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(created));
      const instance = created.createInstance.instance.id;
      const [runs, deleted] = await Promise.all([
        Promise.all(
          Array.from({ length: 4 }, () =>
            stack.admin.request(LrCreateRun, {
              input: { instanceId: instance, methodName: 'estimatePi', inputs: { samples: 10 }, start: false },
            }),
          ),
        ),
        stack.admin.request(LrDeleteInstance, { input: { id: instance } }),
      ]);
      expect(deleted.body.errors).toBeUndefined();
      for (const run of runs) {
        expect(run.body.errors, JSON.stringify(run.body.errors)).toBeUndefined();
        answers.push(run.body.data!.createRun.__typename);
      }
    }
    expect(
      answers.every((kind) => kind === 'CreateRunSuccess' || kind === 'NotFoundError'),
      answers.join(),
    ).toBe(true);
  });

  it('labels on a run deleted meanwhile: NotFoundError', async () => {
    const id = await finishedRun();
    const [deleted, ...labelled] = await Promise.all([
      stack.admin.request(LrDeleteRun, { input: { id } }),
      ...Array.from({ length: 6 }, (_, i) => stack.admin.request(LrAddLabels, { input: { id, labels: [`l${i}`] } })),
    ]);
    expect(deleted.body.data?.deleteRun.__typename).toBe('DeleteRunSuccess');
    for (const result of labelled) {
      expect(result.body.errors).toBeUndefined();
      expect(['AddRunLabelsSuccess', 'NotFoundError']).toContain(result.body.data!.addRunLabels.__typename);
    }
  });
});
