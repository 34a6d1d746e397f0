// What a run's inputs mean, over the real API: a wrong value is refused naming what was expected
// and what came (not "Required parameter is missing"), for every kind of parameter of the
// built-in routines and on every way in (createRun, a draft's setRunParameter and startRun,
// rerunRun's overrides); and inputs are compared by value, so an idempotent retry with the same
// multi-key, nested inputs is the same run and a re-run's changedInputs lists only real changes.
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './gql/index.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const SemInstance = graphql(`
  mutation SemInstance($input: CreateInstanceInput!) {
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
const SemCreateRun = graphql(`
  mutation SemCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        deduplicated
        run {
          id
          status
          inputs
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
const SemSetParameter = graphql(`
  mutation SemSetParameter($input: SetRunParameterInput!) {
    setRunParameter(input: $input) {
      __typename
      ... on SetRunParameterSuccess {
        run {
          inputs
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
const SemStartRun = graphql(`
  mutation SemStartRun($input: StartRunInput!) {
    startRun(input: $input) {
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
const SemCancelRun = graphql(`
  mutation SemCancelRun($input: CancelRunInput!) {
    cancelRun(input: $input) {
      __typename
      ... on CancelRunSuccess {
        run {
          status
        }
      }
      ... on Error {
        message
      }
    }
  }
`);
const SemRerun = graphql(`
  mutation SemRerun($input: RerunRunInput!) {
    rerunRun(input: $input) {
      __typename
      ... on RerunRunSuccess {
        changedInputs
        run {
          id
          inputs
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
const SemUpload = graphql(`
  mutation SemUpload($input: UploadDatasetInput!) {
    uploadDataset(input: $input) {
      __typename
      ... on UploadDatasetSuccess {
        dataset {
          path
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

let stack: TestStack;
const instances: Record<string, string> = {};
let datasetPath: string;

async function createInstance(routineName: string): Promise<string> {
  const created = await stack.admin.query(SemInstance, { input: { routineName, name: `${routineName} semantics` } });
  if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(created));
  return created.createInstance.instance.id;
}

async function createRun(input: Record<string, unknown>) {
  return (await stack.admin.query(SemCreateRun, { input: input as never })).createRun;
}

beforeAll(async () => {
  stack = await startTestStack({ withWorker: false });
  for (const routine of ['montecarlo', 'anomaly_detection', 'kmeans', 'regression']) instances[routine] = await createInstance(routine);
  const configured = await createRun({
    instanceId: instances.kmeans,
    methodName: 'configure',
    executionType: 'IN_MEMORY',
    inputs: { k: 2, seed: 1 },
  });
  if (configured.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(configured));

  const form = new FormData();
  form.append(
    'operations',
    JSON.stringify({ query: print(SemUpload), variables: { input: { instanceId: instances.kmeans, name: 'pairs', file: null } } }),
  );
  form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
  form.append('0', new Blob(['a,b\n0,0\n0,1\n10,10\n10,11\n'], { type: 'text/csv' }), 'pairs.csv');
  const response = await fetch(stack.url, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${stack.admin.options.token}` },
  });
  const uploaded = (await response.json()) as { data: { uploadDataset: { __typename: string; dataset?: { path: string } } } };
  if (!uploaded.data.uploadDataset.dataset) throw new Error(JSON.stringify(uploaded));
  datasetPath = uploaded.data.uploadDataset.dataset.path;
});
afterAll(async () => {
  await stack?.stop();
});

describe('a wrong value says what was expected and what came', () => {
  const ROWS = [[1], [2], [3]];
  // [routine, method, inputs, the one field error expected]
  const cases: Array<[string, string, Record<string, unknown>, string[], string]> = [
    ['montecarlo', 'estimatePi', { samples: '5' }, ['inputs', 'samples'], 'expected an integer, got a string'],
    ['montecarlo', 'estimatePi', { samples: 2.5 }, ['inputs', 'samples'], 'expected an integer, got 2.5'],
    ['montecarlo', 'estimatePi', {}, ['inputs', 'samples'], 'Required parameter is missing'],
    ['montecarlo', 'estimatePi', { samples: 0 }, ['inputs', 'samples'], 'expected at least 1, got 0'],
    ['montecarlo', 'estimatePi', { samples: 5, batches: true }, ['inputs', 'batches'], 'expected an integer, got true'],
    ['montecarlo', 'estimatePi', { samples: 5, seed: null }, ['inputs', 'seed'], 'expected an integer, got null'],
    ['montecarlo', 'estimatePi', { samples: 5, sample: 5 }, ['inputs', 'sample'], 'Unknown parameter'],
    ['kmeans', 'configure', { k: '3' }, ['inputs', 'k'], 'expected an integer, got a string'],
    ['kmeans', 'configure', { k: 2.5 }, ['inputs', 'k'], 'expected an integer, got 2.5'],
    ['kmeans', 'configure', { k: 51 }, ['inputs', 'k'], 'expected at most 50, got 51'],
    [
      'anomaly_detection',
      'detect',
      { rows: ROWS, method: 'median' },
      ['inputs', 'method'],
      'expected one of "zscore", "modified_zscore", "iqr", got "median"',
    ],
    [
      'anomaly_detection',
      'detect',
      { rows: ROWS, method: 3 },
      ['inputs', 'method'],
      'expected one of "zscore", "modified_zscore", "iqr", got 3',
    ],
    ['anomaly_detection', 'detect', { rows: 'abc' }, ['inputs', 'rows'], 'expected an array, got a string'],
    ['anomaly_detection', 'detect', { rows: [[1], [2], ['x']] }, ['inputs', 'rows', '2', '0'], 'expected a number, got a string'],
    ['anomaly_detection', 'detect', { rows: [[1], [2]] }, ['inputs', 'rows'], 'expected at least 3 items, got 2 items'],
    ['anomaly_detection', 'detect', { rows: ROWS, threshold: -1 }, ['inputs', 'threshold'], 'expected more than 0, got -1'],
    [
      'regression',
      'fit',
      { features: ROWS, target: [1, 2, 3], intercept: 'yes' },
      ['inputs', 'intercept'],
      'expected true or false, got a string',
    ],
    ['regression', 'fit', { features: ROWS, target: [1, 2, 3], targetName: 7 }, ['inputs', 'targetName'], 'expected a string, got 7'],
    ['regression', 'predict', { features: { rows: ROWS } }, ['inputs', 'features'], 'expected an array, got an object'],
    ['kmeans', 'fit', { points: 'x' }, ['inputs', 'points'], 'expected an array or an object {path, columns}, got a string'],
    ['kmeans', 'fit', { points: [[1, 'a']] }, ['inputs', 'points', '0', '1'], 'expected a number, got a string'],
    ['kmeans', 'fit', { points: { path: 5 } }, ['inputs', 'points', 'path'], 'expected a string, got 5'],
    ['kmeans', 'fit', { points: { columns: ['a'] } }, ['inputs', 'points', 'path'], 'Required field is missing: expected a string'],
    ['kmeans', 'fit', { points: { path: 'routine://x', extra: 1 } }, ['inputs', 'points', 'extra'], 'Unknown field'],
    [
      'kmeans',
      'fit',
      { points: { path: 'routine://x', columns: 'a' } },
      ['inputs', 'points', 'columns'],
      'expected an array, got a string',
    ],
  ];

  it.each(cases)('createRun %s.%s %j', async (routine, methodName, inputs, path, message) => {
    const result = await createRun({ instanceId: instances[routine], methodName, inputs, start: false });
    expect(result).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path, message }] });
  });

  it('a guided draft checks each value as it is set, and startRun still names what is missing', async () => {
    const draft = await createRun({
      instanceId: instances.montecarlo,
      methodName: 'estimatePi',
      invocationMethod: 'WORKFLOW',
      start: false,
      inputs: { batches: '2' },
    });
    expect(draft).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['inputs', 'batches'], message: 'expected an integer, got a string' }],
    });
    const created = await createRun({
      instanceId: instances.montecarlo,
      methodName: 'estimatePi',
      invocationMethod: 'WORKFLOW',
      start: false,
      inputs: {},
    });
    if (created.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(created));
    const id = created.run.id;
    const set = async (name: string, value: unknown) =>
      (await stack.admin.query(SemSetParameter, { input: { id, name, value } })).setRunParameter;
    expect(await set('samples', 'many')).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['inputs', 'samples'], message: 'expected an integer, got a string' }],
    });
    expect(await set('samples', 2.5)).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['inputs', 'samples'], message: 'expected an integer, got 2.5' }],
    });
    expect(await set('samples', [5])).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['inputs', 'samples'], message: 'expected an integer, got an array' }],
    });
    expect(await set('sample', 5)).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['inputs', 'sample'], message: 'Unknown parameter' }],
    });
    expect((await stack.admin.query(SemStartRun, { input: { id } })).startRun).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['inputs', 'samples'], message: 'Required parameter is missing' }],
    });

    const anomaly = await createRun({
      instanceId: instances.anomaly_detection,
      methodName: 'detect',
      invocationMethod: 'WORKFLOW',
      start: false,
      inputs: {},
    });
    if (anomaly.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(anomaly));
    expect(
      (await stack.admin.query(SemSetParameter, { input: { id: anomaly.run.id, name: 'method', value: 'mean' } })).setRunParameter,
    ).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['inputs', 'method'], message: 'expected one of "zscore", "modified_zscore", "iqr", got "mean"' }],
    });
  });

  it('rerunRun names a wrong override under overrides.inputs', async () => {
    const parent = await createRun({ instanceId: instances.montecarlo, methodName: 'estimatePi', start: false, inputs: { samples: 10 } });
    if (parent.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(parent));
    await stack.admin.query(SemCancelRun, { input: { id: parent.run.id } });
    const rerun = await stack.admin.query(SemRerun, {
      input: { id: parent.run.id, start: false, overrides: { inputs: { samples: '5', batches: 0.5 } } },
    });
    expect(rerun.rerunRun).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [
        { path: ['overrides', 'inputs', 'samples'], message: 'expected an integer, got a string' },
        { path: ['overrides', 'inputs', 'batches'], message: 'expected an integer, got 0.5' },
      ],
    });
  });
});

