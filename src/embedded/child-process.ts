// Supervision of the servers embedded mode starts (PostgreSQL, the Temporal dev server), the same
// for each: stop what an earlier supervisor left running, refuse ports another program holds,
// start the server, stop it when this process exits, wait until it serves (and stop it if it never
// does), and stop it once, with a signal and a timeout. Each server's own file says how it starts,
// how it is recognised, and when it is ready.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import { isPortFree, isProcessAlive, readProcessCommandLine, removePidfile, stopProcess, type StopOutcome } from './pidfile.ts';
import { shutdownHasBegun } from '../shutdown.ts';

export type SupervisedServer = { readonly pid: number; stop(): Promise<void> };

/** How often a running server is checked for; it is usually not our child, so it cannot be awaited. */
const WATCH_INTERVAL_MS = 500;
/** Restarts wait 1 s, 2 s, 4 s… up to this between tries. */
const RESTART_MAX_DELAY_MS = 30_000;

export async function startSupervisedServer<Launched extends { pid: number; exitStatus?: () => string | null }>({
  description,
  name,
  log,
  fail,
  stopOrphan,
  ports,
  otherwise,
  launch,
  stopSignal,
  stopTimeoutMs,
  pidfile,
  onStopped,
  untilReady,
}: {
  /** As the messages name it: 'embedded PostgreSQL', 'the Temporal dev server'. */
  description: string;
  /** As log lines start: 'postgres', 'temporal'. */
  name: string;
  log: (message: string) => void;
  /** The server's own error type, for the messages it throws. */
  fail: (message: string) => Error;
  /** Stops (or forgets) a server an earlier supervisor left behind; it holds the port and the data. */
  stopOrphan: () => Promise<void>;
  /** The ports the server listens on, each with the setting that chooses it. */
  ports: Array<{ port: number; setting: string }>;
  /** What to do instead of a taken port besides choosing another, e.g. 'DATABASE_URL to use an existing PostgreSQL'. */
  otherwise: string;
  /** Starts the server and answers with its PID once it has one (and, for our own child, how it exited). */
  launch: () => Promise<Launched>;
  stopSignal: NodeJS.Signals;
  stopTimeoutMs: number;
  /** Our pidfile for the server, removed once it stopped (unless a newer run took it over). */
  pidfile?: string;
  onStopped: (outcome: StopOutcome, elapsedMs: number) => void;
  /** Resolves once the server serves; a server that never does is stopped and this throws. */
  untilReady: (launched: Launched) => Promise<void>;
}): Promise<SupervisedServer> {
  await stopOrphan();
  for (const { port, setting } of ports) {
    if (!(await isPortFree({ port }))) {
      throw fail(
        `Port ${port} is already in use by another program, so ${description} cannot listen on it. ` +
          `Set ${setting} to a free port, or ${otherwise}.`,
      );
    }
  }

  let current = await launch();
  // A supervisor that exits without calling stop() (a crash, a plain process.exit) should not leave
  // the server behind; SIGKILL still does, and the next start handles that orphan.
  const stopOnExit = () => {
    try {
      process.kill(current.pid, stopSignal);
    } catch {
      // already gone
    }
  };
  process.on('exit', stopOnExit);

  let stopping: Promise<void> | undefined;
  let watcher: NodeJS.Timeout | null = null;
  let restarting: Promise<void> | null = null;
  // Cuts a restart's backoff short: a shutdown must not wait up to RESTART_MAX_DELAY_MS for it.
  const stopRequested = new AbortController();
  const stop = () => {
    stopping ??= (async () => {
      stopRequested.abort();
      if (watcher) clearInterval(watcher);
      // A restart under way finishes first, so the server it started is the one stopped here.
      await restarting;
      const started = Date.now();
      process.off('exit', stopOnExit);
      const { pid } = current;
      const outcome = await stopProcess({ pid, signal: stopSignal, timeoutMs: stopTimeoutMs });
      if (pidfile) await removePidfile({ file: pidfile, pid });
      onStopped(outcome, Date.now() - started);
    })();
    return stopping;
  };

  try {
    await untilReady(current);
  } catch (error) {
    await stop();
    throw error;
  }

  // A server that dies under a running service (OOM killer, kill -9, a crash) is started again,
  // with backoff, rather than leaving the service to fail every request until someone restarts it.
  const restart = async () => {
    const down = Date.now();
    const how = current.exitStatus?.() ?? `PID ${current.pid}`;
    log(`${name} exited unexpectedly (${how}); restarting`);
    for (let tries = 0; !stopping; tries++) {
      await sleep(Math.min(RESTART_MAX_DELAY_MS, 1000 * 2 ** tries), stopRequested.signal);
      if (stopping || shutdownHasBegun()) return;
      try {
        // What the dead server left (a stale pidfile, a surviving child) would refuse the new one.
        await stopOrphan();
        const launched = await launch();
        current = launched;
        await untilReady(launched);
        log(`${name} is back after ${((Date.now() - down) / 1000).toFixed(1)} s (PID ${launched.pid})`);
        return;
      } catch (error) {
        // Only the first failure is worth a line; the server's own log has the rest.
        if (tries === 0) log(`${name}: restart failed, trying again with backoff: ${firstLine(error)}`);
      }
    }
  };
  watcher = setInterval(() => {
    if (stopping || restarting || shutdownHasBegun() || isProcessAlive(current.pid)) return;
    restarting = restart().finally(() => (restarting = null));
  }, WATCH_INTERVAL_MS);
  watcher.unref();

  return {
    get pid() {
      return current.pid;
    },
    stop,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms).unref();
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

/**
 * Stops a server left running by a supervisor that was SIGKILLed, if `pid` still runs it: its
 * command line has `argument` (or cannot be read). A PID reused by an unrelated process is not ours.
 */
export async function stopOrphanServer({
  pid,
  argument,
  signal,
  timeoutMs,
}: {
  pid: number;
  argument: string;
  signal: NodeJS.Signals;
  timeoutMs: number;
}): Promise<{ outcome: StopOutcome; elapsedMs: number } | 'not-ours'> {
  const commandLine = readProcessCommandLine(pid);
  if (!isProcessAlive(pid) || (commandLine !== null && !commandLine.includes(argument))) return 'not-ours';
  const started = Date.now();
  const outcome = await stopProcess({ pid, signal, timeoutMs });
  return { outcome, elapsedMs: Date.now() - started };
}

/**
 * Spawns `command` in its own process group with its output appended to `logFile`, not a pipe: a
 * pipe to a dead supervisor would kill the server with SIGPIPE on its next log line, and the file
 * survives for debugging either way. Its own process group keeps a terminal's Ctrl-C from reaching
 * it directly, so the supervisor decides the shutdown order.
 */
export async function spawnLoggingToFile({
  command,
  args,
  logFile,
  fail,
}: {
  command: string;
  args: string[];
  logFile: string;
  fail: (message: string) => Error;
}): Promise<{ pid: number; exitStatus: () => string | null }> {
  await rotateLog({ file: logFile });
  const logFd = openSync(logFile, 'a');
  const child = (() => {
    try {
      return spawn(command, args, { stdio: ['ignore', logFd, logFd], detached: true });
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
  if (pid === undefined) throw fail(`Could not start ${command}: ${(await spawnError).message}`);
  return { pid, exitStatus: () => exited };
}

/** The end of a server's log file, for an error saying why it did not start. */
export function tailOfLog(file: string): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    if (!text) return `(no output in ${file})`;
    return `Last lines of ${file}:\n${text.split('\n').slice(-20).join('\n')}`;
  } catch {
    return `(no output in ${file})`;
  }
}

/** The last lines a server printed through a callback, for an error saying why it did not start. */
export class RecentOutput {
  private readonly lines: string[] = [];

  add(message: string): void {
    this.lines.push(...message.trimEnd().split('\n'));
    this.lines.splice(0, Math.max(0, this.lines.length - 40));
  }

  text(): string {
    return this.lines.join('\n');
  }
}

async function rotateLog({ file }: { file: string }): Promise<void> {
  const size = await fs.stat(file).then(
    (stat) => stat.size,
    () => 0,
  );
  // Each start appends, so an earlier run's last words stay readable; keep one older file at most.
  if (size > 10 * 1024 * 1024) await fs.rename(file, `${file}.1`);
}
