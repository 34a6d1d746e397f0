// Events cross processes: a worker process executes the run, two API processes serve
// subscribers, and every event reaches the subscribers of both. Restarting one API process
// mid-run costs its subscriber nothing: the watchRun recipe resumes from its last sequence.
// The same holds with the Redis transport (REDIS_URL), through dropped Redis connections.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { watchRun, type WatchedRunEvent } from '../src/client/watch-run.ts';
import { migrate } from '../src/db/migrate.ts';
import { graphql } from './gql/index.ts';
import { createDb } from '../src/db/client.ts';
import { RUN_EVENTS_CHANNEL } from '../src/events/bus.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { GraphQLTestClient } from './helpers/graphql.ts';
import { freePort } from './helpers/ports.ts';
import { startServiceProcess, type ServiceProcess } from './helpers/processes.ts';
import { killConnections, TEST_REDIS_URL, testChannelPrefix, testRedisClient } from './helpers/redis.ts';

const XCreateInstance = graphql(`
  mutation XCreateInstance($input: CreateInstanceInput!) {
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
const XCreateRun = graphql(`
  mutation XCreateRun($input: CreateRunInput!) {
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

const processes: ServiceProcess[] = [];
const databases: TestDatabase[] = [];
const dataDirs: string[] = [];

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  await Promise.all(databases.map((database) => database.drop()));
  await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A database with a user, a worker process and two API processes sharing `extraEnv`. */
async function startDeployment(extraEnv: Record<string, string> = {}) {
  const database = await createTestDatabase();
  databases.push(database);
  await migrate({ url: database.url });
  const db = createDb({ url: database.url });
  const { token } = await createToken({ db, userName: 'dashboard' });
  await db.$disconnect();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-xproc-'));
  dataDirs.push(dataDir);
  await chmod(dataDir, 0o755);
  const env = {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `xproc-${randomBytes(4).toString('hex')}`,
    DATA_DIR: dataDir,
    ...extraEnv,
  };
  const ports = [await freePort(), await freePort()];
  const [worker, api1, api2] = await Promise.all([
    startServiceProcess({ role: 'worker', env }),
    startServiceProcess({ role: 'api', env: { ...env, PORT: String(ports[0]) } }),
    startServiceProcess({ role: 'api', env: { ...env, PORT: String(ports[1]) } }),
  ]);
  processes.push(worker, api1, api2);
  const urls = ports.map((port) => `http://127.0.0.1:${port}/graphql`);
  return { database, token, env, ports, urls, worker, apis: [api1, api2] };
}

/** Starts a long montecarlo run through the second API process; returns its global id. */
async function startLongRun({ url, token }: { url: string; token: string }): Promise<string> {
  const client = new GraphQLTestClient({ url, token });
  const instance = await client.query(XCreateInstance, { input: { routineName: 'montecarlo', name: 'Pi' } });
  if (instance.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error('instance');
  const created = await client.query(XCreateRun, {
    input: {
      instanceId: instance.createInstance.instance.id,
      methodName: 'estimatePi',
      inputs: { samples: 1_500_000_000, batches: 100, seed: 5 },
    },
  });
  if (created.createRun.__typename !== 'CreateRunSuccess') throw new Error('run');
  return created.createRun.run.id;
}

/** Both saw every event exactly once, in order, ending with COMPLETED. */
function expectEveryEventOnceInOrder(received: WatchedRunEvent[][]): void {
  const sequences = received.map((events) => events.map((event) => event.sequence));
  expect(sequences[0]).toEqual(sequences[0].map((_, index) => index + 1));
  expect(sequences[1]).toEqual(sequences[0]);
  expect(received[0].at(-1)).toMatchObject({ type: 'STATUS_CHANGED', toStatus: 'COMPLETED' });
  expect(received[0].filter((event) => event.type === 'PROGRESS').length).toBeGreaterThan(20);
}

describe('events across processes', () => {
  it('a worker process and two API processes: every event reaches both, and an API restart loses nothing', async () => {
    const {
      token,
      env,
      ports,
      urls,
      apis: [api1],
    } = await startDeployment();
    const runId = await startLongRun({ url: urls[1], token });

    // Two dashboards, one on each API process, using the shipped resume recipe.
    const reconnects: number[] = [];
    const received: WatchedRunEvent[][] = [[], []];
    let restarted: Promise<void> | null = null;
    const watchers = urls.map(async (url, index) => {
      for await (const event of watchRun({
        url,
        token,
        runId,
        retryDelayMs: 100,
        onReconnect: ({ afterSequence }) => reconnects.push(afterSequence),
      })) {
        received[index].push(event);
        // Mid-run, restart the first API process (a deploy): SIGTERM, then a new one on its port.
        if (index === 0 && !restarted && event.type === 'PROGRESS' && event.progress!.percent >= 20) {
          restarted = (async () => {
            expect(await api1.stop()).toBe(0);
            const again = await startServiceProcess({ role: 'api', env: { ...env, PORT: String(ports[0]) } });
            processes.push(again);
          })();
        }
      }
    });
    await Promise.all(watchers);
    await restarted;

    expectEveryEventOnceInOrder(received);
    // The first dashboard did lose its socket, and resumed after what it had.
    expect(reconnects.length).toBeGreaterThanOrEqual(1);
    expect(reconnects[0]).toBeGreaterThan(0);
  }, 180_000);

  it('with REDIS_URL: notices travel over Redis only, every event reaches both, and dropped Redis connections lose nothing', async () => {
    const prefix = testChannelPrefix();
    const { database, token, urls } = await startDeployment({ REDIS_URL: TEST_REDIS_URL, REDIS_CHANNEL_PREFIX: prefix });
    const redis = await testRedisClient();
    // Nothing may go through PostgreSQL's notification channel any more.
    const listener = new pg.Client({ connectionString: database.url });
    await listener.connect();
    let pgNotices = 0;
    listener.on('notification', () => (pgNotices += 1));
    await listener.query(`LISTEN ${RUN_EVENTS_CHANNEL}`);
    let redisNotices = 0;
    const tap = redis.duplicate();
    await tap.connect();
    await tap.subscribe(`${prefix}:run-events`, () => (redisNotices += 1));

    const runId = await startLongRun({ url: urls[1], token });
    const received: WatchedRunEvent[][] = [[], []];
    const kills: number[] = [];
    let killing: Promise<void> = Promise.resolve();
    const watchers = urls.map(async (url, index) => {
      for await (const event of watchRun({ url, token, runId, retryDelayMs: 100 })) {
        received[index].push(event);
        // Mid-run, three times, every Redis connection of this deployment drops: the two API
        // processes' subscribers and the three processes' publishers.
        const percent = event.progress?.percent ?? 0;
        if (index === 0 && event.type === 'PROGRESS' && percent >= 20 * (kills.length + 1) && kills.length < 3) {
          kills.push(percent);
          killing = killing.then(async () => {
            kills[kills.length - 1] = await killConnections(redis, prefix);
          });
        }
      }
    });
    await Promise.all(watchers);
    await killing;
    expectEveryEventOnceInOrder(received);
    // Each kill found the 2 subscribers and the publishers that had connected by then (≥ 3).
    expect(kills).toHaveLength(3);
    for (const killed of kills) expect(killed).toBeGreaterThanOrEqual(5);
    expect(pgNotices).toBe(0);
    expect(redisNotices).toBeGreaterThan(20);
    await listener.end();
    await tap.close();
    await redis.close();
  }, 180_000);
});
