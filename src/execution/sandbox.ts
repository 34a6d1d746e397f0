// Runs one method in a supervised child process. The caller's event loop (a Temporal activity
// heartbeating, or the API) never runs method code, so it stays responsive while the method
// burns CPU; and a separate process is what lets us cap its heap, kill it at a deadline or after
// an ignored cancel, and measure its own CPU time and peak memory.
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { trace } from '@opentelemetry/api';
import { METHOD_ATTRIBUTE, ROUTINE_ATTRIBUTE, RUN_ID_ATTRIBUTE, traceCarrier } from '../observability/tracing.ts';
import { ENV_DEFAULTS } from '../env.ts';
import { COMPILED, siblingModule } from '../paths.ts';
import { isRoutineFile } from '../routines/registry.ts';
import { clampPercent } from '../routines/sdk.ts';
import { transpiledMethodProcess } from './method-process-build.ts';
import type { ChildMessage, ChildOutcome, ParentMessage } from './method-process.ts';
import { outOfMemoryFailure } from './out-of-memory.ts';
import { MethodProcessPool, type MethodProcess, type MethodProcessKey } from './process-pool.ts';
import type { MethodExecutionHooks, MethodExecutionRequest, MethodExecutionResult, RunResourceUsage } from './types.ts';

const METHOD_PROCESS = siblingModule(import.meta.url, 'method-process');
// A method process needs tsx only for TypeScript: the sources, or .ts routines in the extra
// folders of a compiled service. The compiled form otherwise runs on plain node, which saves a
// method process about 400 ms of CPU to start, paid once per run. The loader is resolved from
// this file rather than left as a bare `tsx`, which Node would resolve against the child's
// working directory.
const TSX_LOADER_ARGS = ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href];
const tsxNeededFor = new Map<string, boolean>();

function loaderArgs(extraRoutineDirs: string[]): string[] {
  if (!COMPILED) return TSX_LOADER_ARGS;
  const key = extraRoutineDirs.join(path.delimiter);
  let needed = tsxNeededFor.get(key);
  if (needed === undefined) {
    needed = extraRoutineDirs.some((dir) => {
      try {
        return readdirSync(dir).some((file) => isRoutineFile(file) && /\.m?ts$/.test(file));
      } catch {
        return false; // the registry reports a folder it cannot read
      }
    });
    tsxNeededFor.set(key, needed);
  }
  return needed ? TSX_LOADER_ARGS : [];
}
/** Heap on top of the run's memory for Node, tsx, zod and the registry (~40 MB in practice). */
export const HEAP_HEADROOM_MB = 64;
const STDERR_TAIL_CHARS = 2000;
const OUT_OF_MEMORY = /heap out of memory|Reached heap limit/i;
/** How long to wait for stdio to close after the process exited (a grandchild may hold it). */
const CLOSE_WAIT_MS = 1000;

/** Niceness of method processes (0 = normal, 19 = lowest). */
const METHOD_PROCESS_NICENESS = 10;

const NO_RESOURCES: RunResourceUsage = { peakMemoryMb: null, cpuTimeMs: null };

// Every live method process, killed if this process exits, so a worker that stops never leaves
// methods running with nobody to report to. (A SIGKILLed parent cannot run this; the child also
// exits on IPC disconnect, which it notices at its next checkpoint.)
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const live of liveChildren) live.kill('SIGKILL');
    });
  }
}

