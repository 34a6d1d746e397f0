// The Redis transport of the event bus (REDIS_URL): a notice leaves only after the writing
// transaction commits, a rolled-back one announces nothing, and a dropped subscriber connection
// makes every subscriber re-read instead of missing what was published meanwhile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessOfUser, type Access } from '../src/access/access.ts';
import { createToken } from '../src/auth/tokens.ts';
import { createDb, type Db } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { RunEventBus, type RunChangeNotice } from '../src/events/bus.ts';
import { RunEventFeeds } from '../src/events/run-feed.ts';
import { RedisRunEventTransport } from '../src/events/redis-transport.ts';
import { loadRoutineRegistry } from '../src/routines/registry.ts';
import { syncRoutines } from '../src/routines/sync.ts';
import { appendRunEvent, appendRunEventInTx } from '../src/runs/run-events.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { waitFor } from './helpers/graphql.ts';
import { killConnections, TEST_REDIS_URL, testChannelPrefix, testRedisClient, type TestRedisClient } from './helpers/redis.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('event bus over Redis', () => {
  let database: TestDatabase;
  let plain: Db;
  let db: Db;
  let transport: RedisRunEventTransport;
  let redis: TestRedisClient;
  let prefix: string;
  let newRun: () => Promise<string>;
  let access: Access;

  beforeAll(async () => {
    database = await createTestDatabase();
    await migrate({ url: database.url });
    plain = createDb({ url: database.url });
    await syncRoutines({ db: plain, registry: await loadRoutineRegistry() });
    const { user, workspace } = await createToken({ db: plain, userName: 'redis' });
    access = await accessOfUser(plain, user);
    const routine = await plain.routine.findFirstOrThrow({ where: { name: 'montecarlo' } });
    const instance = await plain.routineInstance.create({
      data: { routineId: routine.id, name: 'redis', createdById: user.id, workspaceId: workspace!.id },
    });
    newRun = async () =>
      (
        await plain.routineRun.create({
          data: {
            instanceId: instance.id,
            workspaceId: instance.workspaceId,
            routineId: routine.id,
            routineVersion: routine.version,
            methodName: 'estimatePi',
            methodKind: 'STANDARD',
            memoryMb: 128,
            createdById: user.id,
            status: 'RUNNING',
          },
        })
      ).id;
    prefix = testChannelPrefix();
    transport = await RedisRunEventTransport.connect({ url: TEST_REDIS_URL, channelPrefix: prefix });
    db = transport.publishThrough(createDb({ url: database.url }));
    redis = await testRedisClient();
  });
  afterAll(async () => {
    await redis?.close();
    await db?.$disconnect();
    await transport?.close();
    await plain?.$disconnect();
    await database?.drop();
  });

  /** Every message on our channel, with whether its event was readable (committed) when it arrived. */
  async function listen() {
    const received: { notice: RunChangeNotice; readable: boolean }[] = [];
    const subscriber = redis.duplicate();
    await subscriber.connect();
    await subscriber.subscribe(transport.channel, (message) => {
      const notice = JSON.parse(message) as RunChangeNotice;
      const entry = { notice, readable: false };
      received.push(entry);
      void plain.runEvent
        .count({ where: { runId: notice.runId, sequence: notice.sequence } })
        .then((count) => (entry.readable = count === 1));
    });
    return { received, close: () => subscriber.close() };
  }

  it('publishes after the transaction commits, never inside it, and nothing for a rollback', async () => {
    const runId = await newRun();
    const channel = await listen();
    let insideTransaction = true;
    const heardInside: number[] = [];
    await db.$transaction(async (tx) => {
      await appendRunEventInTx(tx, { runId, type: 'PROGRESS', progress: { percent: 10, message: 'a' } });
      await appendRunEventInTx(tx, { runId, type: 'PROGRESS', progress: { percent: 20, message: 'b' } });
      // Hold the transaction open: a notice sent from inside it would arrive now.
      await sleep(400);
      heardInside.push(channel.received.length);
      insideTransaction = false;
    });
    expect(insideTransaction).toBe(false);
    expect(heardInside).toEqual([0]);
    await waitFor(async () => channel.received.length === 2 && channel.received.every((entry) => entry.readable));
    expect(channel.received.map((entry) => entry.notice.sequence)).toEqual([1, 2]);

    await expect(
      db.$transaction(async (tx) => {
        await appendRunEventInTx(tx, { runId, type: 'PROGRESS', progress: { percent: 30, message: 'c' } });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await sleep(400);
    expect(channel.received).toHaveLength(2);
    expect(await plain.runEvent.count({ where: { runId } })).toBe(2);
    await channel.close();
  });

  it('an event written outside a transaction (one statement on the driver) is announced after it committed', async () => {
    const runId = await newRun();
    const channel = await listen();
    // Progress and single log lines are written this way by the worker, and a plain run by createRun.
    await appendRunEvent(db, { runId, type: 'PROGRESS', progress: { percent: 50, message: 'half' } });
    await waitFor(async () => channel.received.length === 1 && channel.received[0].readable);
    expect(channel.received.map((entry) => entry.notice)).toEqual([{ runId, sequence: 1, status: 'RUNNING' }]);
    await channel.close();
  });

  it('a dropped subscriber connection costs nothing: the feed re-reads what was published meanwhile', async () => {
    const runId = await newRun();
    const bus = await RunEventBus.connect({ transport: transport.receiver() });
    const heard: (RunChangeNotice | null)[] = [];
    const stop = bus.onRunChange(runId, (notice) => heard.push(notice));
    const feeds = new RunEventFeeds({ db: plain, bus });
    const controller = new AbortController();
    const delivered: number[] = [];
    const streaming = (async () => {
      for await (const event of feeds.stream({ runId, afterSequence: 0, access, signal: controller.signal })) {
        delivered.push(event.sequence);
      }
    })();
    const append = (percent: number) =>
      db.$transaction((tx) => appendRunEventInTx(tx, { runId, type: 'PROGRESS', progress: { percent, message: `at ${percent}` } }));

    await append(1);
    await waitFor(async () => delivered.length === 1);
    // The subscriber connection drops; an event is committed and published while it is away.
    expect(await killConnections(redis, prefix, 'subscriber')).toBe(1);
    await append(2);
    // Coming back, the bus tells its listeners to resync, and the feed reads the missed event
    // long before its safety refresh (15 s) would.
    await waitFor(async () => heard.includes(null) && delivered.length === 2, { timeoutMs: 5000 });
    await append(3);
    await waitFor(async () => delivered.length === 3);
    expect(delivered).toEqual([1, 2, 3]);
    controller.abort();
    await streaming;
    stop();
    await bus.close();
  });

  it('a dropped publisher connection reconnects and keeps announcing', async () => {
    const runId = await newRun();
    const channel = await listen();
    expect(await killConnections(redis, prefix, 'publisher')).toBe(1);
    await db.$transaction((tx) => appendRunEventInTx(tx, { runId, type: 'PROGRESS', progress: { percent: 5, message: 'x' } }));
    await waitFor(async () => channel.received.some((entry) => entry.notice.runId === runId && entry.readable), { timeoutMs: 5000 });
    await channel.close();
  });
});