describe('inputs are compared by value', () => {
  it('an idempotent retry with the same several keys is the same run; other inputs under the key are refused', async () => {
    const input = {
      instanceId: instances.montecarlo,
      methodName: 'estimatePi',
      start: false,
      idempotencyKey: 'sem-multi',
      inputs: { seed: 7, samples: 1000, batches: 10 },
    };
    const first = await createRun(input);
    if (first.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(first));
    const retried = await createRun({ ...input, inputs: { batches: 10, samples: 1000, seed: 7 } });
    expect(retried).toMatchObject({ __typename: 'CreateRunSuccess', deduplicated: true, run: { id: first.run.id } });
    // 1000.0, as some client libraries print a double, is the same number.
    const text = JSON.stringify({ query: print(SemCreateRun), variables: { input } }).replace('"samples":1000', '"samples":1000.0');
    expect(text).toContain('1000.0');
    const response = await fetch(stack.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.admin.options.token}` },
      body: text,
    });
    const asFloat = (await response.json()) as { data: { createRun: unknown } };
    expect(asFloat.data.createRun).toMatchObject({ deduplicated: true, run: { id: first.run.id } });
    const different = await createRun({ ...input, inputs: { seed: 7, samples: 1001, batches: 10 } });
    expect(different).toMatchObject({ __typename: 'IdempotencyKeyReusedError' });
  });

  it('nested objects too: a stored table reference with its keys in any order', async () => {
    // A guided draft keeps its inputs as given (not reordered by the schema), PostgreSQL reorders them.
    const input = {
      instanceId: instances.kmeans,
      methodName: 'fit',
      invocationMethod: 'WORKFLOW',
      start: false,
      idempotencyKey: 'sem-nested',
      inputs: { points: { columns: ['a', 'b'], path: datasetPath } },
    };
    const first = await createRun(input);
    if (first.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(first));
    const again = await createRun(input);
    expect(again).toMatchObject({ __typename: 'CreateRunSuccess', deduplicated: true, run: { id: first.run.id } });
    const different = await createRun({ ...input, inputs: { points: { columns: ['b', 'a'], path: datasetPath } } });
    expect(different).toMatchObject({ __typename: 'IdempotencyKeyReusedError' });
  });

  it("a re-run's changedInputs lists only the inputs whose value changed", async () => {
    const parent = await createRun({
      instanceId: instances.kmeans,
      methodName: 'fit',
      start: false,
      inputs: { points: { path: datasetPath, columns: ['a', 'b'] } },
    });
    if (parent.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(parent));
    await stack.admin.query(SemCancelRun, { input: { id: parent.run.id } });
    const same = await stack.admin.query(SemRerun, {
      input: { id: parent.run.id, start: false, overrides: { inputs: { points: { columns: ['a', 'b'], path: datasetPath } } } },
    });
    expect(same.rerunRun.__typename).toBe('RerunRunSuccess');
    expect(same.rerunRun.__typename === 'RerunRunSuccess' && same.rerunRun.changedInputs).toEqual({});
    const changed = await stack.admin.query(SemRerun, {
      input: { id: parent.run.id, start: false, overrides: { inputs: { points: { columns: ['b'], path: datasetPath } } } },
    });
    expect(changed.rerunRun.__typename === 'RerunRunSuccess' && changed.rerunRun.changedInputs).toEqual({
      points: { columns: ['b'], path: datasetPath },
    });
  });
});