/** Forks a method process that pre-loads the routines and says when it is ready. */
export function spawnMethodProcess({ heapMb, extraRoutineDirs }: MethodProcessKey): MethodProcess {
  // From the sources: plain node on the transpiled method process once it is built and fresh.
  const transpiled = COMPILED ? null : transpiledMethodProcess(extraRoutineDirs);
  const child = fork(transpiled?.entry ?? METHOD_PROCESS, transpiled?.extraRoutineDirs ?? extraRoutineDirs, {
    execArgv: [...(transpiled ? [] : loaderArgs(extraRoutineDirs)), `--max-old-space-size=${heapMb}`],
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  track(child);
  // Methods (and warm processes booting) yield the CPU to the service: on a small machine a
  // CPU-bound method must not delay heartbeats, cancels or the API's answers.
  if (child.pid !== undefined) {
    try {
      setPriority(child.pid, METHOD_PROCESS_NICENESS);
    } catch {
      // not permitted here: run at normal priority
    }
  }
  const ready = new Promise<void>((resolve, reject) => {
    const onMessage = (raw: unknown) => {
      if ((raw as ChildMessage).type !== 'ready') return;
      child.off('message', onMessage);
      resolve();
    };
    child.on('message', onMessage);
    child.once('exit', () => reject(new Error('The method process exited before it was ready')));
  });
  // A transpiled copy serves runs only while it is the current build of the sources (each run
  // re-imports its routine, but from the copy); a tsx process only until a build is ready, so the
  // pool moves to plain node.
  const isCurrent = COMPILED ? undefined : () => transpiledMethodProcess(extraRoutineDirs)?.entry === transpiled?.entry;
  return { child, ready, isCurrent };
}

/** Method processes for this process (`size` per memory size and routine folders), each serving up to `maxRunsPerProcess` runs. */
export function createMethodProcessPool({ size, maxRunsPerProcess }: { size: number; maxRunsPerProcess?: number }): MethodProcessPool {
  return new MethodProcessPool({ size, spawn: spawnMethodProcess, maxRunsPerProcess });
}

/** The heap a run's method process gets for the run's memory. */
export function heapMbFor(memoryMb: number): number {
  return Math.max(16, Math.ceil(memoryMb)) + HEAP_HEADROOM_MB;
}

export interface ExecuteMethodOptions {
  request: MethodExecutionRequest;
  hooks: MethodExecutionHooks;
  /** Aborting it cancels the run: a cooperative cancel first, SIGKILL after `cancelGraceMs`. */
  signal?: AbortSignal;
  cancelGraceMs?: number;
  /** Routine folders besides src/routines/library/ (test fixtures). */
  extraRoutineDirs?: string[];
  /** Warm processes to take the method's process from; forks one when empty or absent. */
  pool?: MethodProcessPool | null;
  /** MAX_RUN_MEMORY_MB: the most an out-of-memory failure may suggest re-running with. */
  maxRunMemoryMb?: number;
}

export async function executeMethod({
  request,
  hooks,
  signal,
  cancelGraceMs = 1500,
  extraRoutineDirs = [],
  pool = null,
  maxRunMemoryMb = ENV_DEFAULTS.MAX_RUN_MEMORY_MB,
}: ExecuteMethodOptions): Promise<MethodExecutionResult> {
  if (signal?.aborted) return { status: 'CANCELLED', resources: NO_RESOURCES };

  const heapMb = heapMbFor(request.memoryMb);
  const key = { heapMb, extraRoutineDirs };
  const methodProcess = pool?.take(key) ?? spawnMethodProcess(key);
  // The caller's span (Temporal's RunActivity, or the API's request) learns which run it is, and
  // the method process continues its trace.
  trace.getActiveSpan()?.setAttributes({
    [RUN_ID_ATTRIBUTE]: request.runId,
    [ROUTINE_ATTRIBUTE]: request.routineName,
    [METHOD_ATTRIBUTE]: request.methodName,
  });
  const traceContext = traceCarrier();
  return new MethodExecution({
    request,
    hooks,
    signal,
    cancelGraceMs,
    extraRoutineDirs,
    heapMb,
    maxRunMemoryMb,
    methodProcess,
    traceContext,
  }).result;
}

type ChildResult = { outcome: ChildOutcome; resources: RunResourceUsage };

/**
 * One run of a method in one child process: what has happened so far (the child's result, a cancel,
 * the deadline, its stderr) and a method per event. `decide` turns that state into the result.
 */
class MethodExecution {
  readonly result: Promise<MethodExecutionResult>;
  private resolve!: (result: MethodExecutionResult) => void;
  private readonly request: MethodExecutionRequest;
  private readonly hooks: MethodExecutionHooks;
  private readonly signal: AbortSignal | undefined;
  private readonly cancelGraceMs: number;
  private readonly extraRoutineDirs: string[];
  private readonly heapMb: number;
  private readonly maxRunMemoryMb: number;
  private readonly child: ChildProcess;
  private readonly traceContext: Record<string, string> | undefined;

  private settled = false;
  private childResult: ChildResult | null = null;
  private cancelRequested = false;
  private timedOut = false;
  private stderrTail = '';
  private outOfMemory = false;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  // Hooks run strictly in the child's order: a progress event sent after an artifact is not
  // published before that artifact is recorded.
  private hookQueue: Promise<void> = Promise.resolve();
  private readonly onAbort = () => this.cancel();

  constructor(options: {
    request: MethodExecutionRequest;
    hooks: MethodExecutionHooks;
    signal: AbortSignal | undefined;
    cancelGraceMs: number;
    extraRoutineDirs: string[];
    heapMb: number;
    maxRunMemoryMb: number;
    methodProcess: MethodProcess;
    /** The W3C trace context the method process's span continues (absent without tracing). */
    traceContext?: Record<string, string>;
  }) {
    this.traceContext = options.traceContext;
    this.request = options.request;
    this.hooks = options.hooks;
    this.signal = options.signal;
    this.cancelGraceMs = options.cancelGraceMs;
    this.extraRoutineDirs = options.extraRoutineDirs;
    this.heapMb = options.heapMb;
    this.maxRunMemoryMb = options.maxRunMemoryMb;
    const { child, ready } = options.methodProcess;
    this.child = child;
    this.result = new Promise((resolve) => {
      this.resolve = resolve;
    });

    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    child.on('message', (raw) => this.onMessage(raw as ChildMessage));
    child.stdout?.on('data', (chunk: Buffer) => this.onOutput('info', chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.onOutput('warn', chunk));
    // A pooled process may have been ready long ago; a new one says so once it loaded the routines.
    ready.then(
      () => this.start(),
      () => {}, // it exited: 'exit'/'close' below settle the run
    );
    // 'close' comes after the IPC channel and stdio drained, so every message has been seen.
    child.once('close', (code, signalName) => this.settle({ code, signalName }));
    child.once('exit', (code, signalName) => this.onExit({ code, signalName }));
    child.once('error', (error) => this.onError(error));
  }

  private start(): void {
    if (this.settled) return;
    // The deadline covers the method, not the start of its process (slow on a loaded machine).
    this.deadlineTimer = setTimeout(() => this.onDeadline(), this.request.timeoutMs);
    this.sendToChild({ type: 'start', request: this.request, traceContext: this.traceContext });
  }

  private onDeadline(): void {
    this.timedOut = true;
    this.child.kill('SIGKILL');
  }

  /** A cooperative cancel first; SIGKILL if the method ignores it for `cancelGraceMs`. */
  private cancel(): void {
    if (this.cancelRequested || this.settled) return;
    this.cancelRequested = true;
    this.sendToChild({ type: 'cancel' });
    this.killTimer = setTimeout(() => this.child.kill('SIGKILL'), this.cancelGraceMs);
  }

  private onMessage(message: ChildMessage): void {
    const { hooks } = this;
    switch (message.type) {
      case 'ready':
        return; // handled by `ready` in the constructor
      case 'progress':
        this.enqueue(() => safely(() => hooks.onProgress({ percent: clampPercent(message.percent), message: message.message })));
        return;
      case 'log':
        this.enqueue(() => safely(() => hooks.onLog({ level: message.level, message: message.message })));
        return;
      case 'artifact':
        this.enqueue(async () => {
          let error: string | null = null;
          try {
            await hooks.onArtifact(message.artifact);
          } catch (caught) {
            error = caught instanceof Error ? caught.message : String(caught);
          }
          this.sendToChild({ type: 'artifactAck', id: message.id, error });
        });
        return;
      case 'done':
        this.childResult = { outcome: message.outcome, resources: message.resources };
        return;
    }
  }

  private onOutput(level: string, chunk: Buffer): void {
    const text = chunk.toString('utf8');
    if (level === 'warn') {
      // V8 prints the verdict first and a long native stack after it, so look as it streams by.
      this.outOfMemory ||= OUT_OF_MEMORY.test(this.stderrTail.slice(-200) + text);
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_CHARS);
    }
    for (const line of text.split('\n')) {
      if (line.trim()) this.enqueue(() => safely(() => this.hooks.onLog({ level, message: line })));
    }
  }

  private onExit(exit: { code: number | null; signalName: NodeJS.Signals | null }): void {
    this.closeTimer = setTimeout(() => this.settle(exit), CLOSE_WAIT_MS);
  }

  private onError(error: Error): void {
    // Spawn failures emit 'error' without 'exit'; a failed kill also lands here and is harmless.
    if (this.child.pid !== undefined) return;
    this.settled = true;
    clearTimeout(this.deadlineTimer);
    this.signal?.removeEventListener('abort', this.onAbort);
    liveChildren.delete(this.child);
    this.resolve({
      status: 'FAILED',
      error: { type: 'PROCESS_EXITED', message: `Could not start the method process: ${error.message}`, retryable: true, phase: 'PROCESS' },
      resources: NO_RESOURCES,
    });
  }

  private settle({ code, signalName }: { code: number | null; signalName: NodeJS.Signals | null }): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.deadlineTimer);
    clearTimeout(this.killTimer);
    clearTimeout(this.closeTimer);
    this.signal?.removeEventListener('abort', this.onAbort);
    // Settle after every hook the child triggered, so the artifacts are recorded first.
    this.enqueue(() =>
      this.resolve(
        decide({
          childOutcome: this.childResult,
          cancelRequested: this.cancelRequested,
          timedOut: this.timedOut,
          timeoutMs: this.request.timeoutMs,
          code,
          signalName,
          stderrTail: this.stderrTail,
          outOfMemory: this.outOfMemory,
          heapMb: this.heapMb,
          memoryMb: this.request.memoryMb,
          maxRunMemoryMb: this.maxRunMemoryMb,
        }),
      ),
    );
  }

  private enqueue(task: () => Promise<void> | void): void {
    this.hookQueue = this.hookQueue.then(task).catch(() => {});
  }

  private sendToChild(message: ParentMessage): void {
    if (this.child.connected) this.child.send(message, undefined, {}, () => {});
  }
}

