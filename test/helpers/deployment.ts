// The production form as a real deployment on this machine, for the scale-out test and bench:
// N API processes and M worker processes, compiled and run by plain node as `npm run api:prod` /
// `worker:prod` do, on one PostgreSQL database, one Temporal server and Redis for run change
// notices.
//
// The build goes into a folder of its own beside dist/ (dist-<name>-<random>/), not dist/ itself:
// `npm run build` (test/compiled-form.test.ts, the benches) clears dist/ first, which would pull
// the files from under this deployment's running processes, and two builds into one folder at once
// would mix. A sibling of dist/ keeps src/paths.ts working (the project root is two levels up from
// <build>/src/paths.js). The build also compiles the fixture routine the deployment runs.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createToken } from '../../src/auth/tokens.ts';
import { createDb } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import { freePort } from './ports.ts';
import { startServiceProcess, type ServiceProcess } from './processes.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The fixture routine of the scale-out runs (test/fixtures/scale-out-routines/scale-out.ts). */
const FIXTURE_DIR = 'test/fixtures/scale-out-routines';

export interface CompiledBuild {
  /** The build folder, relative to the project root (a sibling of dist/). */
  distDir: string;
  remove(): Promise<void>;
}

/** `tsc -p tsconfig.build.json` into a fresh sibling of dist/, with the fixture routine. */
export async function buildCompiledForm(name: string): Promise<CompiledBuild> {
  const distDir = `dist-${name}-${randomBytes(3).toString('hex')}`;
  const outDir = path.join(PROJECT_ROOT, distDir);
  // The config sits in the build folder, so tsc finds node_modules/@types from there as from the root.
  await mkdir(outDir);
  const config = path.join(outDir, 'tsconfig.json');
  await writeFile(
    config,
    JSON.stringify({
      extends: '../tsconfig.build.json',
      compilerOptions: { outDir: '.', rootDir: '..' },
      include: ['src', 'schema', 'workflows', FIXTURE_DIR].map((dir) => `../${dir}`),
    }),
  );
  try {
    await promisify(execFile)(path.join(PROJECT_ROOT, 'node_modules/.bin/tsc'), ['-p', config], { cwd: PROJECT_ROOT });
  } catch (error) {
    await rm(outDir, { recursive: true, force: true });
    // tsc reports its errors on stdout.
    throw new Error(`The build failed: ${(error as { stdout?: string }).stdout ?? (error as Error).message}`, { cause: error });
  }
  return { distDir, remove: () => rm(path.join(PROJECT_ROOT, distDir), { recursive: true, force: true }) };
}

export interface DeploymentProcess {
  /** api-1, api-2, worker-1, … */
  name: string;
  role: 'api' | 'worker';
  process: ServiceProcess;
  /** For APIs: http://127.0.0.1:<port>/graphql. */
  url?: string;
  /** Killed with SIGKILL or stopped by the caller. */
  gone: boolean;
}

export interface Deployment {
  token: string;
  apis: DeploymentProcess[];
  workers: DeploymentProcess[];
  /** The settings every process of the deployment shares. */
  env: Record<string, string>;
  startWorker(): Promise<DeploymentProcess>;
  /** kill -9, as a crashed host would. */
  kill(member: DeploymentProcess): Promise<void>;
  /** SIGTERM: a graceful stop (a worker finishes or hands back what it runs). */
  stop(member: DeploymentProcess): Promise<void>;
  /** Resident memory of each live process, in MB (from /proc). */
  rssMb(): Array<{ name: string; rssMb: number }>;
  /**
   * CPU seconds each live process has used so far, its exited children (a worker's method
   * processes) included (from /proc: utime + stime + cutime + cstime).
   */
  cpuSeconds(): Map<string, number>;
  close(): Promise<void>;
}

