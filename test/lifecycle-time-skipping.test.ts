// Retries whose backoff lasts minutes, on Temporal's time-skipping test server: the service's real
// run workflow (bundled as the worker does) and real activities on a fresh PostgreSQL database,
// runs created over GraphQL. On the dev server these cases would wait out the backoff in real time.
//
// Time skipping stops while an activity is running, so only the waits between attempts are
// skipped; a method's own timeout is enforced by the sandbox in real time inside the activity
// (src/execution/sandbox.ts), and is tested on the dev server (test/sandbox.test.ts).
//
// The test server is a separate binary (`temporal-test-server`); without it this file fails and
// says what to install (test/helpers/time-skipping-server.ts).
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMISSION_POLL_MS, workflowIdForRun } from '../workflows/shared.ts';
import { graphql } from './gql/index.ts';
import { waitFor } from './helpers/graphql.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';
import { startTimeSkippingEnvironment } from './helpers/time-skipping-server.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/routines/', import.meta.url));
const MINUTE = 60_000;
/** `lifecycle.patient`'s backoff before attempts 2 and 3: 5 min, then 5 × 2 min. */
const BACKOFF_MS = 5 * MINUTE + 10 * MINUTE;

const TsCreateInstance = graphql(`
  mutation TsCreateInstance($input: CreateInstanceInput!) {
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

const TsCreateRun = graphql(`
  mutation TsCreateRun($input: CreateRunInput!) {
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

const TsRun = graphql(`
  query TsRun($id: ID!) {
    run(id: $id) {
      id
      status
      attempt
      maxAttempts
      outputs
      error {
        type
        message
        attempt
        retryable
        phase
        method
      }
      logs(first: 50) {
        edges {
          node {
            attempt
            message
          }
        }
      }
      events(first: 50) {
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

let env: TestWorkflowEnvironment;
let stack: TestStack;
let instanceId: string;

beforeAll(async () => {
  env = await startTimeSkippingEnvironment();
  stack = await startTestStack({
    temporalAddress: env.address,
    // One slot, so that a run waiting out a backoff keeps the next one queued.
    env: { ROUTINES_EXTRA_DIRS: FIXTURES, WORKER_MAX_CONCURRENT_RUNS: '1' },
  });
  const result = await stack.admin.query(TsCreateInstance, { input: { routineName: 'lifecycle', name: 'time-skipping' } });
  if (result.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(result.createInstance));
  instanceId = result.createInstance.instance.id;
});

afterAll(async () => {
  await stack?.stop();
  await env?.teardown();
});

async function createRun(methodName: string, inputs: Record<string, unknown>) {
  const result = await stack.admin.query(TsCreateRun, { input: { instanceId, methodName, inputs } });
  if (result.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(result.createRun));
  const { id } = result.createRun.run;
  // The workflow is named after the database id; the GraphQL id is the global one.
  const rawId = Buffer.from(id, 'base64').toString().split(':')[1]!;
  const workflow = env.client.workflow.getHandle(workflowIdForRun(rawId));
  // The launcher starts the workflow right after createRun answers, off the request path.
  await waitFor(
    () =>
      workflow.describe().then(
        () => true,
        () => false,
      ),
    { timeoutMs: 30_000, what: 'the run workflow to start' },
  );
  return { id, rawId, workflow };
}

const createPatientRun = (failures: number) => createRun('patient', { failures });

async function get(id: string) {
  const { run } = await stack.admin.query(TsRun, { id });
  return run!;
}

const failedAttempts = (run: Awaited<ReturnType<typeof get>>) =>
  run.events.edges.filter((e) => e.node.type === 'ATTEMPT_FAILED').map((e) => e.node.detail as { attempt: number; message: string });

/** Until `count` attempts have failed. Time skipping stays locked meanwhile, so no backoff elapses. */
async function afterFailedAttempts(id: string, count: number) {
  return waitFor(
    async () => {
      const run = await get(id);
      return failedAttempts(run).length >= count ? run : null;
    },
    { timeoutMs: 30_000, what: `${count} failed attempts` },
  );
}

/**
 * Temporal's clock, as its history recorded it: from the workflow's start to its end, and from
 * scheduling executeRun to the start of its last attempt. (env.currentTimeMs() is no measure
 * after a result: once the workflow has ended, the server skips ahead to its next timer, years
 * away, before the client locks skipping again.)
 */
async function temporalTimes(workflow: ReturnType<typeof env.client.workflow.getHandle>) {
  const events = (await workflow.fetchHistory()).events ?? [];
  const time = (event: (typeof events)[number] | undefined) => {
    if (!event?.eventTime?.seconds) throw new Error('history event without a time');
    return Number(event.eventTime.seconds) * 1000 + Math.floor((event.eventTime.nanos ?? 0) / 1e6);
  };
  // executeRun is the only activity task before the end (admission is a local activity, a marker).
  const scheduled = events.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'executeRun');
  const started = events.find((event) => event.activityTaskStartedEventAttributes);
  const timerStarted = events.find((event) => event.timerStartedEventAttributes);
  const timerFired = events.find((event) => event.timerFiredEventAttributes);
  return {
    workflowMs: time(events.at(-1)) - time(events[0]),
    /** The first timer of the workflow (the admission poll), from its start to when it fired. */
    timerMs: timerStarted && timerFired ? time(timerFired) - time(timerStarted) : null,
    backoffMs: time(started) - time(scheduled),
    lastAttempt: started?.activityTaskStartedEventAttributes?.attempt,
  };
}

describe('retries with a backoff of minutes (time-skipping test server)', () => {
  it('stays RUNNING between attempts and completes on the third; Temporal waited 15 minutes, the test seconds', async () => {
    const wallStart = Date.now();
    const { id, workflow } = await createPatientRun(2);

    const afterFirst = await afterFailedAttempts(id, 1);
    expect(afterFirst).toMatchObject({ status: 'RUNNING', attempt: 1 });
    // Real time goes by while skipping is locked, but nowhere near the 5-minute backoff.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await get(id)).toMatchObject({ status: 'RUNNING', attempt: 1 });

    // Skip the first backoff only: attempt 2 runs and fails, and the run is still RUNNING.
    const temporalStart = await env.currentTimeMs();
    await env.sleep(5 * MINUTE);
    const afterSecond = await afterFailedAttempts(id, 2);
    expect(afterSecond).toMatchObject({ status: 'RUNNING', attempt: 2 });

    // Only the sleep's 5 minutes went by, not the second backoff.
    const skippedBySleep = (await env.currentTimeMs()) - temporalStart;
    expect(skippedBySleep).toBeGreaterThanOrEqual(5 * MINUTE);
    expect(skippedBySleep).toBeLessThan(10 * MINUTE);

    // Awaiting the result lets the server skip the second backoff (10 minutes).
    await workflow.result();
    const done = await get(id);
    const wallMs = Date.now() - wallStart;

    expect(done).toMatchObject({ status: 'COMPLETED', attempt: 3, maxAttempts: 3, outputs: { attempt: 3 } });
    // `error` stays the run's last error (RunError's contract), here attempt 2's.
    expect(done.error).toMatchObject({ attempt: 2, message: 'glitch on attempt 2' });
    expect(done.events.edges.filter((e) => e.node.type === 'STATUS_CHANGED').map((e) => e.node.toStatus)).toEqual([
      'CREATED',
      'QUEUED',
      'RUNNING',
      'COMPLETED',
    ]);
    expect(failedAttempts(done)).toEqual([
      expect.objectContaining({ attempt: 1, message: 'glitch on attempt 1', retryable: true }),
      expect.objectContaining({ attempt: 2, message: 'glitch on attempt 2', retryable: true }),
    ]);
    expect(done.logs.edges.map((e) => [e.node.attempt, e.node.message]).filter(([, m]) => String(m).includes('starting'))).toEqual([
      [1, 'attempt 1 starting'],
      [2, 'attempt 2 starting'],
      [3, 'attempt 3 starting'],
    ]);

    // Temporal's clock moved by both backoffs (and little more); the wall clock by a few seconds.
    const temporal = await temporalTimes(workflow);
    expect(temporal.lastAttempt).toBe(3);
    expect(temporal.backoffMs).toBeGreaterThanOrEqual(BACKOFF_MS);
    expect(temporal.workflowMs).toBeGreaterThanOrEqual(BACKOFF_MS);
    expect(temporal.workflowMs).toBeLessThan(BACKOFF_MS + MINUTE);
    expect(wallMs).toBeLessThan(30_000);
    console.log(
      `completed after 3 attempts: Temporal ${(temporal.workflowMs / MINUTE).toFixed(2)} min, wall clock ${(wallMs / 1000).toFixed(1)} s`,
    );
  });

  it('a run that exhausts a long-backoff policy ends FAILED with the last error, after 15 Temporal minutes', async () => {
    const wallStart = Date.now();
    const { id, workflow } = await createPatientRun(5);

    // The workflow fails (the run's failure is its outcome) once every attempt has failed.
    const failure = await workflow.result().then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.message).toBe('glitch on attempt 3');

    const done = await get(id);
    const wallMs = Date.now() - wallStart;
    expect(done).toMatchObject({
      status: 'FAILED',
      attempt: 3,
      outputs: null,
      error: { type: 'Error', message: 'glitch on attempt 3', attempt: 3, retryable: true, phase: 'METHOD', method: 'patient' },
    });
    expect(failedAttempts(done).map((detail) => detail.attempt)).toEqual([1, 2]);
    expect(done.events.edges.filter((e) => e.node.type === 'STATUS_CHANGED').map((e) => e.node.toStatus)).toEqual([
      'CREATED',
      'QUEUED',
      'RUNNING',
      'FAILED',
    ]);
    const temporal = await temporalTimes(workflow);
    expect(temporal.lastAttempt).toBe(3);
    expect(temporal.backoffMs).toBeGreaterThanOrEqual(BACKOFF_MS);
    expect(temporal.workflowMs).toBeLessThan(BACKOFF_MS + MINUTE);
    expect(wallMs).toBeLessThan(30_000);
    console.log(
      `failed after 3 attempts: Temporal ${(temporal.workflowMs / MINUTE).toFixed(2)} min, wall clock ${(wallMs / 1000).toFixed(1)} s`,
    );
  });

  it('a queued run whose admission signal was lost starts at its next poll, 15 Temporal seconds later', async () => {
    // The only slot is held by a run waiting out a 5-minute backoff (RUNNING, no activity running).
    const holder = await createPatientRun(1);
    await afterFailedAttempts(holder.id, 1);
    const waiting = await createRun('nap', { ms: 0, tag: 'poll' });
    expect(await get(waiting.id)).toMatchObject({ status: 'QUEUED' });
    // Its workflow asked for admission, was refused, and waits for a signal or its poll timer.
    await waitFor(async () => ((await waiting.workflow.fetchHistory()).events ?? []).some((event) => event.timerStartedEventAttributes), {
      timeoutMs: 30_000,
      what: 'the admission poll timer',
    });

    // Another process's admission pass admitted it, and its signal never arrived.
    await stack.core.db.routineRun.update({ where: { id: waiting.rawId }, data: { admittedAt: new Date() } });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await get(waiting.id)).toMatchObject({ status: 'QUEUED' });

    // Awaiting its result lets the server skip to the poll (before the holder's backoff ends).
    const wallStart = Date.now();
    await waiting.workflow.result();
    const wallMs = Date.now() - wallStart;
    expect(await get(waiting.id)).toMatchObject({ status: 'COMPLETED', attempt: 1, outputs: { tag: 'poll', attempt: 1 } });
    const temporal = await temporalTimes(waiting.workflow);
    expect(temporal.timerMs).toBeGreaterThanOrEqual(ADMISSION_POLL_MS);
    expect(wallMs).toBeLessThan(ADMISSION_POLL_MS);
    console.log(`admitted by its poll: Temporal ${(temporal.timerMs! / 1000).toFixed(1)} s, wall clock ${(wallMs / 1000).toFixed(1)} s`);

    // The holder was not disturbed: it still completes on its second attempt.
    await holder.workflow.result();
    expect(await get(holder.id)).toMatchObject({ status: 'COMPLETED', attempt: 2 });
  });
});
