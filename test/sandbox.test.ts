// The sandbox runs each method in a real child process: progress and artifacts arrive in order,
// resources are measured, cancels and deadlines end the process, and failures are classified.
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeMethod } from '../src/execution/sandbox.ts';
import type { MethodExecutionRequest } from '../src/execution/types.ts';
import type { StoredArtifact } from '../src/storage/artifact-store.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/routines/', import.meta.url));
let storageRoot: string;

beforeAll(async () => {
  storageRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'sandbox-'));
});

afterAll(async () => {
  await fs.rm(storageRoot, { recursive: true, force: true });
});

let runCounter = 0;
function request(overrides: Partial<MethodExecutionRequest>): MethodExecutionRequest {
  runCounter++;
  return {
    runId: `run-${runCounter}`,
    instanceId: 'inst-1',
    routineName: 'testkit',
    routineVersion: '0.0.1',
    methodName: 'echo',
    inputs: {},
    instanceConfig: null,
    attempt: 1,
    memoryMb: 128,
    timeoutMs: 60_000,
    storeArtifacts: true,
    includePreviews: false,
    includeStatistics: false,
    storageRoot,
    ...overrides,
  };
}

type Event =
  | { kind: 'progress'; percent: number; message: string | null }
  | { kind: 'log'; level: string; message: string }
  | { kind: 'artifact'; artifact: StoredArtifact };

/** Runs a method and records every hook call in the order the sandbox made it. */
async function run(
  overrides: Partial<MethodExecutionRequest>,
  options: { signal?: AbortSignal; cancelGraceMs?: number; artifactDelayMs?: number } = {},
) {
  const events: Event[] = [];
  const started = performance.now();
  const result = await executeMethod({
    request: request(overrides),
    extraRoutineDirs: [FIXTURES],
    signal: options.signal,
    cancelGraceMs: options.cancelGraceMs,
    hooks: {
      onProgress: (progress) => events.push({ kind: 'progress', ...progress }),
      onLog: (log) => events.push({ kind: 'log', ...log }),
      onArtifact: async (artifact) => {
        if (options.artifactDelayMs) await new Promise((resolve) => setTimeout(resolve, options.artifactDelayMs));
        events.push({ kind: 'artifact', artifact });
      },
    },
  });
  const progress = events.filter((event) => event.kind === 'progress');
  const logs = events.filter((event) => event.kind === 'log');
  return { result, events, progress, logs, elapsedMs: performance.now() - started };
}

describe('running a method', () => {
  it('returns outputs and the child process CPU time and peak memory', async () => {
    const { result } = await run({ methodName: 'echo', inputs: { value: 'hi' } });
    expect(result).toMatchObject({ status: 'COMPLETED', outputs: { echo: 'hi' } });
    expect(result.resources.cpuTimeMs).toBeGreaterThan(0);
    expect(result.resources.peakMemoryMb).toBeGreaterThan(0);
  });

  it('delivers progress in order, clamped to 0..100, each carrying the current message', async () => {
    const steps = [
      { percent: -5, message: 'Starting...' },
      { percent: 10 },
      { percent: 50, message: 'Halfway...' },
      { percent: 75 },
      { percent: 250, message: 'Complete!' },
    ];
    const { result, progress, events } = await run({ methodName: 'steps', inputs: { steps } });
    expect(result.status).toBe('COMPLETED');
    expect(progress).toEqual([
      { kind: 'progress', percent: 0, message: 'Starting...' },
      { kind: 'progress', percent: 10, message: 'Starting...' },
      { kind: 'progress', percent: 50, message: 'Halfway...' },
      { kind: 'progress', percent: 75, message: 'Halfway...' },
      { kind: 'progress', percent: 100, message: 'Complete!' },
    ]);
    // console.log inside the method arrives as a log line between the progress it was written between.
    const logIndex = events.findIndex((event) => event.kind === 'log' && event.message === 'console output travels as a log');
    expect(events[logIndex - 1]).toMatchObject({ percent: 50 });
    expect(events[logIndex + 1]).toMatchObject({ percent: 75 });
  });

  it('applies input defaults and refuses bad input as a non-retryable ValidationError', async () => {
    const defaults = await run({ methodName: 'echo', inputs: {} });
    expect(defaults.result).toMatchObject({ status: 'COMPLETED', outputs: { echo: 'hello' } });
    const bad = await run({ methodName: 'echo', inputs: { value: 3, extra: true } });
    expect(bad.result).toMatchObject({ status: 'FAILED', error: { type: 'ValidationError', retryable: false, phase: 'VALIDATION' } });
    if (bad.result.status === 'FAILED') expect(bad.result.error.message).toMatch(/value/);
  });

  it('refuses an unknown method without retrying', async () => {
    const { result } = await run({ methodName: 'nope' });
    expect(result).toMatchObject({ status: 'FAILED', error: { type: 'MethodNotFoundError', retryable: false, phase: 'VALIDATION' } });
  });

  it('exits even when the method leaves a timer running', async () => {
    const { result, elapsedMs } = await run({ methodName: 'leakHandle' });
    expect(result).toMatchObject({ status: 'COMPLETED', outputs: { leaked: true } });
    expect(elapsedMs).toBeLessThan(10_000);
  });
});

