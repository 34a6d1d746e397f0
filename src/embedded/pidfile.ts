// Bookkeeping for the servers embedded mode starts. They outlive a supervisor that is SIGKILLed, so
// the next start must find them by pidfile, tell them apart from unrelated processes, and stop them.
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The second line records when the process started, so that a later reader can tell it from an
 * unrelated process that was given the same PID after a reboot or a long uptime.
 */
export async function writePidfile({
  file,
  pid,
  exclusive = false,
}: {
  file: string;
  pid: number;
  /** Fail with EEXIST instead of overwriting: two starters racing for the same pidfile. */
  exclusive?: boolean;
}): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, `${pid}\n${readProcessStartTime(pid) ?? ''}\n`, { flag: exclusive ? 'wx' : 'w' });
}

/** The PID on the first line, as both our pidfiles and PostgreSQL's `postmaster.pid` have it. */
export async function readPidfile({ file }: { file: string }): Promise<number | null> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const pid = Number.parseInt(text.split('\n')[0]?.trim() ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * The PID in a pidfile written by writePidfile if that very process is still running, else null.
 * Where start times are unknown (no /proc), liveness alone decides.
 */
export async function readLivePidfile({ file }: { file: string }): Promise<number | null> {
  const pid = await readPidfile({ file });
  if (pid === null || !isProcessAlive(pid)) return null;
  const recorded = (await fs.readFile(file, 'utf8').catch(() => '')).split('\n')[1]?.trim();
  const current = readProcessStartTime(pid);
  return recorded && current && recorded !== current ? null : pid;
}

/** Removes the pidfile unless it names another process by now (a newer run took it over). */
export async function removePidfile({ file, pid }: { file: string; pid?: number }): Promise<void> {
  if (pid !== undefined && (await readPidfile({ file })) !== pid) return;
  await fs.rm(file, { force: true });
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else (postgres runs as the `postgres` user).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A killed orphan whose new parent has not reaped it yet still answers signal 0.
  return processState(pid) !== 'Z';
}

/** Fields of /proc/<pid>/stat after the command name, which may itself contain spaces and ')'. */
function procStatFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

function processState(pid: number): string | null {
  return procStatFields(pid)?.[0] ?? null;
}

/** Clock ticks since boot at which the process started (field 22 of /proc/<pid>/stat). */
export function readProcessStartTime(pid: number): string | null {
  return procStatFields(pid)?.[19] ?? null;
}

/**
 * The process's command line, to tell our orphan from an unrelated process that reused its PID.
 * `null` where /proc does not exist (macOS): callers then trust the pidfile.
 */
export function readProcessCommandLine(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

/** Polls, because the process is usually not our child and cannot be awaited. */
export async function waitForExit({ pid, timeoutMs }: { pid: number; timeoutMs: number }): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(25);
  }
  return true;
}

export type StopOutcome = 'not-running' | 'exited' | 'killed';

/** Sends `signal`, then SIGKILL if the process is still alive after `timeoutMs`. */
export async function stopProcess({
  pid,
  signal = 'SIGTERM',
  timeoutMs = 10_000,
}: {
  pid: number;
  signal?: NodeJS.Signals;
  timeoutMs?: number;
}): Promise<StopOutcome> {
  if (!isProcessAlive(pid)) return 'not-running';
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'not-running';
    throw error;
  }
  if (await waitForExit({ pid, timeoutMs })) return 'exited';
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'exited';
    throw error;
  }
  if (await waitForExit({ pid, timeoutMs: 5_000 })) return 'killed';
  throw new Error(`Process ${pid} is still alive after ${signal} and SIGKILL`);
}

/** Whether a server could listen on host:port right now. */
export async function isPortFree({ port, host = '127.0.0.1' }: { port: number; host?: string }): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(false);
      else reject(error);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
