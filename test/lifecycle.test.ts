// The run lifecycle over GraphQL on real parts (PostgreSQL, the Temporal dev server, a worker,
// child processes): start, admission in order, retries, cancellation in every state, in-memory
// execution, re-runs, deletion and idempotency. Test-only routines: test/fixtures/routines/.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { graphql } from './gql/index.ts';
import type { CreateRunInput } from './gql/graphql.ts';
import { GraphQLTestClient, waitFor } from './helpers/graphql.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/routines/', import.meta.url));

const LcCreateInstance = graphql(`
  mutation LcCreateInstance($input: CreateInstanceInput!) {
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

const LcCreateRun = graphql(`
  mutation LcCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        deduplicated
        run {
          id
          status
          outputs
          queuePosition
          executionType
          attempt
          error {
            type
            message
            phase
            method
            workerId
            host
          }
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on IdempotencyKeyReusedError {
        existingRun {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const LcStartRun = graphql(`
  mutation LcStartRun($id: ID!) {
    startRun(input: { id: $id }) {
      __typename
      ... on StartRunSuccess {
        run {
          id
          status
        }
      }
      ... on RunNotStartableError {
        status
      }
      ... on Error {
        message
      }
    }
  }
`);

const LcCancelRun = graphql(`
  mutation LcCancelRun($id: ID!, $reason: String) {
    cancelRun(input: { id: $id, reason: $reason }) {
      __typename
      ... on CancelRunSuccess {
        run {
          id
          status
          cancelRequestedAt
          cancelReason
          updatedAt
          lastSequence
        }
      }
      ... on RunNotCancellableError {
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

const LcRun = graphql(`
  query LcRun($id: ID!) {
    run(id: $id) {
      id
      status
      inputs
      outputs
      attempt
      maxAttempts
      name
      labels
      attributes
      memoryMb
      memoryOverrideMb
      includePreviews
      queuedAt
      startedAt
      finishedAt
      admittedAt
      queuePosition
      cancelRequestedAt
      cancelReason
      changedInputs
      parentRun {
        id
      }
      error {
        type
        message
        attempt
        retryable
        phase
        method
        workerId
        host
      }
      logs(first: 100) {
        edges {
          node {
            level
            message
            attempt
          }
        }
      }
      events(first: 100) {
        edges {
          node {
            sequence
            type
            fromStatus
            toStatus
            actor {
              name
            }
            detail
          }
        }
      }
      artifacts {
        name
      }
    }
  }
`);

const LcCapacity = graphql(`
  query LcCapacity {
    capacity {
      slotsTotal
      slotsBusy
      memoryTotalMb
      memoryBusyMb
      queued
      largestWorkerMemoryMb
      workers {
        id
        slots
        slotsBusy
        memoryMb
        memoryBusyMb
      }
    }
  }
`);

const LcRerun = graphql(`
  mutation LcRerun($input: RerunRunInput!) {
    rerunRun(input: $input) {
      __typename
      ... on RerunRunSuccess {
        changedInputs
        run {
          id
          status
          inputs
          name
          labels
          memoryOverrideMb
          includePreviews
          parentRun {
            id
          }
          changedInputs
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on RunNotFinishedError {
        status
      }
      ... on Error {
        message
      }
    }
  }
`);

const LcDeleteRun = graphql(`
  mutation LcDeleteRun($id: ID!) {
    deleteRun(input: { id: $id, reason: "clean-up" }) {
      __typename
      ... on DeleteRunSuccess {
        deletedRunId
      }
      ... on RunNotFinishedError {
        status
      }
      ... on Error {
        message
      }
    }
  }
`);

const LcDeleteRuns = graphql(`
  mutation LcDeleteRuns($input: DeleteRunsInput!) {
    deleteRuns(input: $input) {
      __typename
      ... on DeleteRunsSuccess {
        matchedCount
        deletableCount
        deletedCount
        skippedCount
        dryRun
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

let stack: TestStack;
let lifecycleInstance: string;
let piInstance: string;

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      ROUTINES_EXTRA_DIRS: FIXTURES,
      WORKER_MAX_CONCURRENT_RUNS: '2',
      WORKER_MEMORY_MB: '1024',
      IN_MEMORY_TIMEOUT_MS: '1500',
    },
  });
  lifecycleInstance = await instance('lifecycle', 'lifecycle');
  piInstance = await instance('montecarlo', 'pi');
});

afterAll(async () => {
  await stack?.stop();
});

async function instance(routineName: string, name: string): Promise<string> {
  const result = await stack.admin.query(LcCreateInstance, { input: { routineName, name } });
  if (result.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(result.createInstance));
  return result.createInstance.instance.id;
}

async function create(input: Partial<CreateRunInput> & { methodName: string }, instanceId = lifecycleInstance) {
  const result = await stack.admin.query(LcCreateRun, { input: { instanceId, ...input } });
  if (result.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(result.createRun));
  return result.createRun.run;
}

async function get(id: string) {
  const { run } = await stack.admin.query(LcRun, { id });
  return run!;
}

async function until(id: string, check: (run: Awaited<ReturnType<typeof get>>) => boolean, timeoutMs = 60_000) {
  return waitFor(
    async () => {
      const run = await get(id);
      return check(run) ? run : null;
    },
    { timeoutMs },
  );
}

const ended = (run: { status: string }) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(run.status);
const statusEvents = (run: Awaited<ReturnType<typeof get>>) =>
  run.events.edges.filter((e) => e.node.type === 'STATUS_CHANGED').map((e) => e.node.toStatus);

describe('starting runs', () => {
  it('createRun(start: false) leaves CREATED; startRun queues it and a worker runs it; starting again is refused', async () => {
    const run = await create({ methodName: 'nap', inputs: { ms: 10 }, start: false });
    expect(run.status).toBe('CREATED');
    expect(run.queuePosition).toBeNull();
    const started = await stack.admin.query(LcStartRun, { id: run.id });
    expect(started.startRun.__typename).toBe('StartRunSuccess');
    const done = await until(run.id, ended);
    expect(done.status).toBe('COMPLETED');
    expect(statusEvents(done)).toEqual(['CREATED', 'QUEUED', 'RUNNING', 'COMPLETED']);
    expect(done.admittedAt).not.toBeNull();
    expect(done.attempt).toBe(1);
    const again = await stack.admin.query(LcStartRun, { id: run.id });
    expect(again.startRun).toMatchObject({ __typename: 'RunNotStartableError', status: 'COMPLETED' });
  });

  it('refuses a memory override no worker can hold, and stores nothing', async () => {
    const before = await stack.core.db.routineRun.count();
    for (const memoryOverrideMb of [2048, 20_000]) {
      const result = await stack.admin.query(LcCreateRun, {
        input: { instanceId: lifecycleInstance, methodName: 'nap', memoryOverrideMb },
      });
      expect(result.createRun.__typename).toBe('ValidationError');
      if (result.createRun.__typename === 'ValidationError') expect(result.createRun.fieldErrors[0].path).toEqual(['memoryOverrideMb']);
    }
    expect(await stack.core.db.routineRun.count()).toBe(before);
  });
});

describe('admission', () => {
  it('a queue longer than capacity drains in order, never running more than the slots, and shows each run its position', async () => {
    const { capacity } = await stack.admin.query(LcCapacity);
    expect(capacity).toMatchObject({ slotsTotal: 2, memoryTotalMb: 1024, largestWorkerMemoryMb: 1024 });
    expect(capacity.workers).toHaveLength(1);

    const runs: Array<{ id: string }> = [];
    // Long enough that the line is still there when the test looks, even on a loaded machine.
    for (let i = 0; i < 7; i++) runs.push(await create({ methodName: 'nap', inputs: { ms: 1200, tag: `q${i}` } }));
    // While the first two run, the others wait in line: positions 1, 2, 3… in creation order.
    const waiting = await waitFor(async () => {
      const states = await Promise.all(runs.map((run) => get(run.id)));
      return states.filter((run) => run.status === 'RUNNING').length === 2 ? states : null;
    });
    const positions = waiting.map((run) => run.queuePosition).filter((p) => p !== null);
    expect(positions).toEqual(positions.map((_, index) => index + 1));
    expect(waiting.slice(0, 2).map((run) => run.queuePosition)).toEqual([null, null]);
    // Capacity shows the busy slots (one may just have been released) and the line.
    const busy = (await stack.admin.query(LcCapacity)).capacity;
    expect(busy.slotsBusy).toBeGreaterThanOrEqual(1);
    expect(busy.slotsBusy).toBeLessThanOrEqual(2);
    expect(busy.queued).toBeGreaterThanOrEqual(1);

    const done = await Promise.all(runs.map((run) => until(run.id, ended)));
    expect(done.every((run) => run.status === 'COMPLETED')).toBe(true);
    // Admitted in creation order…
    const admitted = done.map((run) => new Date(run.admittedAt!).getTime());
    expect(admitted).toEqual([...admitted].sort((a, b) => a - b));
    // …and never more than two at once.
    for (const run of done) {
      const at = new Date(run.startedAt!).getTime() + 1;
      const overlapping = done.filter((other) => new Date(other.startedAt!).getTime() <= at && new Date(other.finishedAt!).getTime() > at);
      expect(overlapping.length).toBeLessThanOrEqual(2);
    }
  });

  it('a run waits for memory even with a slot free, and starts when the memory is released', async () => {
    const big = await create({ methodName: 'nap', inputs: { ms: 1500 }, memoryOverrideMb: 900 });
    await until(big.id, (run) => run.status === 'RUNNING');
    const small = await create({ methodName: 'nap', inputs: { ms: 10 }, memoryOverrideMb: 200 });
    const waitingRun = await get(small.id);
    expect(waitingRun.status).toBe('QUEUED');
    expect(waitingRun.queuePosition).toBe(1);
    const done = await until(small.id, ended);
    expect(done.status).toBe('COMPLETED');
    expect(new Date(done.startedAt!).getTime()).toBeGreaterThanOrEqual(new Date((await get(big.id)).finishedAt!).getTime());
  });
});

describe('retries and failures', () => {
  it('retries keep the run RUNNING, record ATTEMPT_FAILED with the error, and keep the logs of every attempt', async () => {
    const run = await create({ methodName: 'flaky', inputs: { failures: 2 } });
    const done = await until(run.id, ended);
    expect(done).toMatchObject({ status: 'COMPLETED', attempt: 3, maxAttempts: 3, outputs: { attempt: 3 } });
    expect(statusEvents(done)).toEqual(['CREATED', 'QUEUED', 'RUNNING', 'COMPLETED']);
    const failures = done.events.edges.filter((e) => e.node.type === 'ATTEMPT_FAILED').map((e) => e.node.detail);
    expect(failures).toEqual([
      expect.objectContaining({ attempt: 1, errorType: 'Error', message: 'glitch on attempt 1', retryable: true }),
      expect.objectContaining({ attempt: 2, errorType: 'Error', message: 'glitch on attempt 2', retryable: true }),
    ]);
    const logs = done.logs.edges.map((e) => e.node).filter((log) => log.message.includes('starting'));
    expect(logs.map((log) => [log.attempt, log.message])).toEqual([
      [1, 'attempt 1 starting'],
      [2, 'attempt 2 starting'],
      [3, 'attempt 3 starting'],
    ]);
  });

  it('a run that fails every attempt ends FAILED with the last error, its attempt and retryable', async () => {
    const run = await create({ methodName: 'flaky', inputs: { failures: 5 } });
    const done = await until(run.id, ended);
    expect(done.status).toBe('FAILED');
    expect(done.error).toMatchObject({
      type: 'Error',
      message: 'glitch on attempt 3',
      attempt: 3,
      retryable: true,
      phase: 'METHOD',
      method: 'flaky',
    });
    const attempts = done.events.edges.filter((e) => e.node.type === 'ATTEMPT_FAILED').map((e) => e.node.detail);
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toMatchObject({ attempt: 1, phase: 'METHOD', workerId: stack.worker!.registration.id, host: hostname() });
  });

  it('an artifact that cannot be stored fails the run in the ARTIFACT_STORAGE phase', async () => {
    const run = await create({ methodName: 'unstorable' });
    const done = await until(run.id, ended);
    expect(done.status).toBe('FAILED');
    expect(done.error).toMatchObject({
      type: 'ArtifactError',
      phase: 'ARTIFACT_STORAGE',
      method: 'unstorable',
      attempt: 1,
      retryable: false,
      workerId: stack.worker!.registration.id,
      host: hostname(),
    });
    expect(done.error!.message).toContain('summary');
  });

  it('a non-retryable error fails the run at once; the error says where: the method, on which worker and host', async () => {
    const run = await create({ methodName: 'broken' });
    const done = await until(run.id, ended);
    expect(done).toMatchObject({ status: 'FAILED', attempt: 1 });
    expect(done.error).toEqual({
      type: 'BadDataError',
      message: 'row 7 has a negative age',
      attempt: 1,
      retryable: false,
      phase: 'METHOD',
      method: 'broken',
      workerId: stack.worker!.registration.id,
      host: hostname(),
    });
    const failed = done.events.edges.at(-1)!.node;
    expect(failed).toMatchObject({ toStatus: 'FAILED' });
    expect(failed.detail).toMatchObject({ phase: 'METHOD', workerId: stack.worker!.registration.id, host: hostname() });
    expect(done.events.edges.filter((e) => e.node.type === 'ATTEMPT_FAILED')).toHaveLength(0);
    expect(done.logs.edges.map((e) => e.node)).toContainEqual({ level: 'warn', message: 'about to discover bad data', attempt: 1 });
  });
});

describe('cancellation', () => {
  it('cancelling a CREATED run ends it CANCELLED without executing; cancelling again returns it unchanged', async () => {
    const run = await create({ methodName: 'nap', start: false });
    const result = await stack.admin.query(LcCancelRun, { id: run.id, reason: 'not needed' });
    expect(result.cancelRun).toMatchObject({ __typename: 'CancelRunSuccess', run: { status: 'CANCELLED', cancelReason: 'not needed' } });
    const cancelled = await get(run.id);
    expect(cancelled.startedAt).toBeNull();
    expect(cancelled.attempt).toBe(0);
    const last = cancelled.events.edges.at(-1)!.node;
    expect(last).toMatchObject({ type: 'STATUS_CHANGED', fromStatus: 'CREATED', toStatus: 'CANCELLED', actor: { name: 'admin' } });
    expect(last.detail).toMatchObject({ reason: 'not needed' });

    const again = await stack.admin.query(LcCancelRun, { id: run.id });
    if (again.cancelRun.__typename !== 'CancelRunSuccess' || result.cancelRun.__typename !== 'CancelRunSuccess') throw new Error('cancel');
    expect(again.cancelRun.run).toEqual(result.cancelRun.run);
  });

  it('cancelling a QUEUED run waiting for capacity ends it CANCELLED at once; its method never executes', async () => {
    const blockers = [await create({ methodName: 'crunch' }), await create({ methodName: 'crunch' })];
    await Promise.all(blockers.map((run) => until(run.id, (r) => r.status === 'RUNNING')));
    const queued = await create({ methodName: 'nap' });
    expect((await get(queued.id)).status).toBe('QUEUED');
    const result = await stack.admin.query(LcCancelRun, { id: queued.id });
    expect(result.cancelRun).toMatchObject({ __typename: 'CancelRunSuccess', run: { status: 'CANCELLED' } });
    for (const run of blockers) await stack.admin.query(LcCancelRun, { id: run.id });
    await Promise.all(blockers.map((run) => until(run.id, ended)));
    // Capacity freed: the cancelled run still never ran.
    const cancelled = await get(queued.id);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', attempt: 0, startedAt: null });
    expect(statusEvents(cancelled)).toEqual(['CREATED', 'QUEUED', 'CANCELLED']);
  });

  it('cancelling a RUNNING CPU-bound run stops it within about two seconds, keeps its artifacts and says who and why', async () => {
    const run = await create({ methodName: 'crunch' });
    await until(run.id, (r) => r.status === 'RUNNING' && r.artifacts.length === 1);
    const asked = performance.now();
    const result = await stack.admin.query(LcCancelRun, { id: run.id, reason: 'wrong parameters' });
    expect(result.cancelRun).toMatchObject({
      __typename: 'CancelRunSuccess',
      run: { status: 'RUNNING', cancelReason: 'wrong parameters' },
    });
    if (result.cancelRun.__typename === 'CancelRunSuccess') expect(result.cancelRun.run.cancelRequestedAt).not.toBeNull();
    const done = await until(run.id, ended, 30_000);
    const tookMs = performance.now() - asked;
    expect(done.status).toBe('CANCELLED');
    expect(tookMs).toBeLessThan(5000); // about one heartbeat flush plus the cooperative stop; generous for a loaded machine
    expect(done.artifacts.map((a) => a.name)).toEqual(['partial']);
    expect(done.logs.edges.map((e) => e.node.message)).toContain('cleaning up');
    const types = done.events.edges.map((e) => e.node.type);
    expect(types).toContain('CANCEL_REQUESTED');
    const last = done.events.edges.at(-1)!.node;
    expect(last).toMatchObject({ type: 'STATUS_CHANGED', fromStatus: 'RUNNING', toStatus: 'CANCELLED', actor: { name: 'admin' } });
    expect(last.detail).toMatchObject({ reason: 'wrong parameters' });
  });

  it('a method that ignores the cancel is killed after the grace period and the run still ends CANCELLED', async () => {
    const run = await create({ methodName: 'spin' });
    await until(run.id, (r) => r.status === 'RUNNING');
    const asked = performance.now();
    await stack.admin.query(LcCancelRun, { id: run.id });
    const done = await until(run.id, ended, 30_000);
    expect(done.status).toBe('CANCELLED');
    expect(performance.now() - asked).toBeLessThan(10_000);
  });

  it('cancelling a COMPLETED or FAILED run is a RunNotCancellableError', async () => {
    const completed = await until((await create({ methodName: 'nap', inputs: { ms: 1 } })).id, ended);
    const failed = await until((await create({ methodName: 'broken' })).id, ended);
    for (const run of [completed, failed]) {
      const result = await stack.admin.query(LcCancelRun, { id: run.id });
      expect(result.cancelRun).toMatchObject({ __typename: 'RunNotCancellableError', status: run.status });
    }
  });

  it("any OPERATOR of the run's workspace may cancel it, a VIEWER may not, another workspace's user does not see it", async () => {
    const run = await create({ methodName: 'nap', start: false });
    const member = async (userName: string, workspace: string, role: 'VIEWER' | 'OPERATOR') =>
      new GraphQLTestClient({ url: stack.url, token: (await createToken({ db: stack.core.db, userName, workspace, role })).token });
    const outsider = await member('mallory', 'elsewhere', 'OPERATOR');
    expect((await outsider.query(LcCancelRun, { id: run.id })).cancelRun).toMatchObject({ __typename: 'NotFoundError' });
    const viewer = await member('vera', 'default', 'VIEWER');
    expect((await viewer.query(LcCancelRun, { id: run.id })).cancelRun).toMatchObject({
      __typename: 'ForbiddenError',
      requiredRole: 'OPERATOR',
    });
    const operator = await member('otto', 'default', 'OPERATOR');
    expect((await operator.query(LcCancelRun, { id: run.id })).cancelRun).toMatchObject({ run: { status: 'CANCELLED' } });
  });
});

describe('in-memory execution', () => {
  it('runs at once in the API process and createRun answers with the finished run', async () => {
    const run = await create({ methodName: 'nap', inputs: { ms: 5, tag: 'mem' }, executionType: 'IN_MEMORY' });
    expect(run).toMatchObject({ status: 'COMPLETED', executionType: 'IN_MEMORY', outputs: { tag: 'mem', attempt: 1 } });
    expect(statusEvents(await get(run.id))).toEqual(['CREATED', 'QUEUED', 'RUNNING', 'COMPLETED']);
  });

  it('is time-limited (IN_MEMORY_TIMEOUT_MS)', async () => {
    const started = performance.now();
    const run = await create({ methodName: 'nap', inputs: { ms: 30_000 }, executionType: 'IN_MEMORY' });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(run.status).toBe('FAILED');
    // Where: the sandboxed process, in this API process (in-memory runs execute in the API).
    expect(run.error).toMatchObject({ type: 'TIMEOUT', phase: 'PROCESS', method: 'nap', host: hostname() });
    expect(run.error!.workerId).toBe(`${hostname()}:${process.pid}:api`);
  });

  it('is refused for methods that do not allow it', async () => {
    const result = await stack.admin.query(LcCreateRun, {
      input: { instanceId: lifecycleInstance, methodName: 'crunch', executionType: 'IN_MEMORY' },
    });
    expect(result.createRun.__typename).toBe('ValidationError');
  });
});

describe('re-runs, deletion and idempotency', () => {
  it('rerunRun copies a finished run, merges and validates overrides, and records the parent and the changed inputs', async () => {
    const parent = await create(
      {
        methodName: 'estimatePi',
        inputs: { samples: 1000, seed: 1 },
        name: 'first',
        labels: ['a'],
        includePreviews: true,
      },
      piInstance,
    );
    await until(parent.id, ended);

    const result = await stack.admin.query(LcRerun, {
      input: { id: parent.id, overrides: { inputs: { samples: 2000, seed: null }, name: 'second' } },
    });
    if (result.rerunRun.__typename !== 'RerunRunSuccess') throw new Error(JSON.stringify(result.rerunRun));
    expect(result.rerunRun.changedInputs).toEqual({ samples: 2000, seed: null });
    const child = result.rerunRun.run;
    expect(child).toMatchObject({ name: 'second', labels: ['a'], includePreviews: true, parentRun: { id: parent.id } });
    // Removing the seed draws a new one when the re-run is created (a random default is kept in inputs).
    expect(child.inputs).toEqual({ samples: 2000, batches: 20, seed: expect.any(Number) });
    expect((child.inputs as { seed: number }).seed).not.toBe(1);
    const done = await until(child.id, ended);
    expect(done.status).toBe('COMPLETED');
    expect(done.changedInputs).toEqual({ samples: 2000, seed: null });
    expect(done.events.edges[0].node.detail).toMatchObject({ changedInputs: { samples: 2000, seed: null } });

    const bad = await stack.admin.query(LcRerun, { input: { id: parent.id, overrides: { inputs: { samples: -1 } } } });
    expect(bad.rerunRun.__typename).toBe('ValidationError');
    if (bad.rerunRun.__typename === 'ValidationError') expect(bad.rerunRun.fieldErrors[0].path).toEqual(['overrides', 'inputs', 'samples']);

    const active = await create({ methodName: 'nap', start: false });
    const refused = await stack.admin.query(LcRerun, { input: { id: active.id } });
    expect(refused.rerunRun).toMatchObject({ __typename: 'RunNotFinishedError', status: 'CREATED' });

    const unstarted = await stack.admin.query(LcRerun, { input: { id: parent.id, start: false } });
    if (unstarted.rerunRun.__typename !== 'RerunRunSuccess') throw new Error('rerun');
    expect(unstarted.rerunRun.run.status).toBe('CREATED');
    expect(unstarted.rerunRun.changedInputs).toEqual({});
  });

  it('deleteRun removes a finished run with its events, logs and files, leaves a tombstone, and its children keep working', async () => {
    const parent = await create({ methodName: 'estimatePi', inputs: { samples: 100 } }, piInstance);
    await until(parent.id, ended);
    const rerun = await stack.admin.query(LcRerun, { input: { id: parent.id } });
    if (rerun.rerunRun.__typename !== 'RerunRunSuccess') throw new Error('rerun');
    const rawId = Buffer.from(parent.id, 'base64').toString().split(':')[1];
    const row = await stack.core.db.routineRun.findUniqueOrThrow({ where: { id: rawId } });
    const folder = path.join(stack.dataDir, 'storage', 'instances_', row.instanceId, 'shared_', 'runs_', rawId);
    expect(existsSync(folder)).toBe(true);

    const active = await create({ methodName: 'nap', start: false });
    expect((await stack.admin.query(LcDeleteRun, { id: active.id })).deleteRun).toMatchObject({
      __typename: 'RunNotFinishedError',
      status: 'CREATED',
    });

    const result = await stack.admin.query(LcDeleteRun, { id: parent.id });
    expect(result.deleteRun).toEqual({ __typename: 'DeleteRunSuccess', deletedRunId: parent.id });
    expect(await get(parent.id).catch(() => null)).toBeNull();
    expect(await stack.core.db.runEvent.count({ where: { runId: rawId } })).toBe(0);
    expect(await stack.core.db.runLog.count({ where: { runId: rawId } })).toBe(0);
    expect(await stack.core.db.artifact.count({ where: { runId: rawId } })).toBe(0);
    expect(existsSync(folder)).toBe(false);
    const tombstone = await stack.core.db.runTombstone.findFirstOrThrow({ where: { runId: rawId } });
    expect(tombstone).toMatchObject({ methodName: 'estimatePi', routineName: 'montecarlo', status: 'COMPLETED', reason: 'clean-up' });

    const child = await until(rerun.rerunRun.run.id, ended);
    expect(child.status).toBe('COMPLETED');
    expect(child.parentRun).toBeNull();
  });

  it('deleteRuns refuses an empty filter, counts on a dry run, and deletes only finished runs', async () => {
    for (const filter of [{}, { search: '' }, { attributes: {} }]) {
      const empty = await stack.admin.query(LcDeleteRuns, { input: { filter } });
      expect(empty.deleteRuns.__typename, JSON.stringify(filter)).toBe('ValidationError');
    }

    const label = `bulk-${Date.now()}`;
    const finished: Array<{ id: string }> = [];
    for (let i = 0; i < 3; i++) finished.push(await create({ methodName: 'nap', inputs: { ms: 1 }, labels: [label] }));
    await Promise.all(finished.map((run) => until(run.id, ended)));
    const active = await create({ methodName: 'nap', labels: [label], start: false });

    const dry = await stack.admin.query(LcDeleteRuns, { input: { filter: { labelsAny: [label] }, dryRun: true } });
    expect(dry.deleteRuns).toEqual({
      __typename: 'DeleteRunsSuccess',
      matchedCount: 4,
      deletableCount: 3,
      deletedCount: 0,
      skippedCount: 1,
      dryRun: true,
    });
    const real = await stack.admin.query(LcDeleteRuns, { input: { filter: { labelsAny: [label] } } });
    expect(real.deleteRuns).toEqual({
      __typename: 'DeleteRunsSuccess',
      matchedCount: 4,
      deletableCount: 3,
      deletedCount: 3,
      skippedCount: 1,
      dryRun: false,
    });
    expect((await get(active.id)).status).toBe('CREATED');
    expect(await stack.core.db.runTombstone.count({ where: { reason: null } })).toBeGreaterThanOrEqual(3);
  });

  it('the same idempotency key from the same user within 24 h returns the same run; different inputs are refused', async () => {
    const key = `key-${Date.now()}`;
    const first = await stack.admin.query(LcCreateRun, {
      input: { instanceId: lifecycleInstance, methodName: 'nap', inputs: { ms: 1 }, idempotencyKey: key },
    });
    const second = await stack.admin.query(LcCreateRun, {
      input: { instanceId: lifecycleInstance, methodName: 'nap', inputs: { ms: 1 }, idempotencyKey: key },
    });
    if (first.createRun.__typename !== 'CreateRunSuccess' || second.createRun.__typename !== 'CreateRunSuccess') throw new Error('create');
    expect(first.createRun.deduplicated).toBe(false);
    expect(second.createRun).toMatchObject({ deduplicated: true, run: { id: first.createRun.run.id } });
    const reused = await stack.admin.query(LcCreateRun, {
      input: { instanceId: lifecycleInstance, methodName: 'nap', inputs: { ms: 2 }, idempotencyKey: key },
    });
    expect(reused.createRun).toMatchObject({ __typename: 'IdempotencyKeyReusedError', existingRun: { id: first.createRun.run.id } });
    // Another user may use the same key for their own run.
    const other = await (
      await stack.clientFor('idem-other')
    ).query(LcCreateRun, {
      input: { instanceId: lifecycleInstance, methodName: 'nap', inputs: { ms: 1 }, idempotencyKey: key },
    });
    expect(other.createRun).toMatchObject({ __typename: 'CreateRunSuccess', deduplicated: false });

    // Concurrent requests with one key make one run.
    const racing = `race-${Date.now()}`;
    const results = await Promise.all(
      [1, 2, 3, 4].map(() =>
        stack.admin.query(LcCreateRun, {
          input: { instanceId: lifecycleInstance, methodName: 'nap', inputs: { ms: 1 }, idempotencyKey: racing },
        }),
      ),
    );
    const ids = new Set(results.map((r) => (r.createRun.__typename === 'CreateRunSuccess' ? r.createRun.run.id : r.createRun.__typename)));
    expect(ids.size).toBe(1);
  });
});

const LcInstance = graphql(`
  query LcInstance($id: ID!) {
    node(id: $id) {
      ... on RoutineInstance {
        constructed
        config
      }
    }
  }
`);

describe('stateful routines', () => {
  it('a constructor run configures the instance, produces no artifacts, and running it again replaces the state', async () => {
    const kmeans = await instance('kmeans', 'stateful');
    const refused = await stack.admin.query(LcCreateRun, {
      input: { instanceId: kmeans, methodName: 'fit', inputs: { points: [[0, 0]] } },
    });
    expect(refused.createRun.__typename).toBe('InstanceNotConstructedError');

    const first = await until((await create({ methodName: 'configure', inputs: { k: 2, seed: 1 } }, kmeans)).id, ended);
    expect(first.status).toBe('COMPLETED');
    expect(first.artifacts).toEqual([]);
    const rawInstance = Buffer.from(kmeans, 'base64').toString().split(':')[1];
    const afterFirst = await stack.core.db.routineInstance.findUniqueOrThrow({ where: { id: rawInstance } });
    expect(afterFirst.config).toMatchObject({ k: 2, seed: 1 });

    // Two constructors at once: each completion replaces the whole state, one after the other.
    const [a, b] = await Promise.all([
      create({ methodName: 'configure', inputs: { k: 3, seed: 2 } }, kmeans),
      create({ methodName: 'configure', inputs: { k: 4, seed: 3 } }, kmeans),
    ]);
    const [doneA, doneB] = await Promise.all([until(a.id, ended), until(b.id, ended)]);
    expect([doneA.status, doneB.status]).toEqual(['COMPLETED', 'COMPLETED']);
    const last = new Date(doneA.finishedAt!) > new Date(doneB.finishedAt!) ? { run: doneA, k: 3 } : { run: doneB, k: 4 };
    const state = await stack.core.db.routineInstance.findUniqueOrThrow({ where: { id: rawInstance } });
    expect(state.stateVersion).toBe(afterFirst.stateVersion + 2);
    expect((state.config as { k: number }).k).toBe(last.k);
    expect(Buffer.from(`RoutineRun:${state.constructedByRunId}`).toString('base64')).toBe(last.run.id);
    const { node } = await stack.admin.query(LcInstance, { id: kmeans });
    expect(node).toMatchObject({ constructed: true, config: { k: last.k } });
  });
});