describe('artifacts', () => {
  it('records each artifact before the run completes, in order with progress', async () => {
    const { result, events } = await run(
      { methodName: 'artifacts', includePreviews: true, includeStatistics: true },
      { artifactDelayMs: 200 },
    );
    expect(result.status).toBe('COMPLETED');
    expect(
      events.filter((event) => event.kind !== 'log').map((event) => (event.kind === 'artifact' ? event.artifact.name : event.percent)),
    ).toEqual([50, 'numbers', 'summary', 100]);
    const summary = events.find((event) => event.kind === 'artifact' && event.artifact.name === 'summary');
    expect(summary).toMatchObject({ artifact: { metadata: { source: 'testkit' }, contentType: 'application/json' } });
  });

  it('waits for writes the method forgot to await', async () => {
    const { result, events } = await run({ methodName: 'artifacts', inputs: { awaitWrites: false } }, { artifactDelayMs: 300 });
    expect(result.status).toBe('COMPLETED');
    expect(events.filter((event) => event.kind === 'artifact')).toHaveLength(2);
  });

  it('skips writes and says so when storeArtifacts is false', async () => {
    const { result, events, logs } = await run({ methodName: 'artifacts', storeArtifacts: false });
    expect(result.status).toBe('COMPLETED');
    expect(events.filter((event) => event.kind === 'artifact')).toEqual([]);
    expect(logs.map((log) => log.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/storeArtifacts is false.*numbers/), expect.stringMatching(/summary/)]),
    );
  });

  it('fails without retrying when a method names an artifact outside its folder', async () => {
    const { result } = await run({ methodName: 'badArtifactName' });
    expect(result).toMatchObject({ status: 'FAILED', error: { type: 'ArtifactError', retryable: false, phase: 'ARTIFACT_STORAGE' } });
  });
});

