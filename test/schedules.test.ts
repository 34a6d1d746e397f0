// Schedules end to end on real parts (PostgreSQL, the Temporal dev server, a worker): createSchedule
// with an interval and with a cron expression, the runs they fire (label, scheduleId,
// Schedule.runs, ordinary run lists), trigger, pause and unpause, delete, the SKIP overlap policy,
// refused inputs that leave nothing in the database or Temporal, another workspace seeing nothing,
// and RETENTION_SCHEDULE deleting old runs when its Temporal Schedule fires.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { fireSchedule } from '../src/services/fire-schedule.ts';
import { deleteTemporalSchedule, retentionScheduleId, temporalScheduleId } from '../src/schedules/temporal-schedules.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/routines/', import.meta.url));

let stack: TestStack;
let temporal: Client;
let instanceId: string;
let outsiderToken: string;
let outsiderInstanceId: string;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests walk answer data by path
type Data = Record<string, any>;

async function post(query: string, variables: Record<string, unknown> = {}, token = stack.admin.options.token): Promise<Data> {
  const response = await fetch(stack.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Data; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1];
const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');

async function until<T>(check: () => Promise<T | null | false | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const CREATE = `mutation($input: CreateScheduleInput!) { createSchedule(input: $input) {
  __typename
  ... on CreateScheduleSuccess { schedule { id name paused cron intervalSeconds nextRunAt overlapPolicy labels instance { id } } }
  ... on ValidationError { fieldErrors { path message } }
  ... on Error { message } } }`;

const SCHEDULE = `query($id: ID!) { node(id: $id) { ... on Schedule { id name paused nextRunAt
  runs(first: 50) { totalCount edges { node { id labels status schedule { id } } } } } } }`;

async function create(input: Record<string, unknown>, token?: string): Promise<Data> {
  return (await post(CREATE, { input: { instanceId, methodName: 'nap', inputs: { ms: 50 }, ...input } }, token)).createSchedule;
}

async function runsOf(scheduleId: string): Promise<{ id: string; scheduleId: string | null; labels: string[]; status: string }[]> {
  return stack.core.db.routineRun.findMany({
    where: { scheduleId: rawId(scheduleId) },
    select: { id: true, scheduleId: true, labels: true, status: true },
  });
}

beforeAll(async () => {
  stack = await startTestStack({
    env: { ROUTINES_EXTRA_DIRS: FIXTURES, SCHEDULE_MIN_INTERVAL_SECONDS: '2', SCHEDULES_PER_WORKSPACE: '5' },
  });
  temporal = stack.api.services.schedules!.client;
  const made = await post(
    `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ... on CreateInstanceSuccess { instance { id } } } }`,
    { input: { routineName: 'lifecycle', name: 'scheduled' } },
  );
  instanceId = made.createInstance.instance.id;
  outsiderToken = (await createToken({ db: stack.core.db, userName: 'outsider', workspace: 'elsewhere', role: 'ADMIN' })).token;
  const theirs = await post(
    `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { __typename ... on CreateInstanceSuccess { instance { id } } } }`,
    { input: { routineName: 'lifecycle', name: 'theirs' } },
    outsiderToken,
  );
  outsiderInstanceId = theirs.createInstance.instance.id;
});

afterAll(async () => {
  // The dev server outlives this file: leave none of its schedules firing into a dropped database.
  for (const { id } of (await stack?.core.db.schedule.findMany({ select: { id: true } })) ?? []) {
    await deleteTemporalSchedule(temporal, temporalScheduleId(id));
  }
  await stack?.stop();
});

describe('schedules', () => {
  it('an interval schedule fires labelled runs, listed in Schedule.runs and as ordinary runs; pause, unpause, delete', async () => {
    const created = await create({ name: 'every-two-seconds', intervalSeconds: 2, labels: ['nightly'] });
    expect(created.__typename).toBe('CreateScheduleSuccess');
    const { id } = created.schedule;
    expect(created.schedule).toMatchObject({
      name: 'every-two-seconds',
      paused: false,
      cron: null,
      intervalSeconds: 2,
      overlapPolicy: 'SKIP',
    });
    expect(Date.parse(created.schedule.nextRunAt)).toBeGreaterThan(Date.now() - 2000);

    const runs = await until(async () => {
      const found = await runsOf(id);
      return found.filter((run) => run.status === 'COMPLETED').length >= 2 && found;
    });
    for (const run of runs) {
      expect(run.labels).toEqual(['nightly', 'schedule:every-two-seconds']);
      expect(run.scheduleId).toBe(rawId(id));
    }
    const node = (await post(SCHEDULE, { id })).node;
    expect(node.runs.totalCount).toBeGreaterThanOrEqual(2);
    for (const edge of node.runs.edges) expect(edge.node.schedule).toEqual({ id });
    const listed = new Set(node.runs.edges.map((edge: Data) => rawId(edge.node.id)));
    for (const run of runs) expect(listed.has(run.id)).toBe(true);
    const ordinary = await post(`{ runs(first: 100, filter: { labelsAny: ["schedule:every-two-seconds"] }) { edges { node { id } } } }`);
    const ordinaryIds = new Set(ordinary.runs.edges.map((edge: Data) => rawId(edge.node.id)));
    for (const run of runs) expect(ordinaryIds.has(run.id)).toBe(true);

    const paused = await post(
      `mutation($input: PauseScheduleInput!) { pauseSchedule(input: $input) { __typename ... on PauseScheduleSuccess { schedule { paused nextRunAt } } } }`,
      { input: { id, paused: true } },
    );
    expect(paused.pauseSchedule).toEqual({ __typename: 'PauseScheduleSuccess', schedule: { paused: true, nextRunAt: null } });
    expect((await temporal.schedule.getHandle(temporalScheduleId(rawId(id))).describe()).state.paused).toBe(true);
    // A fire already under way may still make its run: count once it has, then wait and count again.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const whilePaused = (await runsOf(id)).length;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await runsOf(id)).length).toBe(whilePaused);
    // Schedule.runs counts this schedule's runs, not every run the caller sees: a draft of the same instance is not one.
    const draft = await post(`mutation($input: CreateRunInput!) { createRun(input: $input) { __typename } }`, {
      input: { instanceId, methodName: 'nap', inputs: { ms: 1 }, start: false },
    });
    expect(draft.createRun.__typename).toBe('CreateRunSuccess');
    expect((await post(SCHEDULE, { id })).node.runs.totalCount).toBe(whilePaused);

    const unpaused = await post(
      `mutation($input: PauseScheduleInput!) { pauseSchedule(input: $input) { ... on PauseScheduleSuccess { schedule { paused nextRunAt } } } }`,
      { input: { id, paused: false } },
    );
    expect(unpaused.pauseSchedule.schedule.paused).toBe(false);
    expect(unpaused.pauseSchedule.schedule.nextRunAt).not.toBeNull();
    await until(async () => (await runsOf(id)).length > whilePaused);

    const deleted = await post(
      `mutation($input: DeleteScheduleInput!) { deleteSchedule(input: $input) { __typename ... on DeleteScheduleSuccess { deletedScheduleId } } }`,
      { input: { id } },
    );
    expect(deleted.deleteSchedule).toEqual({ __typename: 'DeleteScheduleSuccess', deletedScheduleId: id });
    await expect(temporal.schedule.getHandle(temporalScheduleId(rawId(id))).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect((await post(SCHEDULE, { id })).node).toBeNull();
    // The runs stay, no longer pointing at the schedule, and still carry its label.
    for (const run of runs) {
      const kept = await stack.core.db.routineRun.findUniqueOrThrow({ where: { id: run.id } });
      expect(kept.scheduleId).toBeNull();
      expect(kept.labels).toContain('schedule:every-two-seconds');
    }
  });

  it('a cron schedule reports its next fire; trigger() fires a run at once; the schedules list shows it', async () => {
    const created = await create({ name: 'new-year', cron: '0 0 1 1 *' });
    expect(created.__typename).toBe('CreateScheduleSuccess');
    const { id } = created.schedule;
    const next = new Date(created.schedule.nextRunAt);
    expect(next.getUTCMonth()).toBe(0);
    expect(next.getUTCDate()).toBe(1);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(await runsOf(id)).toHaveLength(0);

    await temporal.schedule.getHandle(temporalScheduleId(rawId(id))).trigger();
    const [run] = await until(async () => {
      const found = await runsOf(id);
      return found.length === 1 && found[0].status === 'COMPLETED' && found;
    });
    expect(run.labels).toEqual(['schedule:new-year']);
    const node = (await post(SCHEDULE, { id })).node;
    expect(node.runs.edges.map((edge: Data) => rawId(edge.node.id))).toEqual([run.id]);

    const list = await post(`{ schedules(first: 10) { totalCount edges { node { id name cron instance { id } } } } }`);
    expect(list.schedules.edges.map((edge: Data) => edge.node)).toContainEqual({
      id,
      name: 'new-year',
      cron: '0 0 1 1 *',
      instance: { id: instanceId },
    });
    expect(list.schedules.totalCount).toBe(list.schedules.edges.length);
  });

  it("a fire is idempotent (its workflow id is the run's key), and a creator who lost access gets no run", async () => {
    const created = await create({ name: 'idempotent', cron: '0 0 1 1 *' });
    const scheduleId = rawId(created.schedule.id);
    const first = await fireSchedule(stack.api.services, { scheduleId, fireId: 'scheduled-x-2026-12-03T00:00:00Z' });
    const again = await fireSchedule(stack.api.services, { scheduleId, fireId: 'scheduled-x-2026-12-03T00:00:00Z' });
    expect(again).toBe(first);
    expect(await runsOf(created.schedule.id)).toHaveLength(1);

    const { token, user } = await createToken({ db: stack.core.db, userName: 'leaver', workspace: 'default', role: 'OPERATOR' });
    const theirs = await create({ name: 'leaver-schedule', cron: '0 0 1 1 *' }, token);
    expect(theirs.__typename).toBe('CreateScheduleSuccess');
    await stack.core.db.workspaceMember.deleteMany({ where: { userId: user.id } });
    const handle = temporal.schedule.getHandle(temporalScheduleId(rawId(theirs.schedule.id)));
    await handle.trigger();
    const fired = await until(async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId);
    await expect(temporal.workflow.getHandle(fired).result()).rejects.toThrow();
    const failure = await temporal.workflow.getHandle(fired).describe();
    expect(failure.status.name).toBe('FAILED');
    expect(await runsOf(theirs.schedule.id)).toHaveLength(0);
    // The refused fire is on the schedule for whoever can still see it.
    const row = await stack.core.db.schedule.findUniqueOrThrow({ where: { id: rawId(theirs.schedule.id) } });
    expect(row.failedFireCount).toBe(1);
    expect(row.lastFireError).toBeTruthy();
    const seen = await post(`query($id: ID!) { node(id: $id) { ... on Schedule { lastFiredAt lastFireError failedFireCount } } }`, {
      id: theirs.schedule.id,
    });
    expect(seen.node).toMatchObject({ lastFireError: row.lastFireError, failedFireCount: 1 });
    expect(seen.node.lastFiredAt).not.toBeNull();
    const fine = await stack.core.db.schedule.findUniqueOrThrow({ where: { id: scheduleId } });
    expect([fine.lastFireError, fine.failedFireCount, fine.lastFiredAt !== null]).toEqual([null, 0, true]);
  });

  it("gives each run the schedule's memory and priority, and refuses a schedule whose runs createRun would refuse", async () => {
    const sized = await create({ name: 'sized', cron: '0 0 1 1 *', memoryOverrideMb: 300, priority: 7 });
    expect(sized.__typename).toBe('CreateScheduleSuccess');
    const runId = await fireSchedule(stack.api.services, { scheduleId: rawId(sized.schedule.id), fireId: 'scheduled-sized-1' });
    const run = await stack.core.db.routineRun.findUniqueOrThrow({ where: { id: runId! } });
    expect([run.memoryMb, run.priority]).toEqual([300, 7]);

    const kmeans = await post(
      `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ... on CreateInstanceSuccess { instance { id } } } }`,
      { input: { routineName: 'kmeans', name: 'never-configured' } },
    );
    const unconfigured = await create({
      name: 'too-early',
      cron: '0 0 1 1 *',
      instanceId: kmeans.createInstance.instance.id,
      methodName: 'fit',
      inputs: { points: [[0, 0]] },
    });
    expect(unconfigured.__typename).toBe('InstanceNotConstructedError');
    for (const [input, field] of [
      [{ name: 'too-big', cron: '0 0 1 1 *', memoryOverrideMb: 10_000_000 }, 'memoryOverrideMb'],
      [{ name: 'too-urgent', cron: '0 0 1 1 *', priority: 101 }, 'priority'],
      [{ name: 'spoof', cron: '0 0 1 1 *', labels: ['schedule:sized'] }, 'labels.0'],
    ] as const) {
      const answer = await create(input);
      expect(answer.__typename, field).toBe('ValidationError');
      expect(answer.fieldErrors.map((error: Data) => error.path.join('.'))).toContain(field);
    }
    await post(`mutation($input: DeleteScheduleInput!) { deleteSchedule(input: $input) { __typename } }`, {
      input: { id: sized.schedule.id },
    });
  });

  it('SKIP: a schedule firing every 2 s while its run lasts 8 s makes one run and skips the rest', async () => {
    const created = await create({ name: 'overlapping', intervalSeconds: 2, inputs: { ms: 8000 } });
    expect(created.__typename).toBe('CreateScheduleSuccess');
    const { id } = created.schedule;
    const handle = temporal.schedule.getHandle(temporalScheduleId(rawId(id)));
    await until(async () => (await runsOf(id)).length === 1);
    await handle.trigger(ScheduleOverlapPolicy.SKIP);
    const skipped = await until(async () => {
      const { info } = await handle.describe();
      return info.numActionsSkippedOverlap >= 2 && info;
    }, 6000);
    expect(skipped.runningActions).toHaveLength(1);
    expect(await runsOf(id)).toHaveLength(1);
    await post(`mutation($input: DeleteScheduleInput!) { deleteSchedule(input: $input) { __typename } }`, { input: { id } });
  });

  it('refuses bad input naming the field, and creates nothing in the database or Temporal', async () => {
    const temporalIds = async () => {
      const ids: string[] = [];
      for await (const schedule of temporal.schedule.list()) if (schedule.scheduleId.startsWith('schedule-')) ids.push(schedule.scheduleId);
      return ids.sort();
    };
    const before = { rows: await stack.core.db.schedule.count(), temporal: await temporalIds() };
    const cases: [Record<string, unknown>, string, string][] = [
      [{ name: 'both', cron: '* * * * *', intervalSeconds: 60 }, 'ValidationError', 'intervalSeconds'],
      [{ name: 'neither' }, 'ValidationError', 'cron'],
      [{ name: 'bad-cron', cron: 'every tuesday-ish' }, 'ValidationError', 'cron'],
      [{ name: 'too-often', intervalSeconds: 1 }, 'ValidationError', 'intervalSeconds'],
      // A cron expression is held to SCHEDULE_MIN_INTERVAL_SECONDS too (here 2 s): seconds fields, @every.
      [{ name: 'cron-every-second', cron: '* * * * * * *' }, 'ValidationError', 'cron'],
      [{ name: 'cron-at-every', cron: '@every 1s' }, 'ValidationError', 'cron'],
      [{ name: 'cron-zone', cron: 'CRON_TZ=Asia/Tokyo 0 3 * * *' }, 'ValidationError', 'cron'],
      [{ name: 'cron-never', cron: '0 0 31 2 *' }, 'ValidationError', 'cron'],
      [{ name: 'bad-inputs', intervalSeconds: 60, inputs: { ms: 'soon' } }, 'ValidationError', 'inputs.ms'],
      [{ name: 'unknown-parameter', intervalSeconds: 60, inputs: { nope: 1 } }, 'ValidationError', 'inputs.nope'],
      [{ name: 'no such method', intervalSeconds: 60 }, 'ValidationError', 'name'],
      [{ name: 'wrong-method', methodName: 'nothing', intervalSeconds: 60 }, 'ValidationError', 'methodName'],
      [{ name: 'unknown-instance', instanceId: globalId('RoutineInstance', randomUUID()), intervalSeconds: 60 }, 'NotFoundError', ''],
      [{ name: 'their-instance', instanceId: outsiderInstanceId, intervalSeconds: 60 }, 'NotFoundError', ''],
    ];
    for (const [input, type, field] of cases) {
      const answer = await create(input);
      expect(answer.__typename, JSON.stringify(input)).toBe(type);
      if (field)
        expect(
          answer.fieldErrors.map((error: Data) => error.path.join('.')),
          JSON.stringify(input),
        ).toContain(field);
    }
    // The name is the workspace's: a second schedule of that name is refused.
    const first = await create({ name: 'twice', intervalSeconds: 60 });
    expect(first.__typename).toBe('CreateScheduleSuccess');
    const second = await create({ name: 'twice', intervalSeconds: 60 });
    expect(second.fieldErrors.map((error: Data) => error.path.join('.'))).toEqual(['name']);
    await post(`mutation($input: DeleteScheduleInput!) { deleteSchedule(input: $input) { __typename } }`, {
      input: { id: first.schedule.id },
    });
    expect(await stack.core.db.schedule.count()).toBe(before.rows);
    expect(await temporalIds()).toEqual(before.temporal);
  });

  it('caps the schedules of a workspace (SCHEDULES_PER_WORKSPACE)', async () => {
    const existing = await stack.core.db.schedule.count();
    const made: string[] = [];
    for (let i = existing; i < 5; i++) {
      const answer = await create({ name: `cap-${i}`, cron: '0 0 1 1 *' });
      expect(answer.__typename).toBe('CreateScheduleSuccess');
      made.push(answer.schedule.id);
    }
    const refused = await create({ name: 'one-too-many', cron: '0 0 1 1 *' });
    expect(refused.__typename).toBe('ValidationError');
    expect(refused.message).toMatch(/SCHEDULES_PER_WORKSPACE/);
    for (const id of made) {
      await post(`mutation($input: DeleteScheduleInput!) { deleteSchedule(input: $input) { __typename } }`, { input: { id } });
    }
  });

  it("another workspace's user sees none of it: list, node, runs, and cannot pause or delete", async () => {
    const created = await create({ name: 'private', cron: '0 0 1 1 *' });
    const { id } = created.schedule;
    await temporal.schedule.getHandle(temporalScheduleId(rawId(id))).trigger();
    const [run] = await until(async () => {
      const found = await runsOf(id);
      return found.length === 1 && found;
    });
    const theirs = await post(
      `query($id: ID!, $run: ID!) { schedules(first: 100) { totalCount edges { node { id } } } node(id: $id) { id } run(id: $run) { id }
        runs(first: 100, filter: { labelsAny: ["schedule:private"] }) { totalCount } }`,
      { id, run: globalId('RoutineRun', run.id) },
      outsiderToken,
    );
    expect(theirs).toEqual({ schedules: { totalCount: 0, edges: [] }, node: null, run: null, runs: { totalCount: 0 } });
    for (const [mutation, input] of [
      ['pauseSchedule(input: { id: $id, paused: true })', 'ID!'],
      ['deleteSchedule(input: { id: $id })', 'ID!'],
    ]) {
      const answer = await post(`mutation($id: ${input}) { result: ${mutation} { __typename } }`, { id }, outsiderToken);
      expect(answer.result.__typename).toBe('NotFoundError');
    }
    expect((await temporal.schedule.getHandle(temporalScheduleId(rawId(id))).describe()).state.paused).toBe(false);
  });

  it('deleting an instance deletes its schedules, in the database and in Temporal', async () => {
    const made = await post(
      `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ... on CreateInstanceSuccess { instance { id } } } }`,
      { input: { routineName: 'lifecycle', name: 'short-lived' } },
    );
    const shortLived = made.createInstance.instance.id;
    const created = await create({ name: 'goes-with-instance', cron: '0 0 1 1 *', instanceId: shortLived });
    const { id } = created.schedule;
    const answer = await post(`mutation($input: DeleteInstanceInput!) { deleteInstance(input: $input) { __typename } }`, {
      input: { id: shortLived },
    });
    expect(answer.deleteInstance.__typename).toBe('DeleteInstanceSuccess');
    expect(await stack.core.db.schedule.findUnique({ where: { id: rawId(id) } })).toBeNull();
    await expect(temporal.schedule.getHandle(temporalScheduleId(rawId(id))).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });
});

describe('RETENTION_SCHEDULE', () => {
  let retention: TestStack;

  afterAll(async () => {
    await retention?.stop();
  });

  it('keeps a Temporal Schedule that applies the retention policy when it fires, and deletes it when unset', async () => {
    retention = await startTestStack({
      env: { ROUTINES_EXTRA_DIRS: FIXTURES, RETENTION_SCHEDULE: '0 3 * * *', RETENTION_KEEP_LAST: '1', RETENTION_KEEP_LABELS: 'keep' },
    });
    const token = retention.admin.options.token;
    const call = async (query: string, variables: Record<string, unknown>) => {
      const response = await fetch(retention.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      return ((await response.json()) as { data: Data }).data;
    };
    const made = await call(
      `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ... on CreateInstanceSuccess { instance { id } } } }`,
      { input: { routineName: 'lifecycle', name: 'retained' } },
    );
    const retainedInstance = made.createInstance.instance.id;
    const runIds: string[] = [];
    for (const labels of [['keep'], [], [], []]) {
      const answer = await call(
        `mutation($input: CreateRunInput!) { createRun(input: $input) { ... on CreateRunSuccess { run { id } } } }`,
        { input: { instanceId: retainedInstance, methodName: 'nap', inputs: { ms: 10 }, labels } },
      );
      runIds.push(rawId(answer.createRun.run.id));
    }
    const db = retention.core.db;
    await until(async () => (await db.routineRun.count({ where: { id: { in: runIds }, status: 'COMPLETED' } })) === runIds.length);

    const client = retention.api.services.schedules!.client;
    const handle = client.schedule.getHandle(retentionScheduleId(retention.core.env.TEMPORAL_TASK_QUEUE));
    const description = await handle.describe();
    expect(description.spec.calendars?.length ?? 0).toBeGreaterThan(0);
    await handle.trigger();
    // Kept: the newest run and the labelled one. Deleted: the other two, by the `retention` user.
    await until(async () => (await db.routineRun.count({ where: { id: { in: runIds } } })) === 2);
    const left = await db.routineRun.findMany({ where: { id: { in: runIds } }, select: { id: true } });
    expect(left.map((run) => run.id).sort()).toEqual([runIds[0], runIds[3]].sort());
    const retentionUser = await db.user.findUniqueOrThrow({ where: { name: 'retention' } });
    const tombstones = await db.runTombstone.findMany({ where: { runId: { in: runIds } } });
    expect(tombstones.map((tombstone) => tombstone.deletedById)).toEqual([retentionUser.id, retentionUser.id]);

    // A start without the variable deletes the schedule (same deployment: the same task queue).
    const { ensureRetentionSchedule } = await import('../src/schedules/temporal-schedules.ts');
    expect(await ensureRetentionSchedule({ client, taskQueue: retention.core.env.TEMPORAL_TASK_QUEUE }, { cron: null, policy: null })).toBe(
      'deleted',
    );
    await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });
});
