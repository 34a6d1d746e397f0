// One attempt of a run: executes the method in the sandbox (a supervised child process),
// records what it reports in order, and records the outcome. Shared by the Temporal activity
// (background runs) and the API (in-memory runs).
import type { MethodProcessPool } from '../execution/process-pool.ts';
import { executeMethod } from '../execution/sandbox.ts';
import type { MethodExecutionResult } from '../execution/types.ts';
import { instanceConfig, runInputs } from '../db/json-columns.ts';
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
}

export type AttemptOutcome = MethodExecutionResult & { runEnded: boolean };

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
      case 'FAILED':
        if (!result.error.retryable || isLastAttempt) {
          await recorder.fail({ runId: run.id, attempt, error: result.error, resources: result.resources, executor });
          return { ...result, runEnded: true };
        }
        await recorder.attemptFailed({ runId: run.id, attempt, error: result.error, executor });
        return { ...result, runEnded: false };
    }
  }
}
