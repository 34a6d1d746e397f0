// cancelRuns on real parts (PostgreSQL, the Temporal dev server, the API; no worker, so queued runs
// stay queued): a dry run only counts, a real cancel of a thousand queued runs takes seconds,
// another workspace's runs are neither counted nor touched, a VIEWER is refused, a member who may
// cancel in one workspace and only see another has the second's runs skipped and counted, and the
// mutation is audited.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { startWorker } from '../src/runtime.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const BULK = 1000;
/** Created through the API, so they have real workflows waiting to be admitted; the rest are copies of one. */
const WITH_WORKFLOWS = 20;

let stack: TestStack;
let adminToken: string;
let mine: { instanceId: string; rawInstanceId: string };
let theirs: { token: string; instanceId: string };

beforeAll(async () => {
  stack = await startTestStack({ withWorker: false, env: { RECONCILE_INTERVAL_MS: '600000' } });
  adminToken = stack.admin.options.token!;
  mine = await instance(adminToken, 'cancel-mine');
  // Another user in a workspace the admin is not a member of.
  const other = await createToken({ db: stack.core.db, userName: 'other', workspace: 'elsewhere', role: 'ADMIN' });
  theirs = { token: other.token, ...(await instance(other.token, 'cancel-theirs')) };
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function post(token: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(stack.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests walk answer data by path
  const body = (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1];

async function instance(token: string, name: string) {
  const data = await post(
    token,
    `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ... on CreateInstanceSuccess { instance { id } } } }`,
    { input: { routineName: 'montecarlo', name } },
  );
  const instanceId = data.createInstance.instance.id as string;
  return { instanceId, rawInstanceId: rawId(instanceId) };
}

async function createRuns(
  token: string,
  instanceId: string,
  label: string,
  count: number,
  start = true,
  inputs: Record<string, unknown> = { samples: 100 },
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const data = await post(
      token,
      `mutation($input: CreateRunInput!) { createRun(input: $input) { __typename ... on CreateRunSuccess { run { id } } ... on Error { message } } }`,
      { input: { instanceId, methodName: 'estimatePi', inputs, labels: [label], start } },
    );
    if (data.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(data));
    ids.push(rawId(data.createRun.run.id));
  }
  return ids;
}

/** `count` copies of a queued run (new ids, no workflow of their own): a big queue without starting a thousand workflows. */
async function cloneQueued(runId: string, count: number): Promise<void> {
  const columns = (
    await stack.core.db.$queryRaw<{ column_name: string }[]>`
      SELECT column_name::text AS column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'RoutineRun'`
  ).map((row) => row.column_name);
  const overridden: Record<string, string> = { id: 'gen_random_uuid()', idempotencyKey: 'NULL', workflowId: `'copied-' || n` };
  await stack.core.db.$executeRawUnsafe(
    `INSERT INTO "RoutineRun" (${columns.map((c) => `"${c}"`).join(', ')})
     SELECT ${columns.map((c) => overridden[c] ?? `"${c}"`).join(', ')} FROM "RoutineRun", generate_series(1, $2::int) n WHERE id = $1::uuid`,
    runId,
    count,
  );
}

const CANCEL_RUNS = `mutation($input: CancelRunsInput!) { cancelRuns(input: $input) {
  __typename
  ... on CancelRunsSuccess { count matchedCount skippedCount notAllowedCount dryRun runs(first: 5) { id status cancelReason } }
  ... on Error { message }
  ... on ValidationError { fieldErrors { path message } } } }`;

const statusCounts = async (label: string) => {
  const rows = await stack.core.db.routineRun.groupBy({ by: ['status'], where: { labels: { has: label } }, _count: true });
  return Object.fromEntries(rows.map((row) => [row.status, row._count]));
};

describe('cancelRuns', () => {
  it(`a dry run counts; a real cancel of ${BULK} queued runs takes seconds and leaves other workspaces alone`, async () => {
    const label = 'bulk';
    const created = Date.now();
    const queued = await createRuns(adminToken, mine.instanceId, label, WITH_WORKFLOWS);
    await cloneQueued(queued[0], BULK - WITH_WORKFLOWS);
    const drafts = await createRuns(adminToken, mine.instanceId, label, 2, false);
    const theirRuns = await createRuns(theirs.token, theirs.instanceId, label, 3);
    console.log(`cancelRuns: ${BULK} queued runs and 2 drafts made in ${Date.now() - created} ms`);
    expect(await statusCounts(label)).toEqual({ QUEUED: BULK + theirRuns.length, CREATED: 2 });

    // A COMPLETED run matches but is not cancellable.
    await stack.core.db.routineRun.update({ where: { id: queued[1] }, data: { status: 'COMPLETED' } });
    const filter = { labelsAll: [label] };

    const dry = (await post(adminToken, CANCEL_RUNS, { input: { filter } })).cancelRuns;
    expect(dry).toMatchObject({
      __typename: 'CancelRunsSuccess',
      dryRun: true,
      count: BULK - 1 + drafts.length,
      matchedCount: BULK + drafts.length,
      skippedCount: 1,
      notAllowedCount: 0,
    });
    expect(dry.runs).toHaveLength(5);
    expect(dry.runs.every((run: { status: string }) => run.status === 'QUEUED' || run.status === 'CREATED')).toBe(true);
    expect(await statusCounts(label)).toEqual({ QUEUED: BULK - 1 + theirRuns.length, CREATED: 2, COMPLETED: 1 });

    const started = performance.now();
    const real = (await post(adminToken, CANCEL_RUNS, { input: { filter, dryRun: false, reason: 'bulk test' } })).cancelRuns;
    const elapsedMs = performance.now() - started;
    console.log(`cancelRuns: cancelled ${real.count} runs in ${elapsedMs.toFixed(0)} ms`);
    expect(elapsedMs).toBeLessThan(30_000);
    expect(real).toMatchObject({ __typename: 'CancelRunsSuccess', dryRun: false, count: BULK - 1 + drafts.length, skippedCount: 1 });
    expect(real.runs).toHaveLength(5);
    expect(
      real.runs.every((run: { status: string; cancelReason: string }) => run.status === 'CANCELLED' && run.cancelReason === 'bulk test'),
    ).toBe(true);

    // Only the other workspace's runs are still queued.
    expect(await statusCounts(label)).toEqual({ QUEUED: theirRuns.length, CANCELLED: BULK - 1 + drafts.length, COMPLETED: 1 });
    const stillQueued = await stack.core.db.routineRun.findMany({
      where: { labels: { has: label }, status: 'QUEUED' },
      select: { id: true },
    });
    expect(stillQueued.map((run) => run.id).sort()).toEqual([...theirRuns].sort());

    // Each cancelled run has its STATUS_CHANGED event, credited to the admin with the reason.
    const admin = await stack.core.db.user.findUniqueOrThrow({ where: { name: 'admin' } });
    const events = await stack.core.db.runEvent.findMany({
      where: { run: { labels: { has: label } }, toStatus: 'CANCELLED' },
      select: { actorId: true, detail: true, fromStatus: true },
    });
    expect(events).toHaveLength(BULK - 1 + drafts.length);
    expect(events.every((event) => event.actorId === admin.id && (event.detail as { reason: string }).reason === 'bulk test')).toBe(true);
    expect(events.filter((event) => event.fromStatus === 'CREATED')).toHaveLength(drafts.length);

    // Audited like any mutation.
    const audit = await stack.core.db.auditEvent.findMany({ where: { operation: 'cancelRuns', userId: admin.id } });
    expect(audit.map((row) => row.resultType).sort()).toEqual(['CancelRunsSuccess', 'CancelRunsSuccess']);

    // Cancelling again finds nothing left to cancel.
    const again = (await post(adminToken, CANCEL_RUNS, { input: { filter, dryRun: false } })).cancelRuns;
    expect(again).toMatchObject({ count: 0, matchedCount: BULK + drafts.length, skippedCount: BULK + drafts.length, runs: [] });
  }, 120_000);

  it('refuses a VIEWER (ForbiddenError) and an empty filter (ValidationError naming filter)', async () => {
    const viewer = await createToken({ db: stack.core.db, userName: 'vera', workspace: 'default', role: 'VIEWER' });
    const label = 'viewer';
    await createRuns(adminToken, mine.instanceId, label, 1);
    const refused = (await post(viewer.token, CANCEL_RUNS, { input: { filter: { labelsAll: [label] }, dryRun: false } })).cancelRuns;
    expect(refused.__typename).toBe('ForbiddenError');
    expect(await statusCounts(label)).toEqual({ QUEUED: 1 });

    // Conditions that hold for every run are no condition: refused like an empty filter.
    for (const filter of [{}, { search: '' }, { attributes: {} }, { labelsAll: [] }, { search: '', attributes: {} }]) {
      const empty = (await post(adminToken, CANCEL_RUNS, { input: { filter, dryRun: false } })).cancelRuns;
      expect(empty.__typename, JSON.stringify(filter)).toBe('ValidationError');
      expect(empty.fieldErrors[0].path).toEqual(['filter']);
    }
    expect(await statusCounts(label)).toEqual({ QUEUED: 1 });
  });

  it('skips and counts the runs a member can see but may not cancel', async () => {
    // An OPERATOR of its own workspace, a VIEWER of the admin's one.
    const { token } = await createToken({ db: stack.core.db, userName: 'olga', workspace: 'olgas', role: 'OPERATOR' });
    await createToken({ db: stack.core.db, userName: 'olga', workspace: 'default', role: 'VIEWER' });
    const own = await instance(adminToken, 'for-olga');
    await stack.core.db.routineInstance.update({
      where: { id: own.rawInstanceId },
      data: { workspace: { connect: { name: 'olgas' } } },
    });
    const label = 'mixed';
    const visibleOnly = await createRuns(adminToken, mine.instanceId, label, 2);
    const olgas = await createRuns(token, own.instanceId, label, 1);

    const result = (await post(token, CANCEL_RUNS, { input: { filter: { labelsAll: [label] }, dryRun: false } })).cancelRuns;
    expect(result).toMatchObject({ __typename: 'CancelRunsSuccess', count: 1, matchedCount: 3, skippedCount: 2, notAllowedCount: 2 });
    const statuses = await stack.core.db.routineRun.findMany({ where: { labels: { has: label } }, select: { id: true, status: true } });
    expect(Object.fromEntries(statuses.map((run) => [run.id, run.status]))).toEqual({
      [olgas[0]]: 'CANCELLED',
      [visibleOnly[0]]: 'QUEUED',
      [visibleOnly[1]]: 'QUEUED',
    });
  });

  it('a RUNNING run gets a pending cancel, as with cancelRun, and its method is stopped', async () => {
    const worker = await startWorker({ core: stack.core, temporalAddress: inject('temporalAddress') });
    try {
      const label = 'running';
      const [id] = await createRuns(adminToken, mine.instanceId, label, 1, true, { samples: 10_000_000_000 });
      const row = () => stack.core.db.routineRun.findUniqueOrThrow({ where: { id } });
      await until(async () => (await row()).status === 'RUNNING');
      const result = (await post(adminToken, CANCEL_RUNS, { input: { filter: { labelsAll: [label] }, dryRun: false } })).cancelRuns;
      expect(result).toMatchObject({ count: 1, skippedCount: 0 });
      expect((await row()).cancelRequestedAt).not.toBeNull();
      await until(async () => (await row()).status === 'CANCELLED');
      // Ended now: asking again (a dry run) counts it as skipped.
      const again = (await post(adminToken, CANCEL_RUNS, { input: { filter: { labelsAll: [label] } } })).cancelRuns;
      expect(again).toMatchObject({ count: 0, skippedCount: 1 });
    } finally {
      await worker.stop();
    }
  }, 90_000);
});

async function until(check: () => Promise<boolean>, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
