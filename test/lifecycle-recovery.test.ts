// Crash recovery and reconciliation on real processes: a worker SIGKILLed mid-run, the API
// restarted mid-run, Temporal unreachable when a run is queued, a workflow terminated through the
// Temporal CLI, and a queued run whose workflow vanished.
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { findTemporalCli } from '../src/embedded/temporal.ts';
import type { User } from '../src/generated/prisma/client.ts';
import { readCapacity } from '../src/runs/admission.ts';
import { RunLauncher } from '../src/runs/launcher.ts';
import { RunReconciler } from '../src/runs/reconciler.ts';
import { transitionRunInTx } from '../src/runs/state-machine.ts';
import { createInstance } from '../src/services/create-instance.ts';
import { accessOfUser } from '../src/access/access.ts';
import { createRun } from '../src/services/create-run.ts';
import { waitFor } from './helpers/graphql.ts';
import { freePort } from './helpers/ports.ts';
import { startServiceProcess, type ServiceProcess } from './helpers/processes.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('./fixtures/routines/', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
const LEASE_MS = 2000;

let stack: TestStack;
let user: User;
let lifecycleInstance: string;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  // The API in this process; workers are separate processes (or started by a test).
  stack = await startTestStack({
    withWorker: false,
    env: { ROUTINES_EXTRA_DIRS: FIXTURES, WORKER_LEASE_MS: String(LEASE_MS), RECONCILE_INTERVAL_MS: '500' },
  });
  user = (await createToken({ db: stack.core.db, userName: 'recovery', admin: true })).user;
  lifecycleInstance = (
    await createInstance(stack.api.services, {
      access: await accessOfUser(stack.core.db, user),
      input: { routineName: 'lifecycle', name: 'recovery' },
    })
  ).id;
});

afterAll(async () => {
  for (const process of processes) await process.kill();
  await stack?.stop();
});

function serviceEnv(): Record<string, string> {
  const { env } = stack.core;
  return {
    DATABASE_URL: stack.database.url,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: env.TEMPORAL_TASK_QUEUE,
    DATA_DIR: stack.dataDir,
    ROUTINES_EXTRA_DIRS: FIXTURES,
    WORKER_LEASE_MS: String(LEASE_MS),
  };
}

async function spawnWorker(): Promise<ServiceProcess> {
  const worker = await startServiceProcess({ role: 'worker', env: serviceEnv() });
  processes.push(worker);
  return worker;
}

/** A live worker process (each test may run alone). */
async function ensureWorker(): Promise<void> {
  const { workers } = await readCapacity(stack.core.db, { leaseMs: LEASE_MS });
  if (workers.length === 0) await spawnWorker();
}

async function newRun(methodName: string, inputs: Record<string, unknown> = {}, deps = stack.api.services) {
  return (
    await createRun(deps, { access: await accessOfUser(stack.core.db, user), input: { instanceId: lifecycleInstance, methodName, inputs } })
  ).run;
}

function runRow(id: string) {
  return stack.core.db.routineRun.findUniqueOrThrow({ where: { id }, include: { events: { orderBy: { sequence: 'asc' } } } });
}

