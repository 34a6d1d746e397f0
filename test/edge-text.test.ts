// Issue 11, items 1 and 2: text PostgreSQL cannot hold (U+0000, lone UTF-16 surrogates) and JSON
// nested too deep are refused at the edge as errors naming the field, on every argument of every
// field and in uploaded tables; and one request that makes Prisma's engine panic (or anything that
// ends or breaks the database pool) costs no other user anything.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLTestClient } from './helpers/graphql.ts';
import { ADMIN_URL } from './helpers/database.ts';
import { postMultipartUpload } from './helpers/multipart-upload.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const NUL = 'a\u0000b';
const LONE = 'a\ud800b';

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests walk each answer's data by its query's path
  body: { data?: Record<string, any> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

/** The request as a client sends it: JSON.stringify writes a lone surrogate as the escape "\ud800". */
async function post(client: GraphQLTestClient, query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  return postBody(client, JSON.stringify({ query, variables }));
}

async function postBody(client: GraphQLTestClient, body: string): Promise<Answer> {
  const response = await fetch(client.options.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${client.options.token}` },
    body,
  });
  return { status: response.status, body: await response.json() };
}

const RESULT = `__typename ... on ValidationError { fieldErrors { path message } } ... on Error { message }`;
const mutation = (name: string, inputType: string) => `mutation($input: ${inputType}!) { ${name}(input: $input) { ${RESULT} } }`;
const CREATE_INSTANCE = `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ${RESULT} ... on CreateInstanceSuccess { instance { id } } } }`;
const CREATE_RUN = `mutation($input: CreateRunInput!) { createRun(input: $input) { ${RESULT} ... on CreateRunSuccess { run { id } } } }`;
const RUN_COUNT = `{ runs(first: 1) { totalCount } }`;
const UPLOAD = `mutation($input: UploadDatasetInput!) { uploadDataset(input: $input) { ${RESULT} } }`;

/** Nested `levels` objects deep: { k: { k: … 1 } }. */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < levels; level++) value = { k: value };
  return value;
}

function expectRefused(answer: Answer, field: string, path: string[], message: RegExp): void {
  expect(answer.status).toBe(200);
  expect(answer.body.errors, JSON.stringify(answer.body)).toBeUndefined();
  const result = answer.body.data![field];
  expect(result.__typename, JSON.stringify(result)).toBe('ValidationError');
  expect(result.fieldErrors).toEqual([{ path, message: expect.stringMatching(message) }]);
}

function expectBadArgument(answer: Answer, argument: string, message: RegExp): void {
  expect(answer.body.errors, JSON.stringify(answer.body)).toHaveLength(1);
  const [error] = answer.body.errors!;
  expect(error.extensions?.code).toBe('BAD_USER_INPUT');
  expect(error.message).toContain(`argument ${argument} `);
  expect(error.message).toMatch(message);
}

describe('text and JSON at the edge', () => {
  let stack: TestStack;
  let other: GraphQLTestClient;
  let instanceId: string;
  let runId: string;

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    other = await stack.clientFor('bystander');
    const created = await post(stack.admin, CREATE_INSTANCE, { input: { routineName: 'kmeans', name: 'Texts' } });
    instanceId = created.body.data!.createInstance.instance.id;
    const run = await post(stack.admin, CREATE_RUN, {
      input: { instanceId, methodName: 'configure', start: false, inputs: {}, invocationMethod: 'WORKFLOW' },
    });
    runId = run.body.data!.createRun.run.id;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function expectRunListsAnswer(): Promise<void> {
    const answer = await post(other, RUN_COUNT);
    expect(answer.body, JSON.stringify(answer.body)).toEqual({ data: { runs: { totalCount: expect.any(Number) } } });
  }

  async function runRows(): Promise<number> {
    return stack.core.db.routineRun.count();
  }

  it('refuses a lone surrogate in createRun attributes, and run lists keep answering for everyone', async () => {
    const before = await runRows();
    const answer = await post(stack.admin, CREATE_RUN, {
      input: { instanceId, methodName: 'configure', start: false, inputs: {}, invocationMethod: 'WORKFLOW', attributes: { k: '\ud800' } },
    });
    expectRefused(answer, 'createRun', ['attributes', 'k'], /lone UTF-16 surrogate \(\\uD800 without its pair\) at character 1/);
    expect(await runRows()).toBe(before);
    await expectRunListsAnswer();
  });

  it('refuses a lone surrogate in a JSON data set cell or key, and run lists keep answering', async () => {
    for (const [content, message] of [
      ['[\n{"a": 1, "b": "x"},\n{"a": 2, "b": "\\ud800"}\n]', /^line 3, column 2: .*lone UTF-16 surrogate/],
      ['[\n{"a": 1},\n{"a": 2, "\\udc00": 3}\n]', /^line 3, column 2: .*lone UTF-16 surrogate \(\\uDC00/],
      ['[[1, "x"], [2, "y\\u0000"]]', /^line 1, column 2: .*U\+0000 \(NUL\)/],
    ] as const) {
      const upload = await postMultipartUpload({
        url: stack.url,
        token: stack.admin.options.token!,
        query: UPLOAD,
        variables: { input: { instanceId, name: `d${randomUUID().slice(0, 8)}`, file: null } },
        filePath: 'variables.input.file',
        fileName: 'table.json',
        file: [Buffer.from(content)],
      });
      expectRefused({ status: upload.status, body: JSON.parse(upload.body) }, 'uploadDataset', ['file'], message);
    }
    expect(await stack.core.db.dataset.count()).toBe(0);
    await expectRunListsAnswer();
  });

  it('names the line and column of NUL in an uploaded CSV file', async () => {
    const upload = await postMultipartUpload({
      url: stack.url,
      token: stack.admin.options.token!,
      query: UPLOAD,
      variables: { input: { instanceId, name: 'nul', file: null } },
      filePath: 'variables.input.file',
      fileName: 'table.csv',
      file: [Buffer.from('a,b\n1,x\n2,y\u0000z\n')],
    });
    expectRefused(
      { status: upload.status, body: JSON.parse(upload.body) },
      'uploadDataset',
      ['file'],
      /^line 3, column 2: contains U\+0000 \(NUL\) at character 2/,
    );
    const header = await postMultipartUpload({
      url: stack.url,
      token: stack.admin.options.token!,
      query: UPLOAD,
      variables: { input: { instanceId, name: 'nulheader', file: null } },
      filePath: 'variables.input.file',
      fileName: 'table.csv',
      file: [Buffer.from('a,"b\u0000"\n1,2\n')],
    });
    expectRefused({ status: header.status, body: JSON.parse(header.body) }, 'uploadDataset', ['file'], /^line 1, column 2: .*U\+0000/);
    expect(await stack.core.db.dataset.count()).toBe(0);
  });

  it('refuses an upload whose bytes are not UTF-8, naming the line, instead of storing replacement characters', async () => {
    const cases: [string, Buffer[], RegExp][] = [
      // An encoded lone surrogate (ED A0 80) and a UTF-16 byte-order mark (FF FE) in a CSV cell.
      [
        'surrogate bytes',
        [Buffer.from('a,b\n1,x\n'), Buffer.concat([Buffer.from('2,'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('\n')])],
        /^line 3: the file is not valid UTF-8/,
      ],
      ['latin-1', [Buffer.from([0x61, 0x0a, 0xff, 0xfe, 0x0a])], /^line 2: the file is not valid UTF-8/],
    ];
    for (const [name, file, message] of cases) {
      const upload = await postMultipartUpload({
        url: stack.url,
        token: stack.admin.options.token!,
        query: UPLOAD,
        variables: { input: { instanceId, name: name.replace(/\W/g, '_'), file: null } },
        filePath: 'variables.input.file',
        fileName: 'table.csv',
        file,
      });
      expectRefused({ status: upload.status, body: JSON.parse(upload.body) }, 'uploadDataset', ['file'], message);
    }
    expect(await stack.core.db.dataset.count()).toBe(0);
    // A character split across two pieces of the stream is fine: only bad bytes are refused.
    const euro = Buffer.from('a,b\n1,€uro\n');
    const split = await postMultipartUpload({
      url: stack.url,
      token: stack.admin.options.token!,
      query: UPLOAD,
      variables: { input: { instanceId, name: 'split', file: null } },
      filePath: 'variables.input.file',
      fileName: 'table.csv',
      file: [euro.subarray(0, 7), euro.subarray(7)],
    });
    expect(JSON.parse(split.body).data.uploadDataset.__typename).toBe('UploadDatasetSuccess');
    await stack.core.db.dataset.deleteMany({});
  });

  it('refuses NUL and lone surrogates in every mutation input, naming the field, and writes nothing', async () => {
    const run = { instanceId, methodName: 'configure', start: false, inputs: {}, invocationMethod: 'WORKFLOW' };
    const cases: Array<[string, string, Record<string, unknown>, string[]]> = [
      ['createInstance', 'CreateInstanceInput', { routineName: 'kmeans', name: NUL }, ['name']],
      ['createInstance', 'CreateInstanceInput', { routineName: 'kmeans', name: 'fine', description: LONE }, ['description']],
      ['createInstance', 'CreateInstanceInput', { routineName: LONE, name: 'fine' }, ['routineName']],
      ['updateInstance', 'UpdateInstanceInput', { id: instanceId, name: NUL }, ['name']],
      ['updateInstance', 'UpdateInstanceInput', { id: instanceId, description: LONE }, ['description']],
      ['createRun', 'CreateRunInput', { ...run, name: NUL }, ['name']],
      ['createRun', 'CreateRunInput', { ...run, description: LONE }, ['description']],
      ['createRun', 'CreateRunInput', { ...run, idempotencyKey: NUL }, ['idempotencyKey']],
      ['createRun', 'CreateRunInput', { ...run, labels: ['fine', LONE] }, ['labels', '1']],
      ['createRun', 'CreateRunInput', { ...run, attributes: { [NUL]: 1 } }, ['attributes']],
      ['createRun', 'CreateRunInput', { ...run, attributes: { list: [1, { deep: NUL }] } }, ['attributes', 'list', '1', 'deep']],
      ['createRun', 'CreateRunInput', { ...run, inputs: { k: NUL } }, ['inputs', 'k']],
      [
        'createRun',
        'CreateRunInput',
        { ...run, methodName: 'fit', inputs: { k: 2, data: { path: 'routine://x', columns: ['a', LONE] } } },
        ['inputs', 'data', 'columns', '1'],
      ],
      ['createRun', 'CreateRunInput', { ...run, instanceId: NUL }, ['instanceId']],
      ['cancelRun', 'CancelRunInput', { id: runId, reason: NUL }, ['reason']],
      ['addRunLabels', 'AddRunLabelsInput', { id: runId, labels: [NUL] }, ['labels', '0']],
      ['removeRunLabels', 'RemoveRunLabelsInput', { id: runId, labels: [LONE] }, ['labels', '0']],
      ['setRunAttributes', 'SetRunAttributesInput', { id: runId, attributes: { k: LONE } }, ['attributes', 'k']],
      ['patchRunAttributes', 'PatchRunAttributesInput', { id: runId, patch: { k: { j: NUL } } }, ['patch', 'k', 'j']],
      ['setRunParameter', 'SetRunParameterInput', { id: runId, name: NUL, value: 1 }, ['name']],
      ['setRunParameter', 'SetRunParameterInput', { id: runId, name: 'k', value: LONE }, ['value']],
      ['rerunRun', 'RerunRunInput', { id: runId, overrides: { name: NUL } }, ['overrides', 'name']],
      ['rerunRun', 'RerunRunInput', { id: runId, overrides: { inputs: { k: LONE } } }, ['overrides', 'inputs', 'k']],
      ['deleteRun', 'DeleteRunInput', { id: NUL }, ['id']],
      ['deleteRuns', 'DeleteRunsInput', { filter: { search: NUL }, dryRun: true }, ['filter', 'search']],
      ['deleteRuns', 'DeleteRunsInput', { filter: { attributes: { k: LONE } }, dryRun: true }, ['filter', 'attributes', 'k']],
      ['deleteRuns', 'DeleteRunsInput', { filter: {}, reason: NUL, dryRun: true }, ['reason']],
      ['applyRetention', 'ApplyRetentionInput', { keepLabels: [NUL] }, ['keepLabels', '0']],
      ['deleteInstance', 'DeleteInstanceInput', { id: LONE }, ['id']],
    ];
    const before = {
      runs: await runRows(),
      events: await stack.core.db.runEvent.count(),
      instances: await stack.core.db.routineInstance.count(),
    };
    for (const [field, inputType, input, path] of cases) {
      const answer = await post(stack.admin, mutation(field, inputType), { input });
      const message = Object.values(input).some((v) => JSON.stringify(v).includes('\\u0000'))
        ? /U\+0000 \(NUL\)/
        : /U\+0000 \(NUL\)|lone UTF-16 surrogate/;
      try {
        expectRefused(answer, field, path, message);
      } catch (error) {
        throw new Error(`${field} ${JSON.stringify(input)}: ${(error as Error).message}`, { cause: error });
      }
    }
    expect({
      runs: await runRows(),
      events: await stack.core.db.runEvent.count(),
      instances: await stack.core.db.routineInstance.count(),
    }).toEqual(before);
    await expectRunListsAnswer();
  });

  it('answers BAD_USER_INPUT naming the argument for queries, compiled reads included', async () => {
    const runs = `query($filter: RunFilter) { runs(first: 5, filter: $filter) { totalCount edges { node { id } } } }`;
    for (const [filter, argument] of [
      [{ search: NUL }, 'filter.search'],
      [{ search: LONE }, 'filter.search'],
      [{ labelsAll: ['x', NUL] }, 'filter.labelsAll.1'],
      [{ labelsAny: [LONE] }, 'filter.labelsAny.0'],
      [{ attributes: { [LONE]: 1 } }, 'filter.attributes'],
      [{ attributes: { k: NUL } }, 'filter.attributes.k'],
      [{ routineName: NUL }, 'filter.routineName'],
      [{ methodName: LONE }, 'filter.methodName'],
      [{ instanceId: NUL }, 'filter.instanceId'],
      [{ createdBy: [LONE] }, 'filter.createdBy.0'],
    ] as const) {
      expectBadArgument(await post(other, runs, { filter }), argument, /U\+0000 \(NUL\)|lone UTF-16 surrogate/);
    }
    expectBadArgument(
      await post(other, `query($n: String!) { instance(routineName: "kmeans", name: $n) { id } }`, { n: NUL }),
      'name',
      /U\+0000/,
    );
    expectBadArgument(
      await post(other, `query($a: String) { runs(first: 1, after: $a) { totalCount } }`, { a: LONE }),
      'after',
      /surrogate/,
    );
    // A nested list field's arguments, read by the compiled read path (src/reads/).
    const nestedRuns = `query($s: String) { instances(first: 5) { edges { node { runs(first: 2, filter: { search: $s }) { totalCount } } } } }`;
    expectBadArgument(await post(other, nestedRuns, { s: LONE }), 'filter.search', /surrogate/);
    await expectRunListsAnswer();
  });

  it('refuses JSON nested deeper than 32 levels (200,000 levels included) without overflowing the stack', async () => {
    const run = { instanceId, methodName: 'configure', start: false, inputs: {}, invocationMethod: 'WORKFLOW' };
    // Written by hand: JSON.stringify itself would overflow the test's stack.
    const levels = 200_000;
    const input = JSON.stringify({ ...run, attributes: null }).replace(
      '"attributes":null',
      `"attributes":${'{"k":'.repeat(levels)}1${'}'.repeat(levels)}`,
    );
    const deep = await postBody(stack.admin, `{"query":${JSON.stringify(CREATE_RUN)},"variables":{"input":${input}}}`);
    expectRefused(deep, 'createRun', ['attributes', ...Array(32).fill('k')], /^nested deeper than 32 levels/);
    const inputs = await post(stack.admin, CREATE_RUN, { input: { ...run, inputs: { k: [nested(40)] } } });
    expectRefused(inputs, 'createRun', ['inputs', 'k', '0', ...Array(30).fill('k')], /^nested deeper than 32 levels/);
    const parameter = await post(stack.admin, mutation('setRunParameter', 'SetRunParameterInput'), {
      input: { id: runId, name: 'k', value: nested(33) },
    });
    expectRefused(parameter, 'setRunParameter', ['value', ...Array(32).fill('k')], /^nested deeper than 32 levels/);
    expectBadArgument(
      await post(other, `query($f: RunFilter) { runs(first: 1, filter: $f) { totalCount } }`, { f: { attributes: nested(100) } }),
      `filter.attributes.${Array(32).fill('k').join('.')}`,
      /nested deeper than 32 levels/,
    );
    // 32 levels are fine.
    const fine = await post(stack.admin, CREATE_RUN, { input: { ...run, attributes: nested(32) } });
    expect(fine.body.data!.createRun.__typename, JSON.stringify(fine.body)).toBe('CreateRunSuccess');
    await expectRunListsAnswer();
  });

  it('applies the same rule to subscriptions over graphql-ws', async () => {
    const client = other.ws();
    let outcome: unknown;
    try {
      const subscription = client.iterate({
        query: `subscription($f: RunFilter) { runsUpdated(filter: $f) { run { id } } }`,
        variables: { f: { search: NUL } },
      });
      const first = await subscription.next();
      outcome = first.done ? 'completed without a result' : first.value.errors;
    } catch (error) {
      // graphql-ws reports an operation's `error` message by throwing its errors from the iterator.
      outcome = error;
    } finally {
      await client.dispose();
    }
    const errors = outcome as Array<{ message: string; extensions?: { code?: string } }>;
    expect(errors?.[0]?.extensions?.code, JSON.stringify(outcome)).toBe('BAD_USER_INPUT');
    expect(errors[0].message).toContain('argument filter.search ');

    // And over SSE (the same subscription on HTTP with text/event-stream).
    const sse = await fetch(other.options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${other.options.token}` },
      body: JSON.stringify({
        query: `subscription($f: RunFilter) { runsUpdated(filter: $f) { run { id } } }`,
        variables: { f: { labelsAny: [LONE] } },
      }),
    });
    const stream = await sse.text();
    expect(stream).toContain('"BAD_USER_INPUT"');
    expect(stream).toContain('argument filter.labelsAny.0 ');
  });

  it('keeps answering other users after the engine panics inside the process', async () => {
    // The panic itself, straight through the service's client: a lone surrogate in a Json value.
    await expect(
      stack.core.db.routineRun.updateMany({ where: { id: randomUUID() }, data: { attributes: { k: '\ud800' } } }),
    ).rejects.toThrow();
    await expectRunListsAnswer();
    const created = await post(other, CREATE_INSTANCE, {
      input: { routineName: 'kmeans', name: `after-panic-${randomUUID().slice(0, 8)}` },
    });
    expect(created.body.data?.createInstance.__typename, JSON.stringify(created.body)).toBe('CreateInstanceSuccess');
  });

  // A guard rather than a reproduction: the pool already survived this before issue 11; the
  // live pool (src/db/client.ts) must keep it so, now that Prisma's adapter no longer owns the pool.
  it('keeps answering other users after the database drops every connection', async () => {
    await expectRunListsAnswer();
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
        stack.database.name,
      ]);
    } finally {
      await admin.end();
    }
    // The pool drops a broken idle connection when its socket reports the close.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await expectRunListsAnswer();
    const created = await post(other, CREATE_INSTANCE, {
      input: { routineName: 'kmeans', name: `after-loss-${randomUUID().slice(0, 8)}` },
    });
    expect(created.body.data?.createInstance.__typename, JSON.stringify(created.body)).toBe('CreateInstanceSuccess');
  });
});
