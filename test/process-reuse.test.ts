// Method processes that serve many runs (src/execution/process-pool.ts): a process that finished
// an attempt cleanly serves the next run of its routines, and nothing a run does to its process
// (module state, environment, working directory, globals, console) reaches the next run; a process
// whose attempt failed, crashed, was cancelled, left work running or served its quota is replaced.
// Real child processes, through the sandbox as the worker runs them.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { prepareTranspiledMethodProcess } from '../src/execution/method-process-build.ts';
import { createMethodProcessPool, executeMethod } from '../src/execution/sandbox.ts';
import type { MethodProcessPool } from '../src/execution/process-pool.ts';
import type { MethodExecutionRequest } from '../src/execution/types.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/routines/', import.meta.url));
let storageRoot: string;
let pool: MethodProcessPool | null = null;

beforeAll(async () => {
  storageRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'process-reuse-'));
  // On the transpiled copy, as under npm start once it is built: a tsx process is retired when
  // the copy becomes ready (test/method-process-build.test.ts), which would end a reuse mid-test.
  await prepareTranspiledMethodProcess([FIXTURES]);
});

afterEach(() => {
  pool?.close();
  pool = null;
});

afterAll(async () => {
  await fs.rm(storageRoot, { recursive: true, force: true });
});

let runCounter = 0;
function run(methodName: string, options: { inputs?: Record<string, unknown>; memoryMb?: number; signal?: AbortSignal } = {}) {
  runCounter++;
  const request: MethodExecutionRequest = {
    runId: `reuse-${runCounter}`,
    instanceId: 'inst-1',
    routineName: 'isolation',
    routineVersion: '0.0.1',
    methodName,
    inputs: options.inputs ?? {},
    instanceConfig: null,
    attempt: 1,
    memoryMb: options.memoryMb ?? 128,
    timeoutMs: 60_000,
    storeArtifacts: false,
    includePreviews: false,
    includeStatistics: false,
    storageRoot,
  };
  return executeMethod({
    request,
    extraRoutineDirs: [FIXTURES],
    pool,
    signal: options.signal,
    cancelGraceMs: 500,
    hooks: { onProgress() {}, onLog() {}, async onArtifact() {} },
  }).then((result) => ({ result }));
}

async function completedPid(methodName: string, options: Parameters<typeof run>[1] = {}): Promise<number> {
  const { result } = await run(methodName, options);
  if (result.status !== 'COMPLETED') throw new Error(`${methodName} ended ${result.status}: ${JSON.stringify(result)}`);
  return result.outputs.pid as number;
}

describe('a process serves successive runs', () => {
  it('reuses the process, and what a run changed does not reach the next run', async () => {
    pool = createMethodProcessPool({ size: 1, maxRunsPerProcess: 10 });
    const first = await run('leak');
    const second = await run('leak');
    const third = await run('leak');
    for (const { result } of [first, second, third]) expect(result.status).toBe('COMPLETED');
    const outputs = [first, second, third].map(({ result }) => (result.status === 'COMPLETED' ? result.outputs : null));
    // The same process served all three (so the isolation below is not a fresh process's doing).
    expect(new Set(outputs.map((output) => output?.pid)).size).toBe(1);
    for (const output of outputs) {
      expect(output).toMatchObject({
        runsSeenByThisModule: 1, // a fresh instance of the routine's module each run
        env: null,
        cwd: process.cwd(),
        global: null,
      });
      expect(output?.consoleLog).not.toBe('leakedConsoleLog');
    }
  });

  it('measures CPU time and peak memory per run, not per process', async () => {
    pool = createMethodProcessPool({ size: 1, maxRunsPerProcess: 10 });
    const first = await run('pid');
    const second = await run('pid');
    expect(first.result.status).toBe('COMPLETED');
    expect(second.result.status).toBe('COMPLETED');
    for (const { result } of [first, second]) {
      expect(result.resources.cpuTimeMs).toBeGreaterThan(0);
      expect(result.resources.peakMemoryMb).toBeGreaterThan(0);
    }
    // The second run's figure is its own, not the process's loading plus the first run.
    expect(second.result.resources.cpuTimeMs!).toBeLessThan(200);
  });
});

describe('a process is not reused', () => {
  it('after a failed attempt', async () => {
    pool = createMethodProcessPool({ size: 1, maxRunsPerProcess: 10 });
    const before = await completedPid('pid');
    expect((await run('fail')).result.status).toBe('FAILED');
    const after = await completedPid('pid');
    expect(after).not.toBe(before);
  });

  it('after a process that crashed (exited on its own)', async () => {
    pool = createMethodProcessPool({ size: 1, maxRunsPerProcess: 10 });
    const before = await completedPid('pid');
    const crashed = await run('exit');
    expect(crashed.result).toMatchObject({ status: 'FAILED', error: { type: 'PROCESS_EXITED' } });
    expect(await completedPid('pid')).not.toBe(before);
  });

  it('after a cancelled attempt', async () => {
    pool = createMethodProcessPool({ size: 1, maxRunsPerProcess: 10 });
    const before = await completedPid('pid');
    const controller = new AbortController();
    const pending = run('wait', { inputs: { ms: 300 }, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect((await pending).result.status).toBe('CANCELLED');
    const after = await completedPid('pid');
    expect(after).not.toBe(before);
  });

  it('after a run that left a timer running, even though it completed', async () => {
    pool = createMethodProcessPool({ size: 1, maxRunsPerProcess: 10 });
    const leaving = await run('leaveTimer');
    expect(leaving.result.status).toBe('COMPLETED');
    const leftPid = leaving.result.status === 'COMPLETED' ? leaving.result.outputs.pid : null;
    expect(await completedPid('pid')).not.toBe(leftPid);
  });

  it('once it served METHOD_PROCESS_MAX_RUNS runs', async () => {
    pool = createMethodProcessPool({ size: 1, maxRunsPerProcess: 2 });
    const pids = [await completedPid('pid'), await completedPid('pid'), await completedPid('pid')];
    expect(pids[1]).toBe(pids[0]);
    expect(pids[2]).not.toBe(pids[0]);
  });

  it('for a run of another memory size', async () => {
    pool = createMethodProcessPool({ size: 1, maxRunsPerProcess: 10 });
    const small = await completedPid('pid', { memoryMb: 128 });
    expect(await completedPid('pid', { memoryMb: 128 })).toBe(small);
    expect(await completedPid('pid', { memoryMb: 512 })).not.toBe(small);
  });

  it('when it was killed while idle in the pool', async () => {
    pool = createMethodProcessPool({ size: 1, maxRunsPerProcess: 10 });
    const before = await completedPid('pid');
    process.kill(before, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await completedPid('pid')).not.toBe(before);
  });
});
