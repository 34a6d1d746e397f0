// Warm method processes. Starting a method's child process (Node, tsx, zod and the routines'
// modules) costs about half a second; a pool keeps a few started and pre-loaded, so an attempt
// only pays for the IPC. Each process still runs exactly one method and exits: the pool hands it
// out once and starts a replacement in the background.
import type { ChildProcess } from 'node:child_process';

export interface MethodProcess {
  child: ChildProcess;
  /** Resolves when the child has loaded the routines and waits for its `start`. */
  ready: Promise<void>;
}

export interface MethodProcessKey {
  heapMb: number;
  extraRoutineDirs: string[];
}

export type SpawnMethodProcess = (key: MethodProcessKey) => MethodProcess;

/** Keys (heap size × routine folders) for which warm processes are kept; least recently used go. */
const MAX_KEYS = 4;

export class MethodProcessPool {
  private readonly idle = new Map<string, { key: MethodProcessKey; processes: MethodProcess[] }>();
  private closed = false;

  constructor(
    private readonly options: {
      /** Warm processes per key. */
      size: number;
      spawn: SpawnMethodProcess;
    },
  ) {}

  /** A warm process for `key` (and a replacement started), or null when none is ready yet. */
  take(key: MethodProcessKey): MethodProcess | null {
    if (this.closed || this.options.size === 0) return null;
    const name = keyName(key);
    const entry = this.idle.get(name) ?? { key, processes: [] };
    // Most recently used last, so the first entry is the one to drop.
    this.idle.delete(name);
    this.idle.set(name, entry);
    let taken: MethodProcess | null = null;
    while (!taken && entry.processes.length > 0) {
      const candidate = entry.processes.shift()!;
      if (isAlive(candidate.child)) taken = candidate;
    }
    this.refill(name);
    this.evict();
    return taken;
  }

  /** Starts warm processes for `key` ahead of its first run. */
  warm(key: MethodProcessKey): void {
    const name = keyName(key);
    if (!this.idle.has(name)) this.idle.set(name, { key, processes: [] });
    this.refill(name);
    this.evict();
  }

  get idleCount(): number {
    let count = 0;
    for (const entry of this.idle.values()) count += entry.processes.length;
    return count;
  }

  close(): void {
    this.closed = true;
    for (const entry of this.idle.values()) for (const process of entry.processes) process.child.kill('SIGKILL');
    this.idle.clear();
  }

  private refill(name: string): void {
    const entry = this.idle.get(name);
    if (!entry || this.closed) return;
    while (entry.processes.length < this.options.size) {
      const process = this.options.spawn(entry.key);
      process.ready.catch(() => {});
      entry.processes.push(process);
      process.child.once('exit', () => {
        const index = entry.processes.indexOf(process);
        if (index >= 0) entry.processes.splice(index, 1);
      });
    }
  }

  private evict(): void {
    while (this.idle.size > MAX_KEYS) {
      const [oldest] = this.idle.keys();
      for (const process of this.idle.get(oldest)!.processes) process.child.kill('SIGKILL');
      this.idle.delete(oldest);
    }
  }
}

function keyName({ heapMb, extraRoutineDirs }: MethodProcessKey): string {
  return `${heapMb}\0${extraRoutineDirs.join('\0')}`;
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.connected;
}
