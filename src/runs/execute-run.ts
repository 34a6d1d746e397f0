// One attempt of a run: executes the method in the sandbox (a supervised child process),
// records what it reports in order, and records the outcome. Shared by the Temporal activity
// (background runs) and the API (in-memory runs).
import type { MethodProcessPool } from '../execution/process-pool.ts';
import { executeMethod } from '../execution/sandbox.ts';
import { ENV_DEFAULTS } from '../env.ts';
import { grownMemoryMb, OUT_OF_MEMORY, retriedWithMoreMemory } from '../execution/out-of-memory.ts';
import type { MethodExecutionResult } from '../execution/types.ts';
import { instanceConfig, methodSignatures, runInputs } from '../db/json-columns.ts';
import { DEFAULT_TIMEOUT_MS } from '../routines/sdk.ts';
import { ProgressWriter } from './progress-writer.ts';
import type { Executor, RunForExecution, RunRecorder } from './recorder.ts';

export interface ExecuteRunAttempt {
  run: RunForExecution;
  attempt: number;
  recorder: RunRecorder;
  /** Where the attempt executes, recorded with its error. */
  executor: Executor;
  storageRoot: string;
  /** Aborting it stops the method (the user cancelled, or the attempt must stop). */
  signal: AbortSignal;
  /**
   * Whether a stop ends the run CANCELLED (the user asked). When it says no (the worker is
   * shutting down, the workflow vanished), the attempt is recorded as interrupted and the run
   * stays RUNNING for the next attempt. Default: always.
   */
  cancelIsFinal?: () => boolean;
  /** Whether a retryable failure of this attempt ends the run (no attempts left). */
  isLastAttempt: boolean;
  /** Called about once a second while the method runs, with the latest progress. */
  onHeartbeat?: (progress: { percent: number; message: string | null } | null) => void;
  /** What the previous attempt last reported (its last heartbeat), for methods that resume. */
  resumeFrom?: { percent: number; message: string | null } | null;
  /** Overrides the method's own timeout (in-memory runs get the API's time limit). */
  timeoutMs?: number;
  sandbox?: { pool?: MethodProcessPool | null; extraRoutineDirs?: string[]; cancelGraceMs?: number };
  /** MAX_RUN_MEMORY_MB: bounds what an out-of-memory failure suggests and what memoryGrowth gives. */
  maxRunMemoryMb?: number;
  /**
   * Whether the caller can give the next attempt more memory (the workflow re-admits the run with
   * it). Without it an attempt out of memory ends the run, whatever the method's memoryGrowth.
   */
  canGrowMemory?: boolean;
  /** The most memory a live worker can give (null: no bound known); a grown run must still fit one. */
  largestWorkerMemoryMb?: () => Promise<number | null>;
}

/** `nextMemoryMb`: the attempt ran out of memory and the run waits to be admitted again with this much. */
export type AttemptOutcome = MethodExecutionResult & { runEnded: boolean; nextMemoryMb?: number };

