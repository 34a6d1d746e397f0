// Events cross processes: a worker process executes the run, two API processes serve
// subscribers, and every event reaches the subscribers of both. Restarting one API process
// mid-run costs its subscriber nothing: the watchRun recipe resumes from its last sequence.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { watchRun, type WatchedRunEvent } from '../src/client/watch-run.ts';
import { migrate } from '../src/db/migrate.ts';
import { graphql } from './gql/index.ts';
import { createDb } from '../src/db/client.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { GraphQLTestClient } from './helpers/graphql.ts';
import { freePort } from './helpers/ports.ts';
import { startServiceProcess, type ServiceProcess } from './helpers/processes.ts';

const XCreateInstance = graphql(`
  mutation XCreateInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) { __typename ... on CreateInstanceSuccess { instance { id } } ... on Error { message } }
  }
`);
const XCreateRun = graphql(`
  mutation XCreateRun($input: CreateRunInput!) {
    createRun(input: $input) { __typename ... on CreateRunSuccess { run { id } } ... on Error { message } }
  }
`);

const processes: ServiceProcess[] = [];
let database: TestDatabase | null = null;
let dataDir = '';

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  await database?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('events across processes', () => {
  it('a worker process and two API processes: every event reaches both, and an API restart loses nothing', async () => {
    database = await createTestDatabase();
    await migrate({ url: database.url });
    const db = createDb({ url: database.url });
    const { token } = await createToken({ db, userName: 'dashboard' });
    await db.$disconnect();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-xproc-'));
    await chmod(dataDir, 0o755);
    const env = {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `xproc-${randomBytes(4).toString('hex')}`,
      DATA_DIR: dataDir,
    };
    const ports = [await freePort(), await freePort()];
    const [worker, api1, api2] = await Promise.all([
      startServiceProcess({ role: 'worker', env }),
      startServiceProcess({ role: 'api', env: { ...env, PORT: String(ports[0]) } }),
      startServiceProcess({ role: 'api', env: { ...env, PORT: String(ports[1]) } }),
    ]);
    processes.push(worker, api1, api2);
    const urls = ports.map((port) => `http://127.0.0.1:${port}/graphql`);

    const client = new GraphQLTestClient({ url: urls[1], token });
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
    const runId = created.createRun.run.id;

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

    // Both saw every event exactly once, in order, ending with COMPLETED.
    const sequences = received.map((events) => events.map((event) => event.sequence));
    expect(sequences[0]).toEqual(sequences[0].map((_, index) => index + 1));
    expect(sequences[1]).toEqual(sequences[0]);
    expect(received[0].at(-1)).toMatchObject({ type: 'STATUS_CHANGED', toStatus: 'COMPLETED' });
    expect(received[0].filter((event) => event.type === 'PROGRESS').length).toBeGreaterThan(20);
    // The first dashboard did lose its socket, and resumed after what it had.
    expect(reconnects.length).toBeGreaterThanOrEqual(1);
    expect(reconnects[0]).toBeGreaterThan(0);
  }, 180_000);
});
