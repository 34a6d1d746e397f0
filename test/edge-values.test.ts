// Issue 11 follow-ups found by an outside tester: values the schema let through that crashed a
// resolver (names that are Object.prototype properties, year-0000 dates, day counts past any date),
// list arguments without a length cap, and small ones (empty idempotency keys, negative
// sequences, cursors of relation connections the text rules did not see).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLTestClient } from './helpers/graphql.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions?: Record<string, unknown>;
}
interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests walk each answer's data by its query's path
  body: { data?: Record<string, any> | null; errors?: GqlError[] };
}

async function post(client: GraphQLTestClient, query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  const response = await fetch(client.options.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${client.options.token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: await response.json() };
}

/** The first result of a subscription over SSE (graphql-sse's "distinct connections" mode). */
async function sseFirst(client: GraphQLTestClient, query: string, variables: Record<string, unknown>): Promise<Answer['body']> {
  const controller = new AbortController();
  const response = await fetch(client.options.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${client.options.token}` },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  const reader = response.body!.getReader();
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      const data = /(?:^|\n)data: (.*)\n/.exec(text);
      if (data) return JSON.parse(data[1]);
    }
  } finally {
    controller.abort();
  }
  throw new Error(`no event in ${text}`);
}

/** The first result (or error) of a subscription over graphql-ws. */
async function wsFirst(client: GraphQLTestClient, query: string, variables: Record<string, unknown>): Promise<Answer['body']> {
  const ws = client.ws();
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer on the socket')), 10_000);
      ws.subscribe(
        { query, variables },
        {
          next: (value) => (clearTimeout(timer), resolve(value as Answer['body'])),
          error: (error) => (clearTimeout(timer), resolve({ errors: Array.isArray(error) ? error : [{ message: String(error) }] })),
          complete: () => undefined,
        },
      );
    });
  } finally {
    await ws.dispose();
  }
}

const RESULT = `__typename ... on ValidationError { fieldErrors { path message } } ... on Error { message }`;
const CREATE_INSTANCE = `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ${RESULT} ... on CreateInstanceSuccess { instance { id } } } }`;
const CREATE_RUN = `mutation($input: CreateRunInput!) { createRun(input: $input) { ${RESULT} ... on CreateRunSuccess { run { id } } } }`;
const SET_PARAMETER = `mutation($input: SetRunParameterInput!) { setRunParameter(input: $input) { ${RESULT} } }`;
const RETENTION = `mutation($input: ApplyRetentionInput!) { applyRetention(input: $input) { ${RESULT} ... on ApplyRetentionSuccess { matchedCount } } }`;
const RUN_COUNT = `{ runs(first: 1) { totalCount } }`;

function expectRefused(answer: Answer, field: string, path: string[], message: RegExp): void {
  expect(answer.status).toBe(200);
  expect(answer.body.errors, JSON.stringify(answer.body)).toBeUndefined();
  const result = answer.body.data![field];
  expect(result.__typename, JSON.stringify(result)).toBe('ValidationError');
  expect(result.fieldErrors).toEqual([{ path, message: expect.stringMatching(message) }]);
}

function expectBadArgument(body: Answer['body'], argument: string, message: RegExp): GqlError {
  expect(body.errors, JSON.stringify(body)).toHaveLength(1);
  const [error] = body.errors!;
  expect(error.extensions?.code, JSON.stringify(error)).toBe('BAD_USER_INPUT');
  expect(error.message).toContain(argument);
  expect(error.message).toMatch(message);
  return error;
}

const PROTOTYPE_NAMES = ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

describe('values at the edge', () => {
  let stack: TestStack;
  let instanceId: string;
  let draftId: string;

  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
    const created = await post(stack.admin, CREATE_INSTANCE, { input: { routineName: 'kmeans', name: 'Values' } });
    instanceId = created.body.data!.createInstance.instance.id;
    const draft = await post(stack.admin, CREATE_RUN, {
      input: { instanceId, methodName: 'configure', start: false, inputs: {}, invocationMethod: 'WORKFLOW' },
    });
    draftId = draft.body.data!.createRun.run.id;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  describe('instance names that look alike are one name (found from outside)', () => {
    it('stores names composed and trimmed, refuses invisible characters, and finds a name however it is composed', async () => {
      const first = await post(stack.admin, CREATE_INSTANCE, { input: { routineName: 'montecarlo', name: '  Caf\u00e9  ' } });
      expect(first.body.data!.createInstance.__typename).toBe('CreateInstanceSuccess');
      // The same look, decomposed: the same name, so taken.
      const decomposed = await post(stack.admin, CREATE_INSTANCE, { input: { routineName: 'montecarlo', name: 'Cafe\u0301' } });
      expectRefused(decomposed, 'createInstance', ['name'], /already has an instance named "Café"/);
      for (const name of ['a\u200bb', '\u202eevil', 'tab\there', 'b\ufeffom']) {
        const answer = await post(stack.admin, CREATE_INSTANCE, { input: { routineName: 'montecarlo', name } });
        expectRefused(answer, 'createInstance', ['name'], /invisible character U\+/);
      }
      const found = await post(stack.admin, `query($n: String!) { instance(routineName: "montecarlo", name: $n) { name } }`, {
        n: 'Cafe\u0301 ',
      });
      expect(found.body.data!.instance).toEqual({ name: 'Café' });
    });
  });

  describe('names that are Object.prototype properties', () => {
    it.each(PROTOTYPE_NAMES)('createRun methodName %s is a ValidationError on methodName', async (name) => {
      const answer = await post(stack.admin, CREATE_RUN, { input: { instanceId, methodName: name, inputs: {} } });
      expectRefused(answer, 'createRun', ['methodName'], /has no method/);
    });

    it.each(PROTOTYPE_NAMES)('createInstance routineName %s is refused', async (name) => {
      const answer = await post(stack.admin, CREATE_INSTANCE, { input: { routineName: name, name: `p-${name}` } });
      expect(answer.body.errors, JSON.stringify(answer.body)).toBeUndefined();
      expect(answer.body.data!.createInstance.__typename).not.toBe('CreateInstanceSuccess');
    });

    it.each(PROTOTYPE_NAMES)('parameter %s is an unknown parameter (createRun inputs and setRunParameter)', async (name) => {
      const inputs = JSON.parse(`{${JSON.stringify(name)}: 1}`);
      const run = await post(stack.admin, CREATE_RUN, { input: { instanceId, methodName: 'configure', inputs } });
      expect(run.body.data!.createRun.__typename, JSON.stringify(run.body)).toBe('ValidationError');
      expect(run.body.data!.createRun.fieldErrors).toContainEqual({ path: ['inputs', name], message: 'Unknown parameter' });
      const draft = await post(stack.admin, CREATE_RUN, {
        input: { instanceId, methodName: 'configure', start: false, inputs, invocationMethod: 'WORKFLOW' },
      });
      expectRefused(draft, 'createRun', ['inputs', name], /Unknown parameter/);
      for (const value of [1, null]) {
        const step = await post(stack.admin, SET_PARAMETER, { input: { id: draftId, name, value } });
        expectRefused(step, 'setRunParameter', ['inputs', name], /Unknown parameter/);
      }
    });
  });

  describe('DateTime arguments hold only what PostgreSQL can', () => {
    for (const value of ['0000-01-01T00:00:00Z', '10000-01-01T00:00:00Z', '-000001-01-01T00:00:00Z']) {
      it(`runs(filter: createdAfter / createdBefore: ${value}) is BAD_USER_INPUT naming the variable`, async () => {
        for (const key of ['createdAfter', 'createdBefore']) {
          const answer = await post(stack.admin, `query($f: RunFilter) { runs(first: 1, filter: $f) { totalCount } }`, {
            f: { [key]: value },
          });
          expectBadArgument(answer.body, '$f', /DateTime|year/i);
        }
        const inline = await post(stack.admin, `{ runs(first: 1, filter: { createdAfter: "${value}" }) { totalCount } }`);
        expect(inline.body.errors?.[0]?.extensions?.code, JSON.stringify(inline.body)).not.toBe('INTERNAL_SERVER_ERROR');
        expect(inline.body.errors?.[0]?.message).toMatch(/DateTime/);
      });
    }

    it('runsUpdated(since: year 0) is BAD_USER_INPUT over HTTP, SSE and graphql-ws', async () => {
      const query = `subscription($since: DateTime) { runsUpdated(since: $since) { __typename } }`;
      const variables = { since: '0000-01-01T00:00:00Z' };
      expectBadArgument((await post(stack.admin, query, variables)).body, '$since', /year/i);
      expectBadArgument(await sseFirst(stack.admin, query, variables), '$since', /year/i);
      expectBadArgument(await wsFirst(stack.admin, query, variables), '$since', /year/i);
    });

    it('years 1 and 9999 are accepted', async () => {
      const answer = await post(stack.admin, `query($f: RunFilter) { runs(first: 1, filter: $f) { totalCount } }`, {
        f: { createdAfter: '0001-01-01T00:00:00Z', createdBefore: '9999-12-31T23:59:59Z' },
      });
      expect(answer.body.errors, JSON.stringify(answer.body)).toBeUndefined();
    });
  });

  describe('applyRetention day counts', () => {
    it.each([
      ['olderThanDays', 1_000_000_000],
      ['olderThanDays', 1e308],
      ['failedOlderThanDays', 3_000_000],
    ])('%s: %d is a ValidationError naming it', async (field, days) => {
      const input = { dryRun: true, olderThanDays: 30, [field]: days };
      const answer = await post(stack.admin, RETENTION, { input });
      expectRefused(answer, 'applyRetention', [field], /at most 36500/);
    });

    it('100 years is still a policy', async () => {
      const answer = await post(stack.admin, RETENTION, { input: { dryRun: true, olderThanDays: 36500, failedOlderThanDays: 36500 } });
      expect(answer.body.data!.applyRetention.__typename, JSON.stringify(answer.body)).toBe('ApplyRetentionSuccess');
    });
  });

  describe('list arguments are capped', () => {
    const ids = (count: number) => Array.from({ length: count }, () => Buffer.from(`RoutineRun:${crypto.randomUUID()}`).toString('base64'));

    it('nodes(ids:) with 101 ids is BAD_USER_INPUT naming ids and the limit; 100 are answered', async () => {
      const refused = await post(stack.admin, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: ids(101) });
      expectBadArgument(refused.body, 'ids', /at most 100/);
      const answered = await post(stack.admin, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: ids(100) });
      expect(answered.body.errors, JSON.stringify(answered.body)).toBeUndefined();
      expect(answered.body.data!.nodes).toHaveLength(100);
    });

    it('300,000 ids are refused before any lookup, quickly', async () => {
      const started = Date.now();
      const refused = await post(stack.admin, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: ids(300_000) });
      expectBadArgument(refused.body, 'ids', /at most 100/);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('compareRuns(ids:) with 101 ids is a ValidationError on ids', async () => {
      const answer = await post(stack.admin, `query($ids: [ID!]!) { compareRuns(ids: $ids) { ${RESULT} } }`, { ids: ids(101) });
      expectRefused(answer, 'compareRuns', ['ids'], /at most 100/);
    });
  });

  describe('small ones', () => {
    it('an empty idempotencyKey is a ValidationError and writes nothing', async () => {
      const before = (await post(stack.admin, RUN_COUNT)).body.data!.runs.totalCount;
      const answer = await post(stack.admin, CREATE_RUN, {
        input: { instanceId, methodName: 'configure', start: false, inputs: {}, idempotencyKey: '' },
      });
      expectRefused(answer, 'createRun', ['idempotencyKey'], /.+/);
      expect((await post(stack.admin, RUN_COUNT)).body.data!.runs.totalCount).toBe(before);
    });

    it('runUpdated(afterSequence: -5) is BAD_USER_INPUT naming afterSequence', async () => {
      const query = `subscription($id: ID!) { runUpdated(id: $id, afterSequence: -5) { __typename } }`;
      expectBadArgument((await post(stack.admin, query, { id: draftId })).body, 'afterSequence', /.+/);
      expectBadArgument(await wsFirst(stack.admin, query, { id: draftId }), 'afterSequence', /.+/);
    });

    it.each([
      ['events', '1\u0000'],
      ['events', '-5'],
      ['logs', '1\ud800'],
      ['logs', '-5'],
    ])('RoutineRun.%s(after: %j) is BAD_USER_INPUT naming after, at the field', async (field, after) => {
      const answer = await post(
        stack.admin,
        `query($id: ID!, $after: String) { node(id: $id) { ... on RoutineRun { id ${field}(first: 5, after: $after) { totalCount } } } }`,
        {
          id: draftId,
          after,
        },
      );
      const error = expectBadArgument(answer.body, 'after', /.+/);
      expect(error.message).not.toContain('\ud800');
      // At the field itself; the connection is non-null, so graphql-js still nulls the run.
      expect(error.path).toEqual(['node', field]);
    });
  });
});
