// Instances (lookup by name, update, delete) and run metadata (labels, attributes): each metadata
// change is a run event written with it. Who may: the workspace roles (src/access/roles.ts) — an
// OPERATOR changes any run's metadata, only a MAINTAINER changes instances.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { mergePatch } from '../src/services/patch-run-attributes.ts';
import { ArtifactStore } from '../src/storage/artifact-store.ts';
import { runPath } from '../src/storage/layout.ts';
import { graphql } from './gql/index.ts';
import { GraphQLTestClient } from './helpers/graphql.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const CreateInstanceForGraph = graphql(`
  mutation CreateInstanceForGraph($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
      ... on CreateInstanceSuccess {
        instance {
          id
          name
        }
      }
      ... on ForbiddenError {
        requiredRole
      }
      ... on Error {
        message
      }
    }
  }
`);

const CreateDraftRun = graphql(`
  mutation CreateDraftRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
          status
          labels
          attributes
          lastSequence
        }
      }
      ... on ForbiddenError {
        requiredRole
      }
      ... on Error {
        message
      }
    }
  }
`);

const InstanceByName = graphql(`
  query InstanceByName($routineName: String!, $name: String!) {
    instance(routineName: $routineName, name: $name) {
      id
      name
      description
      routine {
        name
      }
      createdBy {
        name
      }
      runs(first: 5) {
        totalCount
      }
    }
  }
`);

const InstancesOfRoutine = graphql(`
  query InstancesOfRoutine($routineName: String, $first: Int, $after: String) {
    instances(routineName: $routineName, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          name
        }
      }
    }
  }
