// Issue 14, item 1, embedded mode: `npm start`'s own PostgreSQL is killed (-9) while runs are in
// the middle of their method. The supervisor must start it again, the runs must wait out the
// outage instead of burning attempts, and nothing they reported may be lost or recorded twice.
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../src/embedded/pidfile.ts';
import { GraphQLTestClient, waitFor } from './helpers/graphql.ts';
import { npmStart, stopNpmStart, type NpmStart } from './helpers/npm-start.ts';
import { expectRunsIntact, FIXTURE_ROUTINES, outageLines, runStatus, startSlowRuns, waitForProgress } from './helpers/outage.ts';
import { freePort } from './helpers/ports.ts';

const TOKEN = 'rr_outage-embedded-token-0123456789';
let dataDir: string | undefined;
const children: ChildProcess[] = [];

const postmasterPid = async (dir: string) => Number((await readFile(path.join(dir, 'postgres/postmaster.pid'), 'utf8')).split('\n')[0]);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (dataDir) {
    for (const pidfile of ['postgres/postmaster.pid', 'temporal/temporal.pid']) {
      const pid = Number((await readFile(path.join(dataDir, pidfile), 'utf8').catch(() => '')).split('\n')[0]);
      if (pid > 0 && isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    await rm(dataDir, { recursive: true, force: true });
  }
});

describe('embedded PostgreSQL killed mid-run', () => {
  it('is restarted by the supervisor, and every run completes in its first attempt with nothing lost or doubled', async () => {
    const started = Date.now();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-outage-'));
    await chmod(dataDir, 0o755); // the embedded PostgreSQL runs as the postgres user
    const pgPort = await freePort();
    const env = {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      EMBEDDED_PG_PORT: String(pgPort),
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      ROUTINES_DEV_TOKEN: TOKEN,
      ROUTINES_EXTRA_DIRS: FIXTURE_ROUTINES,
      LOG_LEVEL: 'info',
    };
    const service: NpmStart = await npmStart({ env });
    children.push(service.child);
    const databaseUrl = `postgresql://postgres:postgres@127.0.0.1:${pgPort}/routines`;
    const client = new GraphQLTestClient({ url: service.url, token: TOKEN });

    const runIds = await startSlowRuns(client, 3, 600);
    await waitForProgress(databaseUrl, runIds, 20);

    const killedPid = await postmasterPid(dataDir);
    const outageAt = Date.now();
    process.kill(killedPid, 'SIGKILL');
    await waitFor(async () => !isProcessAlive(killedPid), { what: 'the postmaster to die' });

    // The supervisor notices and starts a new postmaster; the API answers again without a restart.
    await waitFor(async () => /postgres is back after/.test(service.output()), { timeoutMs: 60_000, what: 'postgres to be back' });
    const outageMs = Date.now() - outageAt;
    expect(await postmasterPid(dataDir)).not.toBe(killedPid);
    await waitFor(async () => (await runStatus(client, runIds[0]).catch(() => null)) !== null, { what: 'GraphQL to answer again' });

    for (const id of runIds) {
      await waitFor(async () => (await runStatus(client, id))?.status === 'COMPLETED', {
        timeoutMs: 60_000,
        what: `run ${id} to complete`,
      });
    }
    await expectRunsIntact(databaseUrl, runIds);

    const lines = outageLines(service.output());
    console.log(`outage of ${outageMs} ms; test took ${Date.now() - started} ms; log lines about it:\n  ${lines.join('\n  ')}`);
    expect(lines.filter((line) => /postgres exited unexpectedly/.test(line))).toHaveLength(1);
    expect(lines.filter((line) => /postgres is back after/.test(line))).toHaveLength(1);
    // The runs did hit the outage (they waited to record), and said so once, not per write.
    expect(lines.filter((line) => /run recording: database unreachable/.test(line) && !/still failing|recovered/.test(line))).toHaveLength(
      1,
    );
    expect(lines.length).toBeLessThan(40);

    expect(await stopNpmStart(service)).toBe(0);
  }, 150_000);
});