export function decide({
  childOutcome,
  cancelRequested,
  timedOut,
  timeoutMs,
  code,
  signalName,
  stderrTail,
  outOfMemory,
  heapMb,
  memoryMb,
  maxRunMemoryMb,
}: {
  childOutcome: ChildResult | null;
  cancelRequested: boolean;
  timedOut: boolean;
  timeoutMs: number;
  code: number | null;
  signalName: NodeJS.Signals | null;
  stderrTail: string;
  outOfMemory: boolean;
  heapMb: number;
  /** The run's memory (the heap is that plus HEAP_HEADROOM_MB). */
  memoryMb: number;
  maxRunMemoryMb: number;
}): MethodExecutionResult {
  const resources = childOutcome?.resources ?? NO_RESOURCES;
  if (timedOut && !childOutcome) {
    return {
      status: 'FAILED',
      error: {
        type: 'TIMEOUT',
        message: `Method did not finish within its timeout of ${timeoutMs} ms and was killed`,
        retryable: true,
        phase: 'PROCESS',
      },
      resources,
    };
  }
  // A cancel wins over a result that raced it: the caller already told the user it is stopping.
  if (cancelRequested) return { status: 'CANCELLED', resources };
  if (childOutcome) {
    const { outcome } = childOutcome;
    if (outcome.status === 'COMPLETED') return { status: 'COMPLETED', outputs: outcome.outputs, resources };
    if (outcome.status === 'FAILED') return { status: 'FAILED', error: outcome.error, resources };
    return { status: 'CANCELLED', resources };
  }
  const how = signalName ? `was killed by ${signalName}` : `exited with code ${code}`;
  const lastLines = stderrTail.trim().split('\n').slice(-3).join(' | ');
  // Not retryable: another attempt at the same memory runs out the same way.
  if (outOfMemory) return { status: 'FAILED', error: outOfMemoryFailure({ memoryMb, heapMb, how, maxRunMemoryMb }), resources };
  const message = `Method process ${how} before reporting a result${lastLines ? `: ${lastLines}` : ''}`;
  return { status: 'FAILED', error: { type: 'PROCESS_EXITED', message, retryable: true, phase: 'PROCESS' }, resources };
}

// A failing progress or log sink (say, a dropped database connection) is the caller's to handle;
// it must not stall the queue that also carries artifacts and the result.
function safely(hook: () => void): void {
  try {
    hook();
  } catch {
    // ignored on purpose
  }
}
