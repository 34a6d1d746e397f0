// Run priority end to end on real parts (PostgreSQL, the Temporal dev server, one worker with one
// slot): a run holds the slot while others queue, and the queue must start them in the order
// queuePosition announced — higher priority first, equal priorities first come first served, and
// ageing (src/runs/admission.ts, AGEING_SECONDS_PER_POINT) letting a long-waiting low-priority run
// ahead of a fresh high-priority one. Ageing is tested by moving queuedAt back, not by waiting.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGEING_SECONDS_PER_POINT } from '../src/runs/admission.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/routines/', import.meta.url));

let stack: TestStack;
let instanceId: string;

beforeAll(async () => {
  stack = await startTestStack({ env: { ROUTINES_EXTRA_DIRS: FIXTURES, WORKER_MAX_CONCURRENT_RUNS: '1' } });
  const data = await post(
    `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ... on CreateInstanceSuccess { instance { id } } } }`,
    { input: { routineName: 'lifecycle', name: 'priority' } },
  );
  instanceId = data.createInstance.instance.id;
});

afterAll(async () => {
  await stack?.stop();
});

async function post(query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(stack.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.admin.options.token}` },
    body: JSON.stringify({ query, variables }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests walk answer data by path
  const body = (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1];

/** Creates and starts a `nap` run; answers its global id and the priority the API reports. */
async function queue(label: string, priority?: number, ms = 100): Promise<{ id: string; priority: number }> {
  const data = await post(
    `mutation($input: CreateRunInput!) { createRun(input: $input) {
      __typename ... on CreateRunSuccess { run { id priority } } ... on Error { message } } }`,
    { input: { instanceId, methodName: 'nap', inputs: { ms }, labels: [label], ...(priority === undefined ? {} : { priority }) } },
  );
  if (data.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(data));
  return data.createRun.run;
}

/** The run occupying the worker's one slot, so that what is queued after it waits. */
async function blocker(label: string): Promise<string> {
  const { id } = await queue(label, 0, 4000);
  await until(async () => (await stack.core.db.routineRun.findUniqueOrThrow({ where: { id: rawId(id) } })).status === 'RUNNING');
  return id;
}

async function until(check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function positions(label: string): Promise<Map<string, number | null>> {
  const data = await post(
    `query($label: String!) { runs(first: 50, filter: { labelsAny: [$label], status: [QUEUED] }) { edges { node { id queuePosition } } } }`,
    { label },
  );
  return new Map(
    data.runs.edges.map((edge: { node: { id: string; queuePosition: number | null } }) => [edge.node.id, edge.node.queuePosition]),
  );
}

/** Waits for every run to complete; answers their global ids in the order they started. */
async function startOrder(ids: string[]): Promise<string[]> {
  const raw = ids.map(rawId);
  await until(
    async () => (await stack.core.db.routineRun.count({ where: { id: { in: raw }, status: 'COMPLETED' } })) === ids.length,
    60_000,
  );
  const runs = await stack.core.db.routineRun.findMany({ where: { id: { in: raw } }, select: { id: true, startedAt: true } });
  runs.sort((a, b) => a.startedAt!.getTime() - b.startedAt!.getTime());
  return runs.map((run) => ids[raw.indexOf(run.id)]);
}

describe('priority', () => {
  it('queued runs start higher priority first, equal priorities in arrival order, as queuePosition said', async () => {
    const label = 'order';
    await blocker(label);
    const low = await queue(label, -10);
    const normal = await queue(label);
    const high = await queue(label, 50);
    const high2 = await queue(label, 50);
    expect([low.priority, normal.priority, high.priority, high2.priority]).toEqual([-10, 0, 50, 50]);

    const expected = [high.id, high2.id, normal.id, low.id];
    const line = await positions(label);
    expect(expected.map((id) => line.get(id))).toEqual([1, 2, 3, 4]);
    expect(await startOrder(expected)).toEqual(expected);
  });

  it('ageing: a low-priority run that waited longer than its gap × AGEING_SECONDS_PER_POINT goes ahead of a fresh high-priority run', async () => {
    const label = 'ageing';
    await blocker(label);
    const bound = 200 * AGEING_SECONDS_PER_POINT * 1000; // -100 against 100
    const waitedPastBound = await queue(label, -100);
    const fresh = await queue(label, 100);
    const waitedWithinBound = await queue(label, -100);
    const backdate = async (id: string, ms: number) =>
      stack.core.db
        .$executeRaw`UPDATE "RoutineRun" SET "queuedAt" = "queuedAt" - ${ms} * interval '1 millisecond' WHERE id = ${rawId(id)}::uuid`;
    await backdate(waitedPastBound.id, bound + 60_000);
    await backdate(waitedWithinBound.id, bound - 60_000);

    const expected = [waitedPastBound.id, fresh.id, waitedWithinBound.id];
    const line = await positions(label);
    expect(expected.map((id) => line.get(id))).toEqual([1, 2, 3]);
    expect(await startOrder(expected)).toEqual(expected);
  });

  it('refuses a priority outside -100..100 naming the field; rerunRun keeps the parent’s priority unless overridden', async () => {
    for (const priority of [101, -101]) {
      const data = await post(
        `mutation($input: CreateRunInput!) { createRun(input: $input) {
          __typename ... on ValidationError { fieldErrors { path message } } } }`,
        { input: { instanceId, methodName: 'nap', inputs: { ms: 0 }, priority } },
      );
      expect(data.createRun.__typename).toBe('ValidationError');
      expect(data.createRun.fieldErrors.some((error: { path: string[] }) => error.path.includes('priority'))).toBe(true);
    }

    const parent = await queue('rerun', 30, 0);
    await startOrder([parent.id]);
    const rerun = async (overrides?: Record<string, unknown>) =>
      (
        await post(
          `mutation($input: RerunRunInput!) { rerunRun(input: $input) {
            __typename ... on RerunRunSuccess { run { priority } } ... on Error { message } } }`,
          { input: { id: parent.id, start: false, ...(overrides ? { overrides } : {}) } },
        )
      ).rerunRun;
    expect(await rerun()).toEqual({ __typename: 'RerunRunSuccess', run: { priority: 30 } });
    expect(await rerun({ priority: -5 })).toEqual({ __typename: 'RerunRunSuccess', run: { priority: -5 } });
    expect((await rerun({ priority: 500 })).__typename).toBe('ValidationError');
  });

  it('runs can be ordered by priority', async () => {
    const data = await post(`{ runs(first: 100, orderBy: { field: PRIORITY, direction: DESC }) { edges { node { priority } } } }`);
    const priorities = data.runs.edges.map((edge: { node: { priority: number } }) => edge.node.priority);
    expect(priorities.length).toBeGreaterThan(5);
    expect(priorities).toEqual([...priorities].sort((a, b) => b - a));
  });
});
