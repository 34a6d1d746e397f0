// What keeps one run from reaching the next in a method process that serves several (see
// reusable-process.ts). Each run gets a fresh instance of its routine's module (loaded again
// under a URL of its own); around the run this module snapshots and restores what a method can
// change process-wide — the environment, the working directory, globals and console — and after
// it checks that nothing was left running (timers, sockets, child processes) and that memory did
// not grow too much. A process where any check fails is not reused. What is not covered
// (prototypes of built-ins changed in place, state kept in a shared dependency's module) is
// bounded by the runs-served limit; a routine needing more isolation runs with
// METHOD_PROCESS_MAX_RUNS=1.
import { pathToFileURL } from 'node:url';

/** RSS a process may gain over its runs (beyond what it had once loaded) and still be reused. */
export const MAX_RSS_GROWTH_MB = 128;

export interface ProcessState {
  env: Record<string, string | undefined>;
  cwd: string;
  globals: Map<PropertyKey, PropertyDescriptor>;
  console: Map<PropertyKey, PropertyDescriptor>;
  /** Handles and requests alive before the run, by type (Timeout, TCPWrap, ...). */
  resources: Map<string, number>;
}

export function snapshotProcessState(): ProcessState {
  return {
    env: { ...process.env },
    cwd: process.cwd(),
    globals: descriptors(globalThis),
    console: descriptors(console),
    resources: countResources(),
  };
}

/**
 * Puts the environment, working directory, globals and console back as they were at `state`;
 * returns why the process cannot be reused (something could not be restored, or the run left
 * work behind), or null.
 */
export function restoreProcessState(state: ProcessState): string | null {
  for (const key of Object.keys(process.env)) if (!(key in state.env)) delete process.env[key];
  for (const [key, value] of Object.entries(state.env)) if (process.env[key] !== value) process.env[key] = value;
  try {
    if (process.cwd() !== state.cwd) process.chdir(state.cwd);
  } catch {
    return 'the working directory could not be restored';
  }
  if (!restoreDescriptors(globalThis, state.globals)) return 'a global could not be restored';
  if (!restoreDescriptors(console, state.console)) return 'console could not be restored';
  const leftovers: string[] = [];
  for (const [type, count] of countResources()) {
    if (count > (state.resources.get(type) ?? 0)) leftovers.push(type);
  }
  return leftovers.length > 0 ? `the run left ${leftovers.join(', ')} behind` : null;
}

/** A fresh instance of the routine module at `file`: the module's top level runs again. */
export async function freshRoutineModule(file: string, run: number): Promise<unknown> {
  const module = (await import(`${pathToFileURL(file).href}?run=${run}`)) as { default?: unknown };
  return module.default;
}

/** A run's own CPU time and peak memory in a process that may have served runs before it. */
export class RunMeter {
  private readonly cpuAtStartUs: number;
  private readonly maxRssAtStartKb: number;
  private peakRssBytes: number;
  private readonly sampler: NodeJS.Timeout;

  constructor() {
    const usage = process.resourceUsage();
    this.cpuAtStartUs = usage.userCPUTime + usage.systemCPUTime;
    this.maxRssAtStartKb = usage.maxRSS;
    this.peakRssBytes = process.memoryUsage.rss();
    // The process's peak (maxRSS) covers its whole life; a run that stays under an earlier run's
    // peak is measured by sampling instead.
    this.sampler = setInterval(() => this.sample(), 20).unref();
  }

  stop(): { peakMemoryMb: number; cpuTimeMs: number } {
    clearInterval(this.sampler);
    this.sample();
    const usage = process.resourceUsage();
    // maxRSS is in kilobytes; user/system CPU in microseconds.
    const peakKb = usage.maxRSS > this.maxRssAtStartKb ? usage.maxRSS : this.peakRssBytes / 1024;
    return {
      peakMemoryMb: Math.round((peakKb / 1024) * 10) / 10,
      cpuTimeMs: Math.max(1, Math.round((usage.userCPUTime + usage.systemCPUTime - this.cpuAtStartUs) / 1000)),
    };
  }

  private sample(): void {
    this.peakRssBytes = Math.max(this.peakRssBytes, process.memoryUsage.rss());
  }
}

function descriptors(target: object): Map<PropertyKey, PropertyDescriptor> {
  const map = new Map<PropertyKey, PropertyDescriptor>();
  for (const key of Reflect.ownKeys(target)) map.set(key, Object.getOwnPropertyDescriptor(target, key)!);
  return map;
}

function restoreDescriptors(target: object, saved: Map<PropertyKey, PropertyDescriptor>): boolean {
  for (const key of Reflect.ownKeys(target)) {
    if (!saved.has(key) && !Reflect.deleteProperty(target, key)) return false;
  }
  for (const [key, descriptor] of saved) {
    const now = Object.getOwnPropertyDescriptor(target, key);
    if (now && sameDescriptor(now, descriptor)) continue;
    try {
      Object.defineProperty(target, key, descriptor);
    } catch {
      return false;
    }
  }
  return true;
}

function sameDescriptor(a: PropertyDescriptor, b: PropertyDescriptor): boolean {
  return a.value === b.value && a.get === b.get && a.set === b.set && a.writable === b.writable && a.enumerable === b.enumerable;
}

function countResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}