describe('failures', () => {
  it('a NonRetryableRoutineError fails at once with its type', async () => {
    const { result } = await run({ methodName: 'failHard' });
    expect(result).toEqual({
      status: 'FAILED',
      error: { type: 'BadDataError', message: 'column "age" has negative values', retryable: false, phase: 'METHOD' },
      resources: expect.objectContaining({ cpuTimeMs: expect.any(Number) }),
    });
  });

  it('any other error is retryable and keeps its name and message, without a stack', async () => {
    const { result } = await run({ methodName: 'failSoft' });
    expect(result).toMatchObject({ status: 'FAILED', error: { type: 'TypeError', message: 'temporary glitch', retryable: true } });
  });

  it('a process that exits on its own is PROCESS_EXITED with its exit code, and nothing measured', async () => {
    const { result } = await run({ methodName: 'crash' });
    expect(result).toEqual({
      status: 'FAILED',
      error: { type: 'PROCESS_EXITED', message: expect.stringMatching(/exited with code 3/), retryable: true, phase: 'PROCESS' },
      resources: { peakMemoryMb: null, cpuTimeMs: null },
    });
  });

  it('running out of memory is OUT_OF_MEMORY, not retryable at the same memory, and names the memory to ask for', async () => {
    const { result } = await run({ methodName: 'oom', memoryMb: 32 });
    expect(result).toMatchObject({
      status: 'FAILED',
      error: { type: 'OUT_OF_MEMORY', retryable: false, phase: 'PROCESS', suggestedMemoryMb: 64 },
    });
    if (result.status === 'FAILED') {
      expect(result.error.message).toMatch(
        /^The method ran out of its 32 MB \(heap limit 96 MB; .*Re-run with memoryOverrideMb: 64 or more/,
      );
    }
  });

  it('a method past its deadline is killed: TIMEOUT, retryable', async () => {
    const { result, elapsedMs } = await run({ methodName: 'hang', timeoutMs: 1500 });
    expect(result).toMatchObject({ status: 'FAILED', error: { type: 'TIMEOUT', retryable: true, phase: 'PROCESS' } });
    expect(elapsedMs).toBeGreaterThanOrEqual(1500);
    // 'hang' never returns: ending at all is the kill. The bound only says "soon after the deadline",
    // with room for a loaded 2-core machine (it once took 4.5 s there).
    expect(elapsedMs).toBeLessThan(15_000);
  });
});

describe('cancellation', () => {
  it('a long Monte Carlo run stops within a moment of the cancel and reports what it used', async () => {
    const controller = new AbortController();
    const pending = run(
      { routineName: 'montecarlo', routineVersion: '1.0.0', methodName: 'estimatePi', inputs: { samples: 5e9, seed: 1 } },
      { signal: controller.signal },
    );
    // Cancel once it is visibly sampling.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const cancelledAt = performance.now();
    controller.abort();
    const { result, progress } = await pending;
    const stopMs = performance.now() - cancelledAt;
    expect(result.status).toBe('CANCELLED');
    expect(stopMs).toBeLessThan(2000);
    expect(progress[0]).toMatchObject({ percent: 10 });
    // It stopped cooperatively (not killed), so the child still reported its resources.
    expect(result.resources.cpuTimeMs).toBeGreaterThan(0);
  });

  it('a method that ignores the cancel is killed after the grace period', async () => {
    const controller = new AbortController();
    const pending = run({ methodName: 'ignoreCancel', inputs: { ms: 30_000 } }, { signal: controller.signal, cancelGraceMs: 500 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const cancelledAt = performance.now();
    controller.abort();
    const { result } = await pending;
    const stopMs = performance.now() - cancelledAt;
    expect(result).toEqual({ status: 'CANCELLED', resources: { peakMemoryMb: null, cpuTimeMs: null } });
    expect(stopMs).toBeGreaterThanOrEqual(500);
    expect(stopMs).toBeLessThan(2000);
  });

  it('an already-aborted signal never starts a process', async () => {
    const { result, events, elapsedMs } = await run({ methodName: 'echo' }, { signal: AbortSignal.abort() });
    expect(result.status).toBe('CANCELLED');
    expect(events).toEqual([]);
    expect(elapsedMs).toBeLessThan(50);
  });
});

describe('no orphans', () => {
  const PARENT = fileURLToPath(new URL('./fixtures/sandbox-parent.ts', import.meta.url));

  async function startParent(mode: 'exit' | 'hang') {
    const parent = spawn(process.execPath, ['--import', 'tsx', PARENT, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    const childPid = await new Promise<number>((resolve, reject) => {
      parent.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /pid=(\d+)/.exec(output);
        if (match) resolve(Number(match[1]));
      });
      parent.once('exit', () => reject(new Error(`parent exited before the method started: ${output}`)));
    });
    return { parent, childPid };
  }

  async function waitUntilGone(pid: number, withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      if (!isAlive(pid)) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return !isAlive(pid);
  }

  function isAlive(pid: number): boolean {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    // An orphan that has exited stays a zombie until init reaps it, and signal 0 still reaches it.
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
    } catch {
      return false;
    }
  }

  it('a parent that exits takes its method process with it', async () => {
    const { childPid } = await startParent('exit');
    expect(await waitUntilGone(childPid, 2000)).toBe(true);
  });

  it('a method process whose parent is SIGKILLed exits at its next checkpoint', async () => {
    const { parent, childPid } = await startParent('hang');
    expect(isAlive(childPid)).toBe(true);
    parent.kill('SIGKILL');
    expect(await waitUntilGone(childPid, 2000)).toBe(true);
  });
});
