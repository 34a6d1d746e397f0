// Method processes that serve many runs. Starting a method process (Node, zod, the routines'
// modules) costs a few hundred milliseconds of CPU; paid per run, that was most of what a small
// run cost. The pool keeps a few processes started and pre-loaded per memory size and routine
// folders, and a process that finished an attempt cleanly comes back for the next run, one
// attempt at a time, until a recycle rule retires it — as Celery's max_tasks_per_child does:
//   - it served `maxRunsPerProcess` runs;
//   - its attempt did not complete (failed, cancelled, timed out, out of memory, killed) — the
//     process is never asked to stay then;
//   - the process itself found it cannot be put back as it was (run-isolation.ts: restored
//     environment, working directory and globals, nothing left running, memory growth);
//   - it exited, or the pool closed. A different memory size is a different key: never shared.
// Each run sees its process through a lease (reusable-process.ts) that looks to the sandbox like
// a process of its own, which ends when the run does.
import type { ChildProcess } from 'node:child_process';
import { ProcessLease } from './reusable-process.ts';

export interface MethodProcess {
  child: ChildProcess;
  /** Resolves when the child has loaded the routines and waits for its `start`. */
  ready: Promise<void>;
  /**
   * False once the code the child loads its routines from is out of date (a routine edited while
   * the service runs): the process must not serve another run. Absent: always current.
   */
  isCurrent?: () => boolean;
}

export interface MethodProcessKey {
  heapMb: number;
  extraRoutineDirs: string[];
}

export type SpawnMethodProcess = (key: MethodProcessKey) => MethodProcess;

/** Keys (heap size × routine folders) for which processes are kept; least recently used go. */
const MAX_KEYS = 4;
/** How long a process beyond `size` that came back from a run stays for another. */
const SURPLUS_IDLE_MS = 10_000;
export const DEFAULT_MAX_RUNS_PER_PROCESS = 100;

interface PooledProcess {
  process: MethodProcess;
  runsServed: number;
  surplusTimer?: NodeJS.Timeout;
}

interface KeyEntry {
  key: MethodProcessKey;
  /** Ready or starting, most recently returned last. */
  idle: PooledProcess[];
  leased: number;
}

export class MethodProcessPool {
  private readonly entries = new Map<string, KeyEntry>();
  private closed = false;
  private readonly maxRunsPerProcess: number;

  constructor(
    private readonly options: {
      /** Processes kept per key (0: no pool, a process per attempt). */
      size: number;
      spawn: SpawnMethodProcess;
      /** Runs one process serves before it is replaced (1: a process per run, pre-started). */
      maxRunsPerProcess?: number;
    },
  ) {
    this.maxRunsPerProcess = Math.max(1, options.maxRunsPerProcess ?? DEFAULT_MAX_RUNS_PER_PROCESS);
  }

  /**
   * A process for one attempt of `key`: one that came back from a run, else a warm one, else a
   * new one (which comes back too); null when there is no pool.
   */
  take(key: MethodProcessKey): MethodProcess | null {
    if (this.closed || this.options.size === 0) return null;
    const entry = this.entry(key);
    let taken: PooledProcess | null = null;
    while (!taken && entry.idle.length > 0) {
      const candidate = entry.idle.pop()!;
      clearTimeout(candidate.surplusTimer);
      if (!isAlive(candidate.process.child)) continue;
      // Each run re-imports its routine, but from the files the process was started on.
      if (candidate.process.isCurrent?.() === false) this.retire(candidate);
      else taken = candidate;
    }
    taken ??= this.start(entry);
    taken.runsServed++;
    entry.leased++;
    this.refill(entry);
    this.evict();
    const lease = new ProcessLease(taken.process.child, (reusable) => this.giveBack(entry, taken, reusable));
    return { child: lease.asChildProcess(), ready: taken.process.ready };
  }

  /** Starts processes for `key` ahead of its first run. */
  warm(key: MethodProcessKey): void {
    if (this.closed) return;
    this.refill(this.entry(key));
    this.evict();
  }

  get idleCount(): number {
    let count = 0;
    for (const entry of this.entries.values()) count += entry.idle.length;
    return count;
  }

  close(): void {
    this.closed = true;
    for (const entry of this.entries.values()) for (const pooled of entry.idle) this.retire(pooled);
    this.entries.clear();
  }

  /** Called by the lease when its run ended; true when the process stays for another run. */
  private giveBack(entry: KeyEntry, pooled: PooledProcess, reusable: boolean): boolean {
    entry.leased--;
    const keep =
      reusable &&
      !this.closed &&
      this.entries.get(keyName(entry.key)) === entry &&
      pooled.runsServed < this.maxRunsPerProcess &&
      isAlive(pooled.process.child);
    if (!keep) {
      this.refill(entry);
      return false;
    }
    pooled.process = { ...pooled.process, ready: Promise.resolve() };
    entry.idle.push(pooled);
    if (entry.idle.length > this.options.size) {
      pooled.surplusTimer = setTimeout(() => {
        const index = entry.idle.indexOf(pooled);
        if (index < 0) return;
        entry.idle.splice(index, 1);
        this.retire(pooled);
      }, SURPLUS_IDLE_MS).unref();
    }
    return true;
  }

  private entry(key: MethodProcessKey): KeyEntry {
    const name = keyName(key);
    const entry = this.entries.get(name) ?? { key, idle: [], leased: 0 };
    // Most recently used last, so the first entry is the one to drop.
    this.entries.delete(name);
    this.entries.set(name, entry);
    return entry;
  }

  /** Keeps `size` processes per key, counting those serving a run. */
  private refill(entry: KeyEntry): void {
    if (this.closed || this.entries.get(keyName(entry.key)) !== entry) return;
    while (entry.idle.length + entry.leased < this.options.size) entry.idle.unshift(this.start(entry));
  }

  private start(entry: KeyEntry): PooledProcess {
    const process = this.options.spawn(entry.key);
    process.ready.catch(() => {});
    const pooled: PooledProcess = { process, runsServed: 0 };
    process.child.once('exit', () => {
      clearTimeout(pooled.surplusTimer);
      const index = entry.idle.indexOf(pooled);
      if (index >= 0) entry.idle.splice(index, 1);
    });
    return pooled;
  }

  private retire(pooled: PooledProcess): void {
    clearTimeout(pooled.surplusTimer);
    pooled.process.child.kill('SIGKILL');
  }

  private evict(): void {
    while (this.entries.size > MAX_KEYS) {
      const [oldest] = this.entries.keys();
      for (const pooled of this.entries.get(oldest)!.idle) this.retire(pooled);
      this.entries.delete(oldest);
    }
  }
}

function keyName({ heapMb, extraRoutineDirs }: MethodProcessKey): string {
  return `${heapMb}\0${extraRoutineDirs.join('\0')}`;
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.connected;
}
