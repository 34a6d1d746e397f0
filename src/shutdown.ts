// Shutdown on SIGINT/SIGTERM, bounded in time: the process stops its parts in order, and when they
// have not all stopped within SHUTDOWN_TIMEOUT_MS (a database or Temporal that no longer answers,
// a run that does not let go) it kills the servers it started, names what did not stop and exits 1.
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A copy of the first SIGINT arriving this soon after it is not a second Ctrl-C: at a terminal,
 * Ctrl-C reaches every process of the foreground group, and `npm start`'s tsx relays the one it
 * got to this process as well, milliseconds after the terminal's own.
 */
export const REPEATED_SIGNAL_WINDOW_MS = 1000;

/** The parts of a process, stopped in the reverse order of their start. */
export class ShutdownSequence {
  private readonly steps: Array<{ name: string; stop: () => Promise<void> }> = [];
  private readonly unfinished = new Set<string>();

  add(name: string, stop: () => Promise<void>): void {
    this.steps.push({ name, stop });
  }

  /** Stops every part, the last started first; one that fails does not keep the others running. */
  async stopAll(log: (message: string) => void): Promise<void> {
    for (const step of this.steps) this.unfinished.add(step.name);
    for (const step of [...this.steps].reverse()) {
      await step.stop().catch((error: unknown) => log(`shutdown: ${step.name}: ${error instanceof Error ? error.message : String(error)}`));
      this.unfinished.delete(step.name);
    }
    this.steps.length = 0;
  }

  /** The parts whose stop has not returned yet. */
  pending(): string[] {
    return [...this.unfinished];
  }
}

/**
 * On SIGINT/SIGTERM, stop once and exit 0. The shutdown is bounded by `timeoutMs`: past it,
 * `kill` ends the servers this process started (it returns what it killed), and the process exits 1
 * naming `pending()`. Repeated SIGTERMs are ignored — systemd, container runtimes and a `kill` of
 * the process group send one to every process, and tsx relays its own copy, possibly late on a
 * busy machine — while a second SIGINT (a person pressing Ctrl-C again) takes the deadline's path
 * at once. Returns a function that removes the handlers.
 */
let shutdownBegan = false;

/**
 * Whether this process is stopping on a signal. Parts that repair themselves (the embedded
 * supervisor restarting a server that died) stand down: a signal to the process group reaches the
 * embedded PostgreSQL too, and its exit then is the shutdown, not a crash.
 */
export function shutdownHasBegun(): boolean {
  return shutdownBegan;
}

export function installShutdownHandlers({
  stop,
  log,
  timeoutMs,
  pending = () => [],
  kill = () => [],
}: {
  stop: () => Promise<void>;
  log: (message: string) => void;
  timeoutMs: number;
  pending?: () => string[];
  kill?: () => string[];
}): () => void {
  let shuttingDownSince: number | null = null;
  const giveUp = (why: string) => {
    const unfinished = pending();
    const killed = kill();
    log(
      `${why}: exiting without waiting for ${unfinished.length > 0 ? unfinished.join(', ') : 'shutdown'}` +
        (killed.length > 0 ? `; killed ${killed.join(', ')}` : ''),
    );
    process.exit(1);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDownSince !== null) {
      if (signal === 'SIGTERM' || Date.now() - shuttingDownSince < REPEATED_SIGNAL_WINDOW_MS) return;
      return giveUp(`${signal} again`);
    }
    shuttingDownSince = Date.now();
    shutdownBegan = true;
    log(`${signal} received: shutting down within ${timeoutMs} ms${signal === 'SIGINT' ? ' (press Ctrl-C again to force)' : ''}`);
    setTimeout(() => giveUp(`shutdown did not finish within ${timeoutMs} ms`), timeoutMs);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}

/**
 * Kills the embedded Temporal dev server and PostgreSQL under `dataDir` by their pidfiles, for a
 * shutdown past its deadline: synchronous, because the process exits right after. Returns what it
 * killed, e.g. `temporal dev server (PID 123)`.
 */
export function killEmbeddedServers(dataDir: string): string[] {
  const killed: string[] = [];
  // The dev server runs in a process group of its own (started detached): the group goes with it.
  const temporal = pidIn(path.join(dataDir, 'temporal', 'temporal.pid'));
  if (temporal !== null && (signal(-temporal, 'SIGKILL') || signal(temporal, 'SIGKILL')))
    killed.push(`temporal dev server (PID ${temporal})`);
  // SIGQUIT is PostgreSQL's immediate shutdown: the postmaster takes its backends with it (and the
  // next start recovers from the WAL); a SIGKILL would leave them behind.
  const postgres = pidIn(path.join(dataDir, 'postgres', 'postmaster.pid'));
  if (postgres !== null && signal(postgres, 'SIGQUIT')) killed.push(`postgres (PID ${postgres})`);
  return killed;
}

function pidIn(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0]?.trim() ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}