async function until(id: string, check: (run: Awaited<ReturnType<typeof runRow>>) => boolean, timeoutMs = 60_000) {
  return waitFor(
    async () => {
      const row = await runRow(id);
      return check(row) ? row : null;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

const ended = (row: { status: string }) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(row.status);

function temporalCli(args: string[]) {
  const cli = findTemporalCli({ env: process.env, projectRoot: PROJECT_ROOT });
  if (!cli) throw new Error('no Temporal CLI');
  return run(cli.path, [...args, '--address', inject('temporalAddress')]);
}

describe('crash recovery', () => {
  it('a worker killed with SIGKILL mid-run: its capacity is released, the attempt is retried on a new worker and resumes, events and artifacts are written once', async () => {
    const first = await spawnWorker();
    const created = await newRun('resumable', { stepMs: 400 });
    await until(created.id, (row) => row.status === 'RUNNING' && (row.progressPercent ?? 0) >= 30);
    const workerRow = await waitFor(async () => (await readCapacity(stack.core.db, { leaseMs: LEASE_MS })).workers[0]);
    expect(workerRow.slotsBusy).toBe(1);

    // 1. SIGKILL: no shutdown hook runs, the method process loses its parent and exits.
    await first.kill();
    // 2. The dead worker's capacity is released once its heartbeat lapses.
    await waitFor(async () => {
      const capacity = await readCapacity(stack.core.db, { leaseMs: LEASE_MS });
      return capacity.workers.length === 0 && capacity.slotsBusy === 0 ? capacity : null;
    });
    expect((await runRow(created.id)).status).toBe('RUNNING');

    // 3. A new worker picks the attempt up after the heartbeat timeout and finishes the run.
    await spawnWorker();
    const done = await until(created.id, ended, 90_000);
    expect(done.status).toBe('COMPLETED');
    expect(done.attempt).toBe(2);
    const resumedAfter = (done.outputs as { resumedAfter: number }).resumedAfter;
    expect(resumedAfter).toBeGreaterThanOrEqual(3);

    // The lost attempt is on record, exactly once.
    const failures = done.events.filter((e) => e.type === 'ATTEMPT_FAILED');
    expect(failures).toHaveLength(1);
    // …saying where it was lost: the killed worker's process.
    expect(failures[0].detail).toMatchObject({
      attempt: 1,
      errorType: 'ATTEMPT_LOST',
      phase: 'PROCESS',
      workerId: workerRow.id,
      host: hostname(),
    });
    // Each step's progress message once: the new attempt resumed after what the run already showed.
    const messages = done.events.filter((e) => e.type === 'PROGRESS').map((e) => e.progressMessage);
    expect(messages).toEqual(Array.from({ length: 10 }, (_, i) => `step ${i + 1} of 10`));
    // One artifact row per name, all ten steps.
    const artifacts = await stack.core.db.artifact.findMany({ where: { runId: created.id }, orderBy: { name: 'asc' } });
    expect(artifacts.map((a) => a.name).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `step-${i + 1}`).sort());
    const statuses = done.events.filter((e) => e.type === 'STATUS_CHANGED').map((e) => e.toStatus);
    expect(statuses).toEqual(['CREATED', 'QUEUED', 'RUNNING', 'COMPLETED']);
  });

  it('the API restarted mid-run: the run goes on and the new API process serves it', async () => {
    await ensureWorker();
    const token = (await createToken({ db: stack.core.db, userName: 'api-restart', admin: true })).token;
    const apiEnv = { ...serviceEnv(), PORT: String(await freePort()) };
    const api = await startServiceProcess({ role: 'api', env: apiEnv });
    processes.push(api);
    const url = `http://127.0.0.1:${apiEnv.PORT}/graphql`;
    const postGraphQL = async (query: string, variables: Record<string, unknown>) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as { data: Record<string, { run?: { id: string; status: string } } & Record<string, unknown>> };
    };
    const instanceGid = Buffer.from(`RoutineInstance:${lifecycleInstance}`).toString('base64');
    const created = await postGraphQL(
      `mutation($i: ID!) { createRun(input: { instanceId: $i, methodName: "nap", inputs: { ms: 3000 } }) { ... on CreateRunSuccess { run { id status } } } }`,
      { i: instanceGid },
    );
    const runGid = created.data.createRun.run!.id;
    const runId = Buffer.from(runGid, 'base64').toString().split(':')[1];
    await until(runId, (row) => row.status === 'RUNNING');

    await api.kill();
    const restarted = await startServiceProcess({ role: 'api', env: apiEnv });
    processes.push(restarted);
    const done = await waitFor(async () => {
      const { data } = await postGraphQL(`query($id: ID!) { run(id: $id) { id status } }`, { id: runGid });
      return data.run && ended(data.run as { status: string }) ? data.run : null;
    });
    expect(done).toMatchObject({ status: 'COMPLETED' });
  });

  it('Temporal unreachable when a run is queued: the run waits QUEUED and the starter launches it later', async () => {
    await ensureWorker();
    // A launcher whose Temporal is a closed port: every start fails.
    const deadConnection = Connection.lazy({ address: `127.0.0.1:${await freePort()}`, connectTimeout: 500 });
    const deadLauncher = new RunLauncher({
      db: stack.core.db,
      client: new Client({ connection: deadConnection }),
      taskQueue: stack.core.env.TEMPORAL_TASK_QUEUE,
      log: () => {},
    });
    // Pause the API's sweeper so that nothing else launches the run meanwhile.
    const launcher = stack.api.services.launcher!;
    launcher.stopSweeper();
    const asked = performance.now();
    const created = await newRun('nap', { ms: 10 }, { ...stack.api.services, launcher: deadLauncher });
    expect(performance.now() - asked).toBeLessThan(10_000); // createRun does not wait for Temporal
    expect(created).toMatchObject({ status: 'QUEUED', workflowId: null });
    expect(await deadLauncher.launch(created.id)).toBe(false); // the start failed (and did not throw)
    await deadConnection.close().catch(() => {});
    launcher.startSweeper({ intervalMs: 500 });

    // The API's own launcher (reachable Temporal) sweeps stranded runs every few seconds.
    const done = await until(created.id, ended);
    expect(done.status).toBe('COMPLETED');
    expect(done.workflowId).toMatch(/^run-/);
  });
});

describe('in-memory runs across API processes', () => {
  it('an in-memory run executing in one API process is cancelled from another, through the event bus', async () => {
    const token = (await createToken({ db: stack.core.db, userName: 'in-memory-cancel', admin: true })).token;
    // API process A executes the run; this test process's API (B) cancels it.
    const apiEnv = { ...serviceEnv(), PORT: String(await freePort()) };
    const executing = await startServiceProcess({ role: 'api', env: apiEnv });
    processes.push(executing);
    const postGraphQL = async (url: string, query: string, variables: Record<string, unknown>) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as { data: Record<string, { __typename: string; run?: { id: string; status: string } }> };
    };
    const instanceGid = Buffer.from(`RoutineInstance:${lifecycleInstance}`).toString('base64');
    // The answer of an in-memory createRun comes when the run has ended.
    const answer = postGraphQL(
      `http://127.0.0.1:${apiEnv.PORT}/graphql`,
      `mutation($i: ID!) { createRun(input: { instanceId: $i, methodName: "nap", executionType: IN_MEMORY, inputs: { ms: 30000 }, name: "xproc" }) {
        __typename ... on CreateRunSuccess { run { id status } } } }`,
      { i: instanceGid },
    );
    const running = await waitFor(
      async () => stack.core.db.routineRun.findFirst({ where: { name: 'xproc', status: 'RUNNING', executionType: 'IN_MEMORY' } }),
      { what: 'the in-memory run to be RUNNING in API process A' },
    );
    expect(running.workerId).toMatch(/:api$/);
    expect(running.workerId).not.toBe(`${hostname()}:${process.pid}:api`); // not this process

    const asked = performance.now();
    const runGid = Buffer.from(`RoutineRun:${running.id}`).toString('base64');
    const cancelled = await postGraphQL(
      stack.url,
      `mutation($id: ID!) { cancelRun(input: { id: $id, reason: "from the other API" }) { __typename ... on CancelRunSuccess { run { id status } } } }`,
      { id: runGid },
    );
    expect(cancelled.data.cancelRun).toMatchObject({ __typename: 'CancelRunSuccess', run: { status: 'RUNNING' } });

    // Process A stops the method (it ignores the signal: killed after the grace period) and answers.
    const { data } = await answer;
    const tookMs = performance.now() - asked;
    expect(data.createRun).toMatchObject({ __typename: 'CreateRunSuccess', run: { id: runGid, status: 'CANCELLED' } });
    expect(tookMs).toBeLessThan(10_000); // the nap had 30 s to go
    const done = await runRow(running.id);
    const last = done.events.at(-1)!;
    expect(last).toMatchObject({
      type: 'STATUS_CHANGED',
      fromStatus: 'RUNNING',
      toStatus: 'CANCELLED',
      detail: { reason: 'from the other API' },
    });
    expect(last.actorId).toBe(done.cancelRequestedById);
    expect(done.events.map((e) => e.type)).toContain('CANCEL_REQUESTED');
    await executing.stop();
  });
});

