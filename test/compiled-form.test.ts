// The compiled form (`npm run build` → dist/, run by plain node as `npm run api:prod` and
// `npm run worker:prod`) is a complete service: the API answers queries and subscriptions, and
// the worker bundles its workflows and runs methods from the compiled routines.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { watchRun, type WatchedRunEvent } from '../src/client/watch-run.ts';
import { createDb } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { graphql } from './gql/index.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { GraphQLTestClient } from './helpers/graphql.ts';
import { freePort } from './helpers/ports.ts';
import { startServiceProcess, type ServiceProcess } from './helpers/processes.ts';

const CfCreateInstance = graphql(`
  mutation CfCreateInstance($input: CreateInstanceInput!) {
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
const CfCreateRun = graphql(`
  mutation CfCreateRun($input: CreateRunInput!) {
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
const CfRun = graphql(`
  query CfRun($id: ID!) {
    run(id: $id) {
      status
      outputs
      artifacts {
        name
      }
    }
  }
`);
const CfRoutines = graphql(`
  query CfRoutines {
    routines {
      name
    }
  }
`);

const processes: ServiceProcess[] = [];
let database: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  // Built here, so the test checks the sources as they are now, not a stale dist/.
  await promisify(execFile)('npm', ['run', 'build'], { cwd: path.resolve(import.meta.dirname, '..') });
  database = await createTestDatabase();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-compiled-'));
  await chmod(dataDir, 0o755);
}, 240_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  await database?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the compiled form', () => {
  it('api:prod and worker:prod run a routine end to end without tsx', async () => {
    expect(existsSync(path.resolve(import.meta.dirname, '../dist/src/main.js'))).toBe(true);
    const port = await freePort();
    const env = {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `compiled-${randomBytes(4).toString('hex')}`,
      DATA_DIR: dataDir,
    };
    // The API migrates an empty database itself (prisma/migrations is found from dist/).
    const api = await startServiceProcess({ role: 'api', env: { ...env, PORT: String(port) }, compiled: true });
    processes.push(api);
    const worker = await startServiceProcess({ role: 'worker', env, compiled: true });
    processes.push(worker);
    for (const child of [api, worker]) {
      const commandLine = readFileSync(`/proc/${child.child.pid}/cmdline`, 'utf8').split('\0');
      expect(commandLine).toContain('dist/src/main.js');
      expect(commandLine.join(' ')).not.toContain('tsx');
    }

    const db = createDb({ url: database.url });
    await migrate({ url: database.url }); // already applied by the API: a no-op
    const { token } = await createToken({ db, userName: 'compiled' });
    await db.$disconnect();
    const url = `http://127.0.0.1:${port}/graphql`;
    const client = new GraphQLTestClient({ url, token });

    // The routines were discovered from dist/src/routines/library/*.js.
    const { routines } = await client.query(CfRoutines);
    expect(routines.map((routine) => routine.name)).toEqual(expect.arrayContaining(['kmeans', 'montecarlo', 'regression']));
    // The web console, built by `npm run build` into dist/console/, is found from dist/src too.
    const consolePage = await fetch(`http://127.0.0.1:${port}/`);
    expect(consolePage.status).toBe(200);
    expect(await consolePage.text()).toContain('<div id="app">');

    const instance = await client.query(CfCreateInstance, { input: { routineName: 'montecarlo', name: 'Pi' } });
    if (instance.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(instance));
    const created = await client.query(CfCreateRun, {
      input: {
        instanceId: instance.createInstance.instance.id,
        methodName: 'estimatePi',
        inputs: { samples: 200_000, batches: 4, seed: 3 },
      },
    });
    if (created.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(created));
    const runId = created.createRun.run.id;

    // Live over graphql-ws from the compiled API, to the end of the run.
    const events: WatchedRunEvent[] = [];
    for await (const event of watchRun({ url, token, runId })) events.push(event);
    expect(events.at(-1)).toMatchObject({ type: 'STATUS_CHANGED', toStatus: 'COMPLETED' });

    const { run } = await client.query(CfRun, { id: runId });
    expect(run?.status).toBe('COMPLETED');
    expect((run?.outputs as { estimate: number }).estimate).toBeGreaterThan(3);
    expect((run?.outputs as { estimate: number }).estimate).toBeLessThan(3.3);
    expect(run?.artifacts.map((artifact) => artifact.name)).toContain('estimate');

    // The worker's method processes (the warm pool, refilled after the run) are plain node too.
    const methodProcesses = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .flatMap((pid) => {
        try {
          const parent = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
          return parent === worker.child.pid ? [readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')] : [];
        } catch {
          return []; // exited meanwhile
        }
      })
      .filter((commandLine) => commandLine.includes('method-process'));
    expect(methodProcesses.length).toBeGreaterThan(0);
    for (const commandLine of methodProcesses) {
      expect(commandLine).toContain('dist/src/execution/method-process.js');
      expect(commandLine).not.toContain('tsx');
    }
  }, 180_000);
});
