// `npm start` exactly as the README says, on a fresh DATA_DIR: embedded PostgreSQL, a Temporal
// dev server, the worker and the API in one supervised process. Then a crash (SIGKILL) and a
// restart on the same DATA_DIR, and a clean SIGTERM shutdown that leaves nothing behind.
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../src/embedded/pidfile.ts';
import { graphql } from './gql/index.ts';
import { GraphQLTestClient, waitFor } from './helpers/graphql.ts';
import { npmStart, stopNpmStart } from './helpers/npm-start.ts';
import { freePort } from './helpers/ports.ts';

const StartMontecarlo = graphql(`
  mutation EmbeddedCreateInstance($input: CreateInstanceInput!) {
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

const EmbeddedCreateRun = graphql(`
  mutation EmbeddedCreateRun($input: CreateRunInput!) {
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

const EmbeddedRun = graphql(`
  query EmbeddedRun($id: ID!) {
    run(id: $id) {
      status
      outputs
      createdBy {
        name
      }
    }
  }
`);

const TOKEN = 'rr_embedded-test-token-0123456789';
let dataDir: string;
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (dataDir) {
    // Stop whatever a failed test left behind, then remove the folder.
    for (const pidfile of ['postgres/postmaster.pid', 'temporal/temporal.pid']) {
      const pid = Number((await readFile(path.join(dataDir, pidfile), 'utf8').catch(() => '')).split('\n')[0]);
      if (pid > 0 && isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    await rm(dataDir, { recursive: true, force: true });
  }
});

describe('npm start (embedded mode)', () => {
  it('serves a run on embedded PostgreSQL and Temporal, survives a crash, and shuts down cleanly', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-embedded-'));
    await chmod(dataDir, 0o755); // the embedded PostgreSQL runs as the postgres user
    const env = {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      EMBEDDED_PG_PORT: String(await freePort()),
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      ROUTINES_DEV_TOKEN: TOKEN,
    };

    // 1. First start on an empty DATA_DIR prints the URLs and the dev token it was given.
    const first = await npmStart({ env });
    children.push(first.child);
    expect(first.url).toBe(`http://127.0.0.1:${env.PORT}/graphql`);
    expect(first.output()).toContain(`Dev token           ${TOKEN}`);
    expect(first.output()).toContain(`Console             http://127.0.0.1:${env.PORT}/#token=${TOKEN}`);
    expect(first.output()).toContain(`Temporal UI         http://127.0.0.1:${env.TEMPORAL_UI_PORT}`);

    const client = new GraphQLTestClient({ url: first.url, token: TOKEN });
    const instance = await client.query(StartMontecarlo, { input: { routineName: 'montecarlo', name: 'Pi' } });
    if (instance.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(instance.createInstance.__typename);
    const created = await client.query(EmbeddedCreateRun, {
      input: { instanceId: instance.createInstance.instance.id, methodName: 'estimatePi', inputs: { samples: 100_000, seed: 1 } },
    });
    if (created.createRun.__typename !== 'CreateRunSuccess') throw new Error(created.createRun.__typename);
    const runId = created.createRun.run.id;
    const completed = await waitFor(async () => {
      const { run } = await client.query(EmbeddedRun, { id: runId });
      return run?.status === 'COMPLETED' ? run : null;
    });
    expect(completed.createdBy.name).toBe('dev');
    expect(Math.abs((completed.outputs as { estimate: number }).estimate - Math.PI)).toBeLessThan(0.05);

    // 2. Crash: SIGKILL the service process. Its PostgreSQL and Temporal server outlive it.
    const postgresPid = Number((await readFile(path.join(dataDir, 'postgres/postmaster.pid'), 'utf8')).split('\n')[0]);
    const temporalPid = Number((await readFile(path.join(dataDir, 'temporal/temporal.pid'), 'utf8')).split('\n')[0]);
    process.kill(first.pid, 'SIGKILL');
    await waitFor(async () => first.child.exitCode !== null || first.child.signalCode !== null);
    expect(isProcessAlive(postgresPid)).toBe(true);
    expect(isProcessAlive(temporalPid)).toBe(true);

    // 3. A new `npm start` on the same DATA_DIR deals with the orphans and finds the old data.
    const second = await npmStart({ env });
    children.push(second.child);
    const again = new GraphQLTestClient({ url: second.url, token: TOKEN });
    const { run } = await again.query(EmbeddedRun, { id: runId });
    expect(run?.status).toBe('COMPLETED');

    // 4. SIGTERM stops everything: the process exits 0 and no child is left running.
    const newPostgresPid = Number((await readFile(path.join(dataDir, 'postgres/postmaster.pid'), 'utf8')).split('\n')[0]);
    const newTemporalPid = Number((await readFile(path.join(dataDir, 'temporal/temporal.pid'), 'utf8')).split('\n')[0]);
    expect(await stopNpmStart(second)).toBe(0);
    await waitFor(async () => !isProcessAlive(newPostgresPid) && !isProcessAlive(newTemporalPid), { timeoutMs: 15_000 });
    expect(isProcessAlive(postgresPid)).toBe(false);
    expect(isProcessAlive(temporalPid)).toBe(false);
  }, 240_000);
});