describe('in-memory runs whose API process dies', () => {
  /** An in-memory run RUNNING in a spawned API process, which is then SIGKILLed. */
  async function lostInMemoryRun(name: string, cancel: boolean) {
    const token = (await createToken({ db: stack.core.db, userName: `lost-${name}`, admin: true })).token;
    const apiEnv = { ...serviceEnv(), PORT: String(await freePort()) };
    const executing = await startServiceProcess({ role: 'api', env: apiEnv });
    processes.push(executing);
    const instanceGid = Buffer.from(`RoutineInstance:${lifecycleInstance}`).toString('base64');
    void fetch(`http://127.0.0.1:${apiEnv.PORT}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: `mutation($i: ID!) { createRun(input: { instanceId: $i, methodName: "nap", executionType: IN_MEMORY, inputs: { ms: 30000 }, name: "${name}" }) { __typename } }`,
        variables: { i: instanceGid },
      }),
    }).catch(() => {}); // the answer never comes: the process is killed
    const running = await waitFor(
      async () => stack.core.db.routineRun.findFirst({ where: { name, status: 'RUNNING', executionType: 'IN_MEMORY' } }),
      { what: `the in-memory run ${name} to be RUNNING` },
    );
    await executing.kill();
    if (cancel) {
      // The cancel is recorded here; the process that would act on it is gone.
      const response = await fetch(stack.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: `mutation($id: ID!) { cancelRun(input: { id: $id, reason: "no longer needed" }) { __typename ... on CancelRunSuccess { run { status cancelRequestedAt } } } }`,
          variables: { id: Buffer.from(`RoutineRun:${running.id}`).toString('base64') },
        }),
      });
      const { data } = (await response.json()) as {
        data: { cancelRun: { __typename: string; run: { status: string; cancelRequestedAt: string | null } } };
      };
      expect(data.cancelRun).toMatchObject({ __typename: 'CancelRunSuccess', run: { status: 'RUNNING' } });
      expect(data.cancelRun.run.cancelRequestedAt).not.toBeNull();
    }
    return running;
  }

  /** The reconciler with no waiting margin: the lost runs are past it at once. */
  function reconcileNow() {
    return new RunReconciler({
      db: stack.core.db,
      launcher: stack.api.services.launcher!,
      intervalMs: 60_000,
      inMemoryStaleMs: 0,
      log: () => {},
    }).reconcileOnce();
  }

  it('ends FAILED (API_PROCESS_LOST, phase PROCESS, where it ran) with a RECONCILED event, once', async () => {
    const running = await lostInMemoryRun('lost-plain', false);
    const findings = await reconcileNow();
    expect(findings).toContainEqual({ runId: running.id, found: 'API_PROCESS_LOST', action: 'FAILED' });
    const done = await runRow(running.id);
    expect(done).toMatchObject({ status: 'FAILED', errorType: 'API_PROCESS_LOST', errorPhase: 'PROCESS', workerId: running.workerId });
    expect(done.events.filter((e) => e.type === 'RECONCILED')).toHaveLength(1);
    // A second pass finds nothing more to repair.
    expect((await reconcileNow()).filter((f) => f.runId === running.id)).toEqual([]);
    expect((await runRow(running.id)).events).toHaveLength(done.events.length);
  });

  it('with a cancel pending ends CANCELLED, credited to whoever cancelled it and why', async () => {
    const running = await lostInMemoryRun('lost-cancelled', true);
    const findings = await reconcileNow();
    expect(findings).toContainEqual({ runId: running.id, found: 'API_PROCESS_LOST', action: 'CANCELLED' });
    const done = await runRow(running.id);
    expect(done.status).toBe('CANCELLED');
    expect(done.errorType).toBeNull();
    const last = done.events.at(-1)!;
    expect(last).toMatchObject({
      type: 'STATUS_CHANGED',
      fromStatus: 'RUNNING',
      toStatus: 'CANCELLED',
      detail: { reason: 'no longer needed' },
    });
    expect(last.actorId).toBe(done.cancelRequestedById);
    expect(done.cancelRequestedById).not.toBeNull();
  });
});

describe('starting off the request path', () => {
  it('createRun answers with the committed QUEUED run; its workflow starts right after and is recorded on the run', async () => {
    await ensureWorker();
    const created = await newRun('nap', { ms: 10 });
    // The answer does not wait for Temporal (see the unreachable-Temporal test below); the
    // workflow id is recorded once the start returns.
    expect(created.status).toBe('QUEUED');
    const done = await until(created.id, ended);
    expect(done).toMatchObject({ status: 'COMPLETED', workflowId: `run-${created.id}` });
  });

  it('a QUEUED run whose start never happened (its API process died after the commit) is launched by the sweeper, once', async () => {
    await ensureWorker();
    const launcher = stack.api.services.launcher!;
    launcher.stopSweeper();
    // The commit happened, the start did not: as if the process died in between.
    const created = await newRun('nap', { ms: 10 }, { ...stack.api.services, launcher: null });
    expect(created).toMatchObject({ status: 'QUEUED', workflowId: null });
    const sweptFrom = performance.now();
    launcher.startSweeper(); // the default interval, as in production
    const done = await until(created.id, ended);
    expect(done.status).toBe('COMPLETED');
    // Within one sweep interval after the grace period (2 s + 2 s), with room for a loaded machine.
    const startedAt = done.events.find((e) => e.toStatus === 'RUNNING')!.at.getTime();
    expect(startedAt - done.queuedAt!.getTime()).toBeLessThan(10_000);
    expect(performance.now() - sweptFrom).toBeLessThan(15_000);

    // Nothing starts it twice: another launch (a sweeper in another process, a retry) joins the
    // workflow that ran, even though it has closed.
    const handle = launcher.client.workflow.getHandle(`run-${created.id}`);
    const execution = (await handle.describe()).runId;
    expect(await launcher.launch(created.id)).toBe(true);
    expect(await launcher.sweepOnce()).toBe(0);
    expect((await handle.describe()).runId).toBe(execution);
    const after = await runRow(created.id);
    expect(after.status).toBe('COMPLETED');
    expect(after.lastSequence).toBe(done.lastSequence);
    expect(done.events.filter((e) => e.type === 'STATUS_CHANGED').map((e) => e.toStatus)).toEqual([
      'CREATED',
      'QUEUED',
      'RUNNING',
      'COMPLETED',
    ]);
  });
});

describe('reconciliation', () => {
  it('a workflow terminated through the Temporal CLI makes its run FAILED (TERMINATED, actor system) with a RECONCILED event', async () => {
    await ensureWorker();
    const created = await newRun('crunch', { ms: 120_000 });
    const running = await until(created.id, (row) => row.status === 'RUNNING');
    await temporalCli(['workflow', 'terminate', '--workflow-id', running.workflowId!, '--reason', 'stuck, says ops']);

    const done = await until(created.id, ended, 30_000);
    expect(done.status).toBe('FAILED');
    expect(done).toMatchObject({ errorType: 'TERMINATED', errorPhase: 'WORKFLOW', errorAttempt: 1, errorHost: hostname() });
    // The worker process that was executing it (not the API that noticed).
    expect(done.errorWorkerId).toMatch(new RegExp(`^${hostname()}:\\d+:[0-9a-f]{6}$`));
    expect(done.errorWorkerId).toBe(running.workerId);
    const reconciled = done.events.find((e) => e.type === 'RECONCILED');
    expect(reconciled).toMatchObject({ actorId: null, detail: expect.objectContaining({ found: 'TERMINATED', action: 'FAILED' }) });
    const last = done.events.at(-1)!;
    expect(last).toMatchObject({ type: 'STATUS_CHANGED', fromStatus: 'RUNNING', toStatus: 'FAILED', actorId: null });
    // It stays FAILED: the worker's interrupted attempt cannot flip it.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await runRow(created.id)).status).toBe('FAILED');
  });

  it('a QUEUED run whose workflow is terminated ends FAILED (TERMINATED) without pretending it ran', async () => {
    // A workflow on a task queue no worker polls exists and waits, as one waiting for admission does.
    const idle = new RunLauncher({
      db: stack.core.db,
      client: stack.api.services.launcher!.client,
      taskQueue: `idle-${Date.now()}`,
      log: () => {},
    });
    const created = await newRun('nap', { ms: 10 }, { ...stack.api.services, launcher: null });
    expect(await idle.launch(created.id)).toBe(true);
    const queued = await runRow(created.id);
    expect(queued).toMatchObject({ status: 'QUEUED', workflowId: `run-${created.id}` });
    await temporalCli(['workflow', 'terminate', '--workflow-id', queued.workflowId!, '--reason', 'queued too long, says ops']);

    const done = await until(created.id, ended, 30_000);
    expect(done).toMatchObject({
      status: 'FAILED',
      errorType: 'TERMINATED',
      errorAttempt: 0,
      attempt: 0,
      startedAt: null,
      durationMs: null,
    });
    expect(done).toMatchObject({ errorPhase: 'WORKFLOW', errorWorkerId: null, errorHost: null }); // no worker had begun it
    expect(done.events.filter((e) => e.type === 'STATUS_CHANGED').map((e) => e.toStatus)).toEqual(['CREATED', 'QUEUED', 'FAILED']);
    expect(done.events.at(-1)).toMatchObject({ type: 'STATUS_CHANGED', fromStatus: 'QUEUED', toStatus: 'FAILED', actorId: null });
    expect(done.events.find((e) => e.type === 'RECONCILED')!.detail).toMatchObject({ found: 'TERMINATED', action: 'FAILED' });
  });

  it('a queued run whose workflow is missing (Temporal lost its data) is started again', async () => {
    await ensureWorker();
    // The run was launched once, then Temporal lost the workflow (a reset dev server, a restored
    // database): the run's record names a workflow that does not exist.
    const launcher = stack.api.services.launcher!;
    launcher.stopSweeper();
    const created = await newRun('nap', { ms: 10 }, { ...stack.api.services, launcher: null });
    await stack.core.db.routineRun.update({ where: { id: created.id }, data: { workflowId: `run-${created.id}` } });
    launcher.startSweeper({ intervalMs: 500 });

    const done = await until(created.id, ended);
    expect(done.status).toBe('COMPLETED');
    const reconciled = done.events.filter((e) => e.type === 'RECONCILED');
    expect(reconciled).toHaveLength(1);
    expect(reconciled[0]).toMatchObject({
      actorId: null,
      detail: expect.objectContaining({ found: 'WORKFLOW_MISSING', action: 'STARTED_AGAIN' }),
    });
    expect(done.events.filter((e) => e.type === 'STATUS_CHANGED').map((e) => e.toStatus)).toEqual([
      'CREATED',
      'QUEUED',
      'RUNNING',
      'COMPLETED',
    ]);
  });

  it('a running run whose workflow is missing ends FAILED (WORKFLOW_LOST)', async () => {
    const created = await newRun('nap', { ms: 10 }, { ...stack.api.services, launcher: null });
    // As if a worker had begun it and Temporal then lost the workflow.
    await stack.core.db.$transaction(async (tx) => {
      await transitionRunInTx(tx, { runId: created.id, to: 'RUNNING', set: { attempt: 1, workflowId: `run-${created.id}` } });
    });
    const done = await until(created.id, ended, 30_000);
    expect(done).toMatchObject({ status: 'FAILED', errorType: 'WORKFLOW_LOST' });
    expect(done.events.find((e) => e.type === 'RECONCILED')!.detail).toMatchObject({ found: 'WORKFLOW_MISSING', action: 'FAILED' });
  });
});
