// Out of memory (issue 16) over GraphQL on real parts (PostgreSQL, the Temporal dev server, a
// worker, method processes that really exhaust their heap): an attempt out of memory is not
// retried at the same memory; the error names the memory to ask for; a method with
// retry.memoryGrowth is admitted again with more, bounded by MAX_RUN_MEMORY_MB (160 here).
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineMethod, defineRoutine } from '../src/routines/sdk.ts';
import { z } from 'zod';
import { graphql } from './gql/index.ts';
import type { CreateRunInput } from './gql/graphql.ts';
import { waitFor } from './helpers/graphql.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/routines/', import.meta.url));
const MAX_RUN_MEMORY_MB = 160;

const OomCreateInstance = graphql(`
  mutation OomCreateInstance($input: CreateInstanceInput!) {
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

const OomCreateRun = graphql(`
  mutation OomCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const OomRerun = graphql(`
  mutation OomRerun($input: RerunRunInput!) {
    rerunRun(input: $input) {
      __typename
      ... on RerunRunSuccess {
        run {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const OomRun = graphql(`
  query OomRun($id: ID!) {
    run(id: $id) {
      id
      status
      attempt
      maxAttempts
      outputs
      memoryMb
      resources {
        requestedMemoryMb
      }
      error {
        type
        message
        attempt
        retryable
        phase
        suggestedMemoryMb
      }
      events(first: 100) {
        edges {
          node {
            type
            toStatus
            detail
          }
        }
      }
    }
  }
`);

const OomCapacity = graphql(`
  query OomCapacity {
    capacity {
      slotsBusy
      memoryBusyMb
      queued
    }
  }
`);

const OomMethods = graphql(`
  query OomMethods {
    routine(name: "testkit") {
      methods {
        name
        maxAttempts
        memoryGrowth
      }
    }
  }
`);

let stack: TestStack;
let instanceId: string;

beforeAll(async () => {
  stack = await startTestStack({
    // No warm processes: each attempt forks its own, instead of refilling a pool per memory size.
    env: {
      ROUTINES_EXTRA_DIRS: FIXTURES,
      MAX_RUN_MEMORY_MB: String(MAX_RUN_MEMORY_MB),
      WORKER_MAX_CONCURRENT_RUNS: '2',
      WORKER_WARM_PROCESSES: '0',
    },
  });
  const result = await stack.admin.query(OomCreateInstance, { input: { routineName: 'testkit', name: 'oom' } });
  if (result.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(result.createInstance));
  instanceId = result.createInstance.instance.id;
});

afterAll(async () => {
  await stack?.stop();
});

async function create(input: Omit<CreateRunInput, 'instanceId'>): Promise<string> {
  const result = await stack.admin.query(OomCreateRun, { input: { instanceId, ...input } });
  if (result.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(result.createRun));
  return result.createRun.run.id;
}

async function get(id: string) {
  const { run } = await stack.admin.query(OomRun, { id });
  return run!;
}

function ended(id: string) {
  return waitFor(
    async () => {
      const run = await get(id);
      return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(run.status) ? run : null;
    },
    { timeoutMs: 50_000, what: `run ${id} to end` },
  );
}

const attemptFailures = (run: Awaited<ReturnType<typeof get>>) =>
  run.events.edges.map((edge) => edge.node).filter((event) => event.type === 'ATTEMPT_FAILED');

/** Every slot and MB admission handed out has come back, and nothing waits in line. */
async function expectCapacityReleased() {
  const capacity = await waitFor(
    async () => {
      const { capacity } = await stack.admin.query(OomCapacity, {});
      return capacity.slotsBusy === 0 && capacity.memoryBusyMb === 0 && capacity.queued === 0 ? capacity : null;
    },
    { timeoutMs: 10_000, what: 'capacity to be released' },
  );
  expect(capacity).toEqual({ slotsBusy: 0, memoryBusyMb: 0, queued: 0 });
}

describe('out of memory', () => {
  it('ends the run FAILED after attempt 1, naming the memory to ask for; a re-run with it completes', async () => {
    // 140 MB held at once does not fit a 64 MB run (heap limit 64 + 64 MB of headroom for the
    // runtime) and fits a 128 MB one (heap limit 192 MB).
    const id = await create({ methodName: 'hoard', inputs: { megabytes: 140 }, memoryOverrideMb: 64 });
    const failed = await ended(id);
    expect(failed).toMatchObject({
      status: 'FAILED',
      attempt: 1,
      maxAttempts: 3,
      error: { type: 'OUT_OF_MEMORY', attempt: 1, retryable: false, phase: 'PROCESS', suggestedMemoryMb: 128 },
    });
    expect(failed.error!.message).toMatch(/^The method ran out of its 64 MB \(heap limit 128 MB; the process .+\)\. /);
    expect(failed.error!.message).toContain(
      `Re-run with memoryOverrideMb: 128 or more (at most MAX_RUN_MEMORY_MB = ${MAX_RUN_MEMORY_MB}).`,
    );
    // Not retried at the same memory: no attempt was spent on failing the same way again.
    expect(attemptFailures(failed)).toEqual([]);
    await expectCapacityReleased();

    const rerun = await stack.admin.query(OomRerun, { input: { id, overrides: { memoryOverrideMb: failed.error!.suggestedMemoryMb } } });
    if (rerun.rerunRun.__typename !== 'RerunRunSuccess') throw new Error(JSON.stringify(rerun.rerunRun));
    const completed = await ended(rerun.rerunRun.run.id);
    expect(completed).toMatchObject({ status: 'COMPLETED', attempt: 1, error: null, resources: { requestedMemoryMb: 128 } });
    expect(completed.outputs).toEqual({ megabytes: 140, memoryMb: 128, attempt: 1 });
    await expectCapacityReleased();
  });

  it('with retry.memoryGrowth 2: attempt 2 gets twice the memory, admitted anew, and completes', async () => {
    const id = await create({ methodName: 'hoardGrowing', inputs: { megabytes: 140, holdMs: 3000 }, memoryOverrideMb: 64 });
    // While attempt 2 runs, the run holds the larger memory: admission reserved it before the retry.
    const during = await waitFor(
      async () => {
        const run = await get(id);
        if (run.status !== 'RUNNING' || run.attempt !== 2) return null;
        const { capacity } = await stack.admin.query(OomCapacity, {});
        return { run, capacity };
      },
      { timeoutMs: 40_000, what: 'attempt 2 to run' },
    );
    expect(during.run.resources.requestedMemoryMb).toBe(128);
    expect(during.capacity).toEqual({ slotsBusy: 1, memoryBusyMb: 128, queued: 0 });

    const completed = await ended(id);
    expect(completed).toMatchObject({
      status: 'COMPLETED',
      attempt: 2,
      memoryMb: 128,
      resources: { requestedMemoryMb: 128 },
      // The run's latest error: attempt 1's, and the memory attempt 2 was given.
      error: { type: 'OUT_OF_MEMORY', attempt: 1, retryable: true, phase: 'PROCESS', suggestedMemoryMb: 128 },
    });
    expect(completed.outputs).toEqual({ megabytes: 140, memoryMb: 128, attempt: 2 });
    const [failure, ...more] = attemptFailures(completed);
    expect(more).toEqual([]);
    expect(failure.detail).toMatchObject({ attempt: 1, errorType: 'OUT_OF_MEMORY', memoryMb: 64, nextMemoryMb: 128, phase: 'PROCESS' });
    expect((failure.detail as { message: string }).message).toBe(
      'The method ran out of its 64 MB in attempt 1: attempt 2 with 128 MB (retry.memoryGrowth 2).',
    );
    await expectCapacityReleased();
  });

  it('growth is capped by MAX_RUN_MEMORY_MB; out of memory at the cap ends the run saying no more can be given', async () => {
    // 96 MB × 2 would be 192: attempt 2 gets the cap, 160, and 300 MB does not fit that either.
    const id = await create({ methodName: 'hoardGrowing', inputs: { megabytes: 300 }, memoryOverrideMb: 96 });
    const failed = await ended(id);
    expect(failed).toMatchObject({
      status: 'FAILED',
      attempt: 2,
      maxAttempts: 3,
      memoryMb: MAX_RUN_MEMORY_MB,
      resources: { requestedMemoryMb: MAX_RUN_MEMORY_MB },
      error: { type: 'OUT_OF_MEMORY', attempt: 2, retryable: false, phase: 'PROCESS', suggestedMemoryMb: null },
    });
    expect(failed.error!.message).toContain(`ran out of its ${MAX_RUN_MEMORY_MB} MB (heap limit ${MAX_RUN_MEMORY_MB + 64} MB;`);
    expect(failed.error!.message).toContain(
      `That is the most a run may have (MAX_RUN_MEMORY_MB = ${MAX_RUN_MEMORY_MB}): no more memory can be given`,
    );
    expect(attemptFailures(failed).map((event) => event.detail)).toEqual([
      expect.objectContaining({ attempt: 1, memoryMb: 96, nextMemoryMb: MAX_RUN_MEMORY_MB }),
    ]);
    await expectCapacityReleased();
  });

  it('growth never asks for more than a live worker has: the next attempt gets the largest worker memory', async () => {
    // The worker's budget shrinks to 100 MB (its heartbeat keeps the row's memoryMb): 64 × 2 = 128
    // would wait in line for ever, as admission skips a run no live worker can hold.
    const [worker] = await stack.core.db.worker.findMany();
    await stack.core.db.worker.update({ where: { id: worker.id }, data: { memoryMb: 100 } });
    try {
      const id = await create({ methodName: 'hoardGrowing', inputs: { megabytes: 300 }, memoryOverrideMb: 64 });
      const failed = await ended(id);
      expect(attemptFailures(failed).map((event) => event.detail)).toEqual([
        expect.objectContaining({ attempt: 1, memoryMb: 64, nextMemoryMb: 100 }),
      ]);
      // At the largest worker's memory no further growth is possible: the run ends, naming what to ask for.
      expect(failed).toMatchObject({
        status: 'FAILED',
        attempt: 2,
        memoryMb: 100,
        error: { type: 'OUT_OF_MEMORY', attempt: 2, retryable: false, suggestedMemoryMb: MAX_RUN_MEMORY_MB },
      });
      await expectCapacityReleased();
    } finally {
      await stack.core.db.worker.update({ where: { id: worker.id }, data: { memoryMb: worker.memoryMb } });
    }
  });

  it('the signature shows memoryGrowth; defineRoutine refuses a factor out of bounds, naming them', async () => {
    const { routine } = await stack.admin.query(OomMethods, {});
    const methods = new Map(routine!.methods.map((method) => [method.name, method]));
    expect(methods.get('hoardGrowing')).toEqual({ name: 'hoardGrowing', maxAttempts: 3, memoryGrowth: 2 });
    expect(methods.get('hoard')).toEqual({ name: 'hoard', maxAttempts: 3, memoryGrowth: null });

    const withGrowth = (memoryGrowth: number) =>
      defineRoutine({
        name: 'growth',
        version: '1',
        stateful: false,
        methods: { grow: defineMethod({ kind: 'STANDARD', input: z.object({}), retry: { memoryGrowth }, run: () => ({}) }) },
      });
    for (const bad of [1, 0.5, 16.5, Number.NaN, -2]) {
      expect(() => withGrowth(bad)).toThrow(
        `Routine growth, method grow: retry.memoryGrowth must be a number above 1 and at most 16 (got ${String(bad)})`,
      );
    }
    expect(withGrowth(1.5).methods.grow.retry).toEqual({ memoryGrowth: 1.5 });
    expect(withGrowth(16).methods.grow.retry).toEqual({ memoryGrowth: 16 });
  });
});