export async function startDeployment({
  build,
  databaseUrl,
  temporalAddress,
  redisUrl,
  apis,
  workers,
  settings = {},
}: {
  build: CompiledBuild;
  databaseUrl: string;
  temporalAddress: string;
  redisUrl: string;
  apis: number;
  workers: number;
  /** More settings for every process (WORKER_MAX_CONCURRENT_RUNS, …). */
  settings?: Record<string, string>;
}): Promise<Deployment> {
  // Migrated once here rather than by five processes queueing on the migration lock.
  await migrate({ url: databaseUrl });
  const db = createDb({ url: databaseUrl });
  const { token } = await createToken({ db, userName: 'scale-out' });
  await db.$disconnect();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-scale-out-'));
  await chmod(dataDir, 0o755);
  const suffix = randomBytes(4).toString('hex');
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: `scale-out-${suffix}`,
    REDIS_URL: redisUrl,
    REDIS_CHANNEL_PREFIX: `rr-scale-out-${suffix}`,
    // One host: the processes share the artifact storage, as they would share a volume.
    DATA_DIR: dataDir,
    ARTIFACT_LINK_SECRET: randomBytes(16).toString('hex'),
    ROUTINES_EXTRA_DIRS: path.join(PROJECT_ROOT, build.distDir, FIXTURE_DIR),
    ...settings,
  };
  const members: DeploymentProcess[] = [];
  let apiCount = 0;
  let workerCount = 0;
  const start = async (role: 'api' | 'worker'): Promise<DeploymentProcess> => {
    // Named before anything is awaited, so processes started together are numbered in call order.
    const name = role === 'api' ? `api-${++apiCount}` : `worker-${++workerCount}`;
    const port = role === 'api' ? await freePort() : null;
    const process = await startServiceProcess({
      role,
      env: port ? { ...env, PORT: String(port) } : env,
      compiled: true,
      distDir: build.distDir,
      // Five processes loading at once on a busy 2-core machine: each may take a while.
      timeoutMs: 90_000,
    });
    const member: DeploymentProcess = { name, role, process, url: port ? `http://127.0.0.1:${port}/graphql` : undefined, gone: false };
    members.push(member);
    return member;
  };
  // Started together: on 2 cores their loading overlaps their waits (database, Temporal, the bundle).
  const started = await Promise.allSettled([
    ...Array.from({ length: apis }, () => start('api')),
    ...Array.from({ length: workers }, () => start('worker')),
  ]);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.all(members.map((m) => m.process.kill()));
    await rm(dataDir, { recursive: true, force: true });
    throw failed.reason;
  }
  const apiMembers = members.filter((m) => m.role === 'api').sort(byName);
  const workerMembers = members.filter((m) => m.role === 'worker').sort(byName);
  return {
    token,
    apis: apiMembers,
    workers: workerMembers,
    env,
    async startWorker() {
      const member = await start('worker');
      workerMembers.push(member);
      return member;
    },
    async kill(member) {
      member.gone = true;
      await member.process.kill();
    },
    async stop(member) {
      member.gone = true;
      await member.process.stop();
    },
    rssMb() {
      return members
        .filter((m) => !m.gone && m.process.child.exitCode === null)
        .map((m) => ({ name: m.name, rssMb: residentMb(m.process.child.pid!) }));
    },
    cpuSeconds() {
      return new Map(
        members
          .filter((m) => !m.gone && m.process.child.exitCode === null)
          .map((m) => [m.name, cpuSecondsOf(m.process.child.pid!)] as const),
      );
    },
    async close() {
      await Promise.all(members.map((m) => m.process.kill()));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function residentMb(pid: number): number {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
    return Math.round(kb / 1024);
  } catch {
    return NaN; // exited meanwhile
  }
}

function cpuSecondsOf(pid: number): number {
  try {
    // Fields after the command name: utime, stime, cutime, cstime are the 12th–15th, in clock ticks.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const ticks = fields.slice(11, 15).reduce((sum, field) => sum + Number(field), 0);
    return ticks / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** USER_HZ: 100 on Linux for every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

function byName(a: DeploymentProcess, b: DeploymentProcess): number {
  return a.name.localeCompare(b.name, 'en', { numeric: true });
}