`);

const UpdateInstance = graphql(`
  mutation UpdateInstance($input: UpdateInstanceInput!) {
    updateInstance(input: $input) {
      __typename
      ... on UpdateInstanceSuccess {
        instance {
          id
          name
          description
          runs(first: 2) {
            totalCount
            edges {
              node {
                id
              }
            }
          }
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on ForbiddenError {
        requiredRole
      }
      ... on Error {
        message
      }
    }
  }
`);

const DeleteInstance = graphql(`
  mutation DeleteInstance($input: DeleteInstanceInput!) {
    deleteInstance(input: $input) {
      __typename
      ... on DeleteInstanceSuccess {
        deletedInstanceId
        deletedRunCount
      }
      ... on InstanceHasActiveRunsError {
        activeRunCount
      }
      ... on ForbiddenError {
        requiredRole
      }
      ... on Error {
        message
      }
    }
  }
`);

const AddRunLabels = graphql(`
  mutation AddRunLabels($input: AddRunLabelsInput!) {
    addRunLabels(input: $input) {
      __typename
      ... on AddRunLabelsSuccess {
        run {
          id
          labels
          lastSequence
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on ForbiddenError {
        requiredRole
      }
      ... on Error {
        message
      }
    }
  }
`);

const RemoveRunLabels = graphql(`
  mutation RemoveRunLabels($input: RemoveRunLabelsInput!) {
    removeRunLabels(input: $input) {
      __typename
      ... on RemoveRunLabelsSuccess {
        run {
          id
          labels
          lastSequence
        }
      }
      ... on ForbiddenError {
        requiredRole
      }
      ... on Error {
        message
      }
    }
  }
`);

const SetRunAttributes = graphql(`
  mutation SetRunAttributes($input: SetRunAttributesInput!) {
    setRunAttributes(input: $input) {
      __typename
      ... on SetRunAttributesSuccess {
        run {
          id
          attributes
          lastSequence
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on ForbiddenError {
        requiredRole
      }
      ... on Error {
        message
      }
    }
  }
`);

const PatchRunAttributes = graphql(`
  mutation PatchRunAttributes($input: PatchRunAttributesInput!) {
    patchRunAttributes(input: $input) {
      __typename
      ... on PatchRunAttributesSuccess {
        run {
          id
          attributes
          lastSequence
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on ForbiddenError {
        requiredRole
      }
      ... on Error {
        message
      }
    }
  }
`);

const RunEvents = graphql(`
  query RunEventsPage($id: ID!, $first: Int, $after: String, $types: [RunEventType!]) {
    run(id: $id) {
      lastSequence
      events(first: $first, after: $after, types: $types) {
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
            sequence
            type
            detail
            actor {
              name
            }
          }
        }
      }
    }
  }
`);

const rawId = (id: string) => Buffer.from(id, 'base64').toString().split(':')[1];

describe('instances and run metadata', () => {
  let stack: TestStack;
  let admin: GraphQLTestClient;
  let alice: GraphQLTestClient;
  /** An OPERATOR of the workspace: runs and labels, no instances. */
  let bob: GraphQLTestClient;
  /** A VIEWER of the workspace: reads only. */
  let carol: GraphQLTestClient;

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    admin = stack.admin;
    alice = await stack.clientFor('alice');
    const member = async (userName: string, role: 'OPERATOR' | 'VIEWER') =>
      new GraphQLTestClient({
        url: stack.url,
        token: (await createToken({ db: stack.core.db, userName, workspace: 'default', role })).token,
      });
    bob = await member('bob', 'OPERATOR');
    carol = await member('carol', 'VIEWER');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function instanceOf(client: GraphQLTestClient, name: string) {
    const { createInstance } = await client.query(CreateInstanceForGraph, { input: { routineName: 'montecarlo', name } });
    if (createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(createInstance));
    return createInstance.instance.id;
  }

  async function draftRun(client: GraphQLTestClient, instanceId: string) {
    const { createRun } = await client.query(CreateDraftRun, {
      input: { instanceId, methodName: 'estimatePi', inputs: { samples: 1000 }, start: false, labels: ['draft'] },
    });
    if (createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(createRun));
    return createRun.run;
  }

  describe('instances', () => {
    it('finds an instance by routine and name, and lists instances of a routine', async () => {
      const id = await instanceOf(alice, 'Lookup me');
      const { instance } = await bob.query(InstanceByName, { routineName: 'montecarlo', name: 'Lookup me' });
      expect(instance).toMatchObject({ id, name: 'Lookup me', routine: { name: 'montecarlo' }, createdBy: { name: 'alice' } });
      expect((await bob.query(InstanceByName, { routineName: 'kmeans', name: 'Lookup me' })).instance).toBeNull();

      await instanceOf(alice, 'Lookup me too');
      const page1 = await bob.query(InstancesOfRoutine, { routineName: 'montecarlo', first: 1 });
      expect(page1.instances.edges.map((e) => e.node.name)).toEqual(['Lookup me too']);
      expect(page1.instances.pageInfo.hasNextPage).toBe(true);
      const page2 = await bob.query(InstancesOfRoutine, { routineName: 'montecarlo', first: 5, after: page1.instances.pageInfo.endCursor });
      expect(page2.instances.edges.map((e) => e.node.name)).toContain('Lookup me');
      expect((await bob.query(InstancesOfRoutine, { routineName: 'kmeans' })).instances.totalCount).toBe(0);
      const tooMany = await bob.request(InstancesOfRoutine, { first: 101 });
      expect(tooMany.body.errors?.[0].message).toBe('"first" must be between 0 and 100 (got 101)');
    });

    it('renames and re-describes an instance; refuses a taken name and members below MAINTAINER', async () => {
      const id = await instanceOf(alice, 'Old name');
      await instanceOf(alice, 'Taken');
      const run = await draftRun(alice, id);
      const renamed = await alice.query(UpdateInstance, { input: { id, name: 'New name', description: 'Described' } });
      expect(renamed.updateInstance).toMatchObject({
        __typename: 'UpdateInstanceSuccess',
        instance: { name: 'New name', description: 'Described' },
      });
      // A mutation's result was not loaded by the query plan: its nested runs still resolve.
      expect(renamed.updateInstance).toMatchObject({ instance: { runs: { totalCount: 1, edges: [{ node: { id: run.id } }] } } });
      // Leaving a field out keeps it.
      const described = await alice.query(UpdateInstance, { input: { id, description: 'Again' } });
      expect(described.updateInstance).toMatchObject({ instance: { name: 'New name', description: 'Again' } });

      const taken = await alice.query(UpdateInstance, { input: { id, name: 'Taken' } });
      expect(taken.updateInstance.__typename).toBe('ValidationError');
      const empty = await alice.query(UpdateInstance, { input: { id, name: '  ' } });
      expect(empty.updateInstance.__typename).toBe('ValidationError');
      const forbidden = await bob.query(UpdateInstance, { input: { id, name: 'Bob was here' } });
      expect(forbidden.updateInstance).toMatchObject({ __typename: 'ForbiddenError', requiredRole: 'MAINTAINER' });
      const byAdmin = await admin.query(UpdateInstance, { input: { id, name: 'Admin may' } });
      expect(byAdmin.updateInstance.__typename).toBe('UpdateInstanceSuccess');
    });

    it('refuses to delete an instance with runs that have not ended, then deletes it with its runs and files', async () => {
      const id = await instanceOf(alice, 'Doomed');
      const run = await draftRun(alice, id);
      const ended = await draftRun(alice, id);
      await stack.core.db.routineRun.update({ where: { id: rawId(ended.id) }, data: { status: 'COMPLETED' } });

      // 1. A CREATED run is not terminal: refused, nothing deleted.
      const refused = await alice.query(DeleteInstance, { input: { id } });
      expect(refused.deleteInstance).toMatchObject({ __typename: 'InstanceHasActiveRunsError', activeRunCount: 1 });
      expect(await stack.core.db.routineRun.count({ where: { instanceId: rawId(id) } })).toBe(2);

      // 2. Once it ended (here: cancelled), an OPERATOR still may not delete it.
      await stack.core.db.routineRun.update({ where: { id: rawId(run.id) }, data: { status: 'CANCELLED' } });
      const forbidden = await bob.query(DeleteInstance, { input: { id } });
      expect(forbidden.deleteInstance).toMatchObject({ __typename: 'ForbiddenError', requiredRole: 'MAINTAINER' });

      // 3. The run's stored files go with it.
      const store = new ArtifactStore({ rootDir: stack.api.services.storageRoot });
      await store.writeJson({
        instanceId: rawId(id),
        runId: rawId(ended.id),
        name: 'result',
        value: { ok: true },
        includePreview: false,
        includeStatistics: false,
      });
      const runFolder = store.resolveLocalPath(runPath({ instanceId: rawId(id), runId: rawId(ended.id) }));
      expect(existsSync(runFolder)).toBe(true);

      const deleted = await alice.query(DeleteInstance, { input: { id } });
      expect(deleted.deleteInstance).toEqual({ __typename: 'DeleteInstanceSuccess', deletedInstanceId: id, deletedRunCount: 2 });
      expect(await stack.core.db.routineRun.count({ where: { instanceId: rawId(id) } })).toBe(0);
      expect(await stack.core.db.runEvent.count({ where: { runId: rawId(ended.id) } })).toBe(0);
      // Each deleted run leaves a tombstone, as deleteRun does.
      const tombstones = await stack.core.db.runTombstone.findMany({ where: { instanceId: rawId(id) } });
      expect(tombstones.map((t) => t.runId).sort()).toEqual([rawId(run.id), rawId(ended.id)].sort());
      expect(existsSync(runFolder)).toBe(false);
      const again = await alice.query(DeleteInstance, { input: { id } });
      expect(again.deleteInstance.__typename).toBe('NotFoundError');
    });
  });

  describe('run labels and attributes', () => {
    let instanceId: string;
    beforeAll(async () => {
      instanceId = await instanceOf(alice, 'Metadata');
    });

    it('adds and removes labels, each change a LABELS_CHANGED event; no change, no event', async () => {
      const run = await draftRun(alice, instanceId);
      const added = await alice.query(AddRunLabels, { input: { id: run.id, labels: ['exp:42', 'draft', 'team/a'] } });
      expect(added.addRunLabels).toMatchObject({ run: { labels: ['draft', 'exp:42', 'team/a'], lastSequence: run.lastSequence + 1 } });

      const same = await alice.query(AddRunLabels, { input: { id: run.id, labels: ['draft'] } });
      expect(same.addRunLabels).toMatchObject({ run: { lastSequence: run.lastSequence + 1 } });

      const removed = await alice.query(RemoveRunLabels, { input: { id: run.id, labels: ['draft', 'absent'] } });
      expect(removed.removeRunLabels).toMatchObject({ run: { labels: ['exp:42', 'team/a'], lastSequence: run.lastSequence + 2 } });

      const { run: withEvents } = await alice.query(RunEvents, { id: run.id, types: ['LABELS_CHANGED'] });
      expect(withEvents!.events.edges.map((e) => e.node)).toEqual([
        {
          sequence: run.lastSequence + 1,
          type: 'LABELS_CHANGED',
          actor: { name: 'alice' },
          detail: { added: ['exp:42', 'team/a'], removed: [], labels: ['draft', 'exp:42', 'team/a'] },
        },
        {
          sequence: run.lastSequence + 2,
          type: 'LABELS_CHANGED',
          actor: { name: 'alice' },
          detail: { added: [], removed: ['draft'], labels: ['exp:42', 'team/a'] },
        },
      ]);
    });

    it('refuses bad labels and more than 50, naming the field', async () => {
      const run = await draftRun(alice, instanceId);
      const bad = await alice.query(AddRunLabels, { input: { id: run.id, labels: ['ok', 'not ok', 'x'.repeat(65)] } });
      expect(bad.addRunLabels.__typename).toBe('ValidationError');
      if (bad.addRunLabels.__typename === 'ValidationError') {
        expect(bad.addRunLabels.fieldErrors.map((e) => e.path)).toEqual([
          ['labels', '1'],
          ['labels', '2'],
        ]);
      }
      const many = await alice.query(AddRunLabels, { input: { id: run.id, labels: Array.from({ length: 50 }, (_, i) => `l${i}`) } });
      expect(many.addRunLabels.__typename).toBe('ValidationError'); // 'draft' + 50 = 51
      const { run: unchanged } = await alice.query(RunEvents, { id: run.id });
      expect(unchanged!.lastSequence).toBe(run.lastSequence);
    });

    it('replaces attributes and merge-patches them (RFC 7396), each an ATTRIBUTES_CHANGED event', async () => {
      const run = await draftRun(alice, instanceId);
      const set = await alice.query(SetRunAttributes, {
        input: { id: run.id, attributes: { owner: 'alice', tags: ['a', 'b'], config: { lr: 0.1, layers: 3 } } },
      });
      expect(set.setRunAttributes).toMatchObject({ __typename: 'SetRunAttributesSuccess', run: { lastSequence: run.lastSequence + 1 } });

      // RFC 7396: null removes, objects merge, arrays and scalars replace.
      const patched = await alice.query(PatchRunAttributes, {
        input: { id: run.id, patch: { owner: null, tags: ['c'], config: { lr: 0.01, dropout: 0.5 }, new: { deep: { x: 1 } } } },
      });
      expect(patched.patchRunAttributes).toMatchObject({
        run: {
          attributes: { tags: ['c'], config: { lr: 0.01, layers: 3, dropout: 0.5 }, new: { deep: { x: 1 } } },
          lastSequence: run.lastSequence + 2,
        },
      });
      const noop = await alice.query(PatchRunAttributes, { input: { id: run.id, patch: { absent: null } } });
      expect(noop.patchRunAttributes).toMatchObject({ run: { lastSequence: run.lastSequence + 2 } });

      const { run: withEvents } = await alice.query(RunEvents, { id: run.id, types: ['ATTRIBUTES_CHANGED'] });
      expect(withEvents!.events.edges.map((e) => e.node.detail)).toEqual([
        { operation: 'set', changedKeys: ['config', 'owner', 'tags'] },
        { operation: 'patch', changedKeys: ['config', 'new', 'owner', 'tags'] },
      ]);

      const notObject = await alice.query(SetRunAttributes, { input: { id: run.id, attributes: [1, 2] } });
      expect(notObject.setRunAttributes.__typename).toBe('ValidationError');
      const tooBig = await alice.query(PatchRunAttributes, { input: { id: run.id, patch: { blob: 'x'.repeat(70_000) } } });
      expect(tooBig.patchRunAttributes.__typename).toBe('ValidationError');
    });

    it("lets an OPERATOR of the run's workspace change its metadata, not a VIEWER", async () => {
      const run = await draftRun(alice, instanceId);
      for (const result of [
        (await carol.query(AddRunLabels, { input: { id: run.id, labels: ['carol'] } })).addRunLabels,
        (await carol.query(RemoveRunLabels, { input: { id: run.id, labels: ['draft'] } })).removeRunLabels,
        (await carol.query(SetRunAttributes, { input: { id: run.id, attributes: {} } })).setRunAttributes,
        (await carol.query(PatchRunAttributes, { input: { id: run.id, patch: { a: 1 } } })).patchRunAttributes,
      ]) {
        expect(result).toMatchObject({ __typename: 'ForbiddenError', requiredRole: 'OPERATOR' });
      }
      const byOperator = await bob.query(AddRunLabels, { input: { id: run.id, labels: ['audited'] } });
      expect(byOperator.addRunLabels).toMatchObject({ run: { labels: ['draft', 'audited'] } });
      // Another node's id is the client's mistake, named like any other bad field.
      const wrongType = await alice.query(AddRunLabels, { input: { id: instanceId, labels: ['x'] } });
      expect(wrongType.addRunLabels).toMatchObject({
        __typename: 'ValidationError',
        fieldErrors: [{ path: ['id'], message: expect.stringMatching(/is not of type: RoutineRun$/) }],
      });
    });
  });

  describe('RoutineRun.events: a connection whose cursor is the sequence', () => {
    it('pages by sequence, filters by type and counts', async () => {
      const instanceId = await instanceOf(alice, 'Events');
      const run = await draftRun(alice, instanceId);
      await alice.query(AddRunLabels, { input: { id: run.id, labels: ['one'] } });
      await alice.query(PatchRunAttributes, { input: { id: run.id, patch: { a: 1 } } });
      await alice.query(AddRunLabels, { input: { id: run.id, labels: ['two'] } });

      const first = await alice.query(RunEvents, { id: run.id, first: 2 });
      expect(first.run!.events.edges.map((e) => e.cursor)).toEqual(['1', '2']);
      expect(first.run!.events.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false, endCursor: '2' });
      expect(first.run!.events.totalCount).toBe(4);

      const rest = await alice.query(RunEvents, { id: run.id, after: '2' });
      expect(rest.run!.events.edges.map((e) => [e.node.sequence, e.node.type])).toEqual([
        [3, 'ATTRIBUTES_CHANGED'],
        [4, 'LABELS_CHANGED'],
      ]);
      expect(rest.run!.events.pageInfo.hasNextPage).toBe(false);

      const labels = await alice.query(RunEvents, { id: run.id, types: ['LABELS_CHANGED'], after: '2' });
      expect(labels.run!.events.edges.map((e) => e.cursor)).toEqual(['4']);
      expect(labels.run!.events.totalCount).toBe(2);

      const { body } = await alice.request(RunEvents, { id: run.id, after: 'abc' });
      expect(body.errors?.[0].message).toMatch(/an event cursor is a sequence number/);
    });
  });
});

describe('mergePatch follows RFC 7396 (its appendix A examples)', () => {
  const examples: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  it.each(examples)('%j patched with %j is %j', (target, patch, expected) => {
    expect(mergePatch(target, patch)).toEqual(expected);
  });
});
