// Guided (WORKFLOW) invocation: a run built step by step as a CREATED draft, one validated
// parameter at a time, refused at startRun while incomplete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { graphql } from './gql/index.ts';
import { GraphQLTestClient } from './helpers/graphql.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const DraftInstance = graphql(`
  mutation DraftInstance($input: CreateInstanceInput!) {
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

const DraftCreateRun = graphql(`
  mutation DraftCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
          status
          invocationMethod
          inputs
          draftStatus {
            complete
            missing
            set
          }
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

const DraftDetail = graphql(`
  query DraftDetail($id: ID!) {
    run(id: $id) {
      id
      status
      inputs
      draftStatus {
        complete
        missing
        set
        next {
          name
        }
      }
      nextParameter {
        name
        type
        required
        description
        default
        options
      }
      instance {
        config
        constructed
      }
    }
  }
`);

const SetParameter = graphql(`
  mutation SetParameter($input: SetRunParameterInput!) {
    setRunParameter(input: $input) {
      __typename
      ... on SetRunParameterSuccess {
        run {
          id
          inputs
          draftStatus {
            complete
            missing
            set
          }
          nextParameter {
            name
          }
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on RunNotDraftError {
        status
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

const DraftStart = graphql(`
  mutation DraftStart($input: StartRunInput!) {
    startRun(input: $input) {
      __typename
      ... on StartRunSuccess {
        run {
          id
          status
          inputs
          draftStatus {
            complete
          }
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

describe('guided (WORKFLOW) drafts', () => {
  let stack: TestStack;
  let instanceId: string;
  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    const created = await stack.admin.query(DraftInstance, { input: { routineName: 'kmeans', name: 'Guided' } });
    if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(created));
    instanceId = created.createInstance.instance.id;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('builds a run one parameter at a time, refusing bad values and an incomplete start', async () => {
    // 1. An empty draft: CREATED, and it asks for k first.
    const created = await stack.admin.query(DraftCreateRun, {
      input: { instanceId, methodName: 'configure', invocationMethod: 'WORKFLOW', executionType: 'IN_MEMORY', start: false, inputs: {} },
    });
    if (created.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(created));
    const id = created.createRun.run.id;
    expect(created.createRun.run).toMatchObject({
      status: 'CREATED',
      invocationMethod: 'WORKFLOW',
      inputs: {},
      draftStatus: { complete: false, missing: ['k'], set: [] },
    });
    const first = (await stack.admin.query(DraftDetail, { id })).run!;
    expect(first.nextParameter).toMatchObject({
      name: 'k',
      type: 'integer',
      required: true,
      description: 'Number of clusters to find (2-50).',
    });
    expect(first.draftStatus!.next).toEqual({ name: 'k' });

    // 2. A bad value is refused, naming the parameter; the draft is unchanged.
    const bad = await stack.admin.query(SetParameter, { input: { id, name: 'k', value: 0 } });
    expect(bad.setRunParameter.__typename).toBe('ValidationError');
    if (bad.setRunParameter.__typename !== 'ValidationError') throw new Error('expected ValidationError');
    expect(bad.setRunParameter.fieldErrors.map((e) => e.path)).toEqual([['inputs', 'k']]);
    const unknown = await stack.admin.query(SetParameter, { input: { id, name: 'clusters', value: 3 } });
    if (unknown.setRunParameter.__typename !== 'ValidationError') throw new Error(JSON.stringify(unknown));
    expect(unknown.setRunParameter.fieldErrors).toEqual([{ path: ['inputs', 'clusters'], message: 'Unknown parameter' }]);
    expect((await stack.admin.query(DraftDetail, { id })).run!.inputs).toEqual({});

    // 3. Starting the incomplete draft is refused with the missing parameters; it stays CREATED.
    const early = await stack.admin.query(DraftStart, { input: { id } });
    if (early.startRun.__typename !== 'ValidationError') throw new Error(JSON.stringify(early));
    expect(early.startRun.fieldErrors).toEqual([{ path: ['inputs', 'k'], message: 'Required parameter is missing' }]);
    expect((await stack.admin.query(DraftDetail, { id })).run!.status).toBe('CREATED');

    // 4. A good value is kept; nothing required is missing any more.
    const k = await stack.admin.query(SetParameter, { input: { id, name: 'k', value: 3 } });
    if (k.setRunParameter.__typename !== 'SetRunParameterSuccess') throw new Error(JSON.stringify(k));
    expect(k.setRunParameter.run).toMatchObject({
      inputs: { k: 3 },
      draftStatus: { complete: true, missing: [], set: ['k'] },
      nextParameter: null,
    });
    // An optional parameter with a bad value is refused too, and k stays.
    const iterations = await stack.admin.query(SetParameter, { input: { id, name: 'maxIterations', value: 'many' } });
    if (iterations.setRunParameter.__typename !== 'ValidationError') throw new Error(JSON.stringify(iterations));
    expect(iterations.setRunParameter.fieldErrors.map((e) => e.path)).toEqual([['inputs', 'maxIterations']]);
    const seed = await stack.admin.query(SetParameter, { input: { id, name: 'seed', value: 42 } });
    if (seed.setRunParameter.__typename !== 'SetRunParameterSuccess') throw new Error(JSON.stringify(seed));
    // null unsets a parameter.
    const unset = await stack.admin.query(SetParameter, { input: { id, name: 'seed', value: null } });
    if (unset.setRunParameter.__typename !== 'SetRunParameterSuccess') throw new Error(JSON.stringify(unset));
    expect(unset.setRunParameter.run.inputs).toEqual({ k: 3 });

    // 5. configure is the CONSTRUCTOR: an OPERATOR of the workspace may not edit its draft (it
    //    would rewrite the instance's config), whoever created it.
    const { token } = await createToken({ db: stack.core.db, userName: 'operator', workspace: 'default', role: 'OPERATOR' });
    const operator = new GraphQLTestClient({ url: stack.url, token });
    const foreign = await operator.query(SetParameter, { input: { id, name: 'k', value: 4 } });
    expect(foreign.setRunParameter).toMatchObject({ __typename: 'ForbiddenError', requiredRole: 'MAINTAINER' });

    // 6. The complete draft starts; the defaults are applied then (maxIterations 100).
    const started = await stack.admin.query(DraftStart, { input: { id } });
    if (started.startRun.__typename !== 'StartRunSuccess') throw new Error(JSON.stringify(started));
    expect(started.startRun.run).toMatchObject({ status: 'COMPLETED', inputs: { k: 3, maxIterations: 100 }, draftStatus: null });
    const finished = (await stack.admin.query(DraftDetail, { id })).run!;
    expect(finished.instance.config).toMatchObject({ k: 3, maxIterations: 100 });
    expect(finished.nextParameter).toBeNull();

    // 7. A started run is no longer a draft.
    const late = await stack.admin.query(SetParameter, { input: { id, name: 'k', value: 5 } });
    expect(late.setRunParameter).toMatchObject({ __typename: 'RunNotDraftError', status: 'COMPLETED' });
  });

  it('checks the parameters a draft is created with, each on its own', async () => {
    const result = await stack.admin.query(DraftCreateRun, {
      input: { instanceId, methodName: 'configure', invocationMethod: 'WORKFLOW', start: false, inputs: { k: 99, seed: 'x' } },
    });
    if (result.createRun.__typename !== 'ValidationError') throw new Error(JSON.stringify(result));
    expect(result.createRun.fieldErrors.map((e) => e.path)).toEqual([
      ['inputs', 'k'],
      ['inputs', 'seed'],
    ]);
  });

  it('still validates DIRECT runs, and started WORKFLOW runs, completely at creation', async () => {
    for (const input of [
      { invocationMethod: 'DIRECT' as const, start: false },
      { invocationMethod: 'DIRECT' as const, start: true },
      { invocationMethod: 'WORKFLOW' as const, start: true },
    ]) {
      const result = await stack.admin.query(DraftCreateRun, {
        input: { instanceId, methodName: 'configure', executionType: 'IN_MEMORY', inputs: {}, ...input },
      });
      if (result.createRun.__typename !== 'ValidationError') throw new Error(`${JSON.stringify(input)}: ${JSON.stringify(result)}`);
      expect(result.createRun.fieldErrors).toEqual([{ path: ['inputs', 'k'], message: 'Required parameter is missing' }]);
    }
  });
});