export async function executeRunAttempt({
  run,
  attempt,
  recorder,
  executor,
  storageRoot,
  signal,
  isLastAttempt,
  onHeartbeat,
  resumeFrom = null,
  timeoutMs,
  sandbox = {},
  cancelIsFinal = () => true,
  maxRunMemoryMb = ENV_DEFAULTS.MAX_RUN_MEMORY_MB,
  canGrowMemory = false,
  largestWorkerMemoryMb = async () => null,
}: ExecuteRunAttempt): Promise<AttemptOutcome> {
  const writer = new ProgressWriter((update) => recorder.progress({ runId: run.id, ...update }), {
    writeLogs: (entries) => recorder.logs({ runId: run.id, attempt, entries }),
  });
  // Heartbeats go on until the outcome is recorded, not only while the method runs: recording
  // waits out a database outage (src/runs/recorder.ts), and an attempt that went quiet meanwhile
  // would be timed out and retried although its method has finished.
  const heartbeat = onHeartbeat ? setInterval(() => onHeartbeat(writer.latest), 1000) : null;
  try {
    return await runAndRecord();
  } finally {
    if (heartbeat) clearInterval(heartbeat);
  }

  async function runAndRecord(): Promise<AttemptOutcome> {
    const result: MethodExecutionResult = await executeMethod({
      request: {
        runId: run.id,
        instanceId: run.instanceId,
        routineName: run.routine.name,
        routineVersion: run.routineVersion,
        methodName: run.methodName,
        inputs: runInputs.parse(run.inputs),
        // The config fixed when the run was created (src/services/create-run.ts), not the instance's
        // current one: a retry or a re-run executes with what this run was created with.
        instanceConfig: instanceConfig.parse(run.instanceConfig ?? null),
        attempt,
        memoryMb: run.memoryMb,
        timeoutMs: Math.min(timeoutMs ?? Infinity, run.timeoutMs ?? DEFAULT_TIMEOUT_MS),
        resumeFrom,
        storeArtifacts: run.storeArtifacts,
        includePreviews: run.includePreviews,
        includeStatistics: run.includeStatistics,
        previewRows: run.previewRows,
        storageRoot,
      },
      hooks: {
        onProgress: (update) => writer.progress(update),
        onLog: (line) => writer.log(line),
        onArtifact: (artifact) => {
          const recorded = writer.enqueue(() => recorder.artifact({ runId: run.id, artifact }));
          // The method waits for its artifact to be recorded, so that a failure to store it is
          // its own to handle. While the database is away, though, the file is stored and its
          // row waits in order in the queue: the method goes on, and drain() below still
          // reports a write that failed for another reason.
          const { away, cancel } = recorder.whenDatabaseAway();
          return Promise.race([recorded, away]).finally(cancel);
        },
      },
      signal,
      pool: sandbox.pool ?? null,
      extraRoutineDirs: sandbox.extraRoutineDirs,
      cancelGraceMs: sandbox.cancelGraceMs,
      maxRunMemoryMb,
    });
    // Everything the method reported is stored before the outcome, so the final event is last.
    await writer.drain();

    switch (result.status) {
      case 'COMPLETED':
        await recorder.complete({ run, outputs: result.outputs, resources: result.resources });
        return { ...result, runEnded: true };
      case 'CANCELLED':
        if (!cancelIsFinal()) {
          await recorder.attemptFailed({
            runId: run.id,
            attempt,
            error: {
              type: 'ATTEMPT_INTERRUPTED',
              message: 'The attempt was interrupted (worker shutdown, timeout or lost workflow)',
              retryable: true,
              phase: 'WORKFLOW',
            },
            executor,
          });
          return { ...result, runEnded: false };
        }
        await recorder.cancelled({ runId: run.id, resources: result.resources });
        return { ...result, runEnded: true };
      case 'FAILED': {
        const nextMemoryMb = result.error.type === OUT_OF_MEMORY && canGrowMemory && !isLastAttempt ? await memoryAfterGrowth() : null;
        if (nextMemoryMb !== null) {
          const growth = memoryGrowthOf(run)!;
          const error = retriedWithMoreMemory({ attempt, memoryMb: run.memoryMb, nextMemoryMb, growth });
          await recorder.attemptNeedsMoreMemory({ runId: run.id, attempt, error, memoryMb: run.memoryMb, nextMemoryMb, executor });
          return { status: 'FAILED', error, resources: result.resources, runEnded: false, nextMemoryMb };
        }
        if (!result.error.retryable || isLastAttempt) {
          await recorder.fail({ runId: run.id, attempt, error: result.error, resources: result.resources, executor });
          return { ...result, runEnded: true };
        }
        await recorder.attemptFailed({ runId: run.id, attempt, error: result.error, executor });
        return { ...result, runEnded: false };
      }
    }
  }

  async function memoryAfterGrowth(): Promise<number | null> {
    const growth = memoryGrowthOf(run);
    if (growth === null) return null;
    // More than any live worker has would wait in line forever (admission skips such runs).
    const ceilingMb = Math.min(maxRunMemoryMb, (await largestWorkerMemoryMb()) ?? Infinity);
    return grownMemoryMb({ memoryMb: run.memoryMb, growth, maxRunMemoryMb: ceilingMb });
  }
}

/** The method's retry.memoryGrowth, from the signature of the routine version the run executes; null when it declares none. */
function memoryGrowthOf(run: RunForExecution): number | null {
  const signature = methodSignatures.parse(run.routine.methods).find((method) => method.name === run.methodName);
  return signature?.retry.memoryGrowth ?? null;
}
