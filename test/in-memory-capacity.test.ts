// In-memory capacity over the real API (issue 11, item 7): in-memory runs execute under the API
// process, so each API process bounds them — slots, memory and runs per user — and refuses a run
// past a limit with CapacityExceededError before anything is written. The capacity comes back
// however a run ends. Test-only routine: test/fixtures/in-memory/.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './gql/index.ts';
import type { CreateRunInput } from './gql/graphql.ts';
import { waitFor, type GraphQLTestClient } from './helpers/graphql.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/in-memory/', import.meta.url));
const TIME_LIMIT_MS = 20_000;

const ImCreateInstance = graphql(`
  mutation ImCreateInstance($input: CreateInstanceInput!) {
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

const ImCreateRun = graphql(`
  mutation ImCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
          status
          error {
            type
          }
        }
      }
      ... on CapacityExceededError {
        message
        retryAfterSeconds
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

const ImStartRun = graphql(`
  mutation ImStartRun($id: ID!) {
    startRun(input: { id: $id }) {
      __typename
      ... on StartRunSuccess {
        run {
          id
          status
        }
      }
      ... on CapacityExceededError {
        message
        retryAfterSeconds
      }
      ... on Error {
        message
      }
    }
  }
`);

const ImRerunRun = graphql(`
  mutation ImRerunRun($id: ID!) {
    rerunRun(input: { id: $id }) {
      __typename
      ... on RerunRunSuccess {
        run {
          id
          status
        }
      }
      ... on CapacityExceededError {
        message
        retryAfterSeconds
      }
      ... on Error {
        message
      }
    }
  }
`);

const ImCancelRun = graphql(`
  mutation ImCancelRun($id: ID!) {
    cancelRun(input: { id: $id }) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

const ImRun = graphql(`
  query ImRun($id: ID!) {
    run(id: $id) {
      id
      status
    }
  }
`);

interface Env {
  stack: TestStack;
  instanceId: string;
}

async function openStack(env: Record<string, string>): Promise<Env> {
  // In-memory runs execute in the API process: no worker needed.
  const stack = await startTestStack({
    withWorker: false,
    env: { ROUTINES_EXTRA_DIRS: FIXTURES, IN_MEMORY_TIMEOUT_MS: String(TIME_LIMIT_MS), ...env },
  });
  const result = await stack.admin.query(ImCreateInstance, { input: { routineName: 'inmemcap', name: 'cap' } });
  if (result.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(result.createInstance));
  return { stack, instanceId: result.createInstance.instance.id };
}

function createRun(env: Env, client: GraphQLTestClient, input: Partial<CreateRunInput> & { methodName: string }) {
  return client
    .query(ImCreateRun, { input: { instanceId: env.instanceId, executionType: 'IN_MEMORY', ...input } })
    .then((result) => result.createRun);
}

/** Starts a run that holds its capacity until cancelled; resolves once it is RUNNING. */
async function holding(env: Env, client: GraphQLTestClient, name: string) {
  let answered: unknown = null;
  const answer = createRun(env, client, { methodName: 'hold', inputs: { ms: 60_000 }, name });
  void answer.then(
    (result) => (answered = result),
    (error) => (answered = error),
  );
  const running = await waitFor(
    async () => {
      if (answered) throw new Error(`${name} ended before it ran: ${JSON.stringify(answered)}`);
      return env.stack.core.db.routineRun.findFirst({ where: { name, status: 'RUNNING' } });
    },
    { what: `${name} to be RUNNING` },
  );
  const id = Buffer.from(`RoutineRun:${running.id}`).toString('base64');
  return {
    id,
    /** Cancels it and waits for its createRun answer (capacity released by then). */
    async end() {
      await env.stack.admin.query(ImCancelRun, { id });
      const ended = await answer;
      expect(ended).toMatchObject({ __typename: 'CreateRunSuccess', run: { status: 'CANCELLED' } });
    },
  };
}

function expectRefused(answer: { __typename: string; message?: string; retryAfterSeconds?: number }, variable: string) {
  expect(answer.__typename).toBe('CapacityExceededError');
  expect(answer.message).toContain(variable);
  expect(answer.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  // Honest: the run holding the capacity ends by its time limit at the latest.
  expect(answer.retryAfterSeconds).toBeLessThanOrEqual(Math.ceil(TIME_LIMIT_MS / 1000));
}

describe('one in-memory slot (IN_MEMORY_MAX_CONCURRENT_RUNS=1)', () => {
  let env: Env;
  let alice: GraphQLTestClient;
  let bob: GraphQLTestClient;

  beforeAll(async () => {
    env = await openStack({ IN_MEMORY_MAX_CONCURRENT_RUNS: '1' });
    alice = await env.stack.clientFor('alice');
    bob = await env.stack.clientFor('bob');
  });

  afterAll(async () => {
    await env?.stack.stop();
  });

  it('refuses a second concurrent run before writing it, and accepts one once the first ended', async () => {
    const first = await holding(env, alice, 'slot-holder');
    const before = await env.stack.core.db.routineRun.count();

    const refused = await createRun(env, bob, { methodName: 'hold', name: 'refused' });
    expectRefused(refused, 'IN_MEMORY_MAX_CONCURRENT_RUNS');
    expect(refused).toMatchObject({ message: expect.stringContaining('slot') });
    expect(await env.stack.core.db.routineRun.count()).toBe(before); // no half-written run

    // A background run takes no in-memory capacity.
    const background = await createRun(env, bob, { methodName: 'hold', executionType: 'BACKGROUND', start: false });
    expect(background.__typename).toBe('CreateRunSuccess');

    await first.end();
    const accepted = await createRun(env, bob, { methodName: 'hold', inputs: { ms: 10 } });
    expect(accepted).toMatchObject({ __typename: 'CreateRunSuccess', run: { status: 'COMPLETED' } });
  });

  it('startRun and rerunRun of in-memory runs are bounded too', async () => {
    const draft = await createRun(env, bob, { methodName: 'hold', inputs: { ms: 10 }, start: false });
    if (draft.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(draft));
    const finished = await createRun(env, bob, { methodName: 'hold', inputs: { ms: 10 } });
    if (finished.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(finished));

    const first = await holding(env, alice, 'slot-holder-2');
    const before = await env.stack.core.db.routineRun.count();
    const started = await bob.query(ImStartRun, { id: draft.run.id });
    expectRefused(started.startRun, 'IN_MEMORY_MAX_CONCURRENT_RUNS');
    expect((await bob.query(ImRun, { id: draft.run.id })).run?.status).toBe('CREATED'); // not started half-way
    const rerun = await bob.query(ImRerunRun, { id: finished.run.id });
    expectRefused(rerun.rerunRun, 'IN_MEMORY_MAX_CONCURRENT_RUNS');
    expect(await env.stack.core.db.routineRun.count()).toBe(before);

    await first.end();
    expect((await bob.query(ImStartRun, { id: draft.run.id })).startRun).toMatchObject({
      __typename: 'StartRunSuccess',
      run: { status: 'COMPLETED' },
    });
    expect((await bob.query(ImRerunRun, { id: finished.run.id })).rerunRun).toMatchObject({
      __typename: 'RerunRunSuccess',
      run: { status: 'COMPLETED' },
    });
  });

  it('is released when a run fails, times out or its method process crashes', async () => {
    for (const [methodName, type] of [
      ['fail', 'PurposeError'],
      ['overtime', 'TIMEOUT'],
      ['crash', null],
    ] as const) {
      const ended = await createRun(env, alice, { methodName });
      expect(ended).toMatchObject({ __typename: 'CreateRunSuccess', run: { status: 'FAILED' } });
      if (type && ended.__typename === 'CreateRunSuccess') expect(ended.run.error?.type).toBe(type);
      // With one slot, this is refused unless the ended run gave its slot back.
      const next = await createRun(env, bob, { methodName: 'hold', inputs: { ms: 10 } });
      expect(next, `after ${methodName}`).toMatchObject({ __typename: 'CreateRunSuccess', run: { status: 'COMPLETED' } });
    }
  });
});

describe('per-user and memory limits (2 slots, 1 run per user, 256 MB)', () => {
  let env: Env;
  let alice: GraphQLTestClient;
  let bob: GraphQLTestClient;

  beforeAll(async () => {
    env = await openStack({ IN_MEMORY_MAX_CONCURRENT_RUNS: '2', IN_MEMORY_MAX_RUNS_PER_USER: '1', IN_MEMORY_MEMORY_MB: '256' });
    alice = await env.stack.clientFor('alice');
    bob = await env.stack.clientFor('bob');
  });

  afterAll(async () => {
    await env?.stack.stop();
  });

  it('serves another user while one user is at their cap', async () => {
    const first = await holding(env, alice, 'alice-holds');
    const before = await env.stack.core.db.routineRun.count();
    const refused = await createRun(env, alice, { methodName: 'hold', name: 'alice-again' });
    expectRefused(refused, 'IN_MEMORY_MAX_RUNS_PER_USER');
    expect(await env.stack.core.db.routineRun.count()).toBe(before);

    const served = await createRun(env, bob, { methodName: 'hold', inputs: { ms: 10 } });
    expect(served).toMatchObject({ __typename: 'CreateRunSuccess', run: { status: 'COMPLETED' } });
    await first.end();
  });

  it('refuses a run asking more memory than is free, and one that could never fit', async () => {
    const first = await holding(env, alice, 'alice-holds-memory'); // 64 MB of 256
    const before = await env.stack.core.db.routineRun.count();

    const refused = await createRun(env, bob, { methodName: 'hold', memoryOverrideMb: 200 });
    expectRefused(refused, 'IN_MEMORY_MEMORY_MB');
    expect(refused).toMatchObject({ message: expect.stringContaining('192 of 256 MB free') });

    const never = await createRun(env, bob, { methodName: 'hold', memoryOverrideMb: 300 });
    expect(never).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['memoryOverrideMb'], message: expect.stringContaining('IN_MEMORY_MEMORY_MB') }],
    });
    expect(await env.stack.core.db.routineRun.count()).toBe(before);

    const fits = await createRun(env, bob, { methodName: 'hold', inputs: { ms: 10 }, memoryOverrideMb: 192 });
    expect(fits).toMatchObject({ __typename: 'CreateRunSuccess', run: { status: 'COMPLETED' } });
    await first.end();
  });
});
