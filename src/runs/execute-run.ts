// One attempt of a run: executes the method in the sandbox (a supervised child process),
// records what it reports in order, and records the outcome. Shared by the Temporal activity
// (background runs) and the API (in-memory runs).
import { executeMethod } from '../execution/sandbox.ts';
import type { MethodExecutionResult } from '../execution/types.ts';
import { ProgressWriter } from './progress-writer.ts';
import type { RunForExecution, RunRecorder } from './recorder.ts';

export interface ExecuteRunAttempt {
  run: RunForExecution;
  attempt: number;
  recorder: RunRecorder;
  storageRoot: string;
  /** Aborted when the user cancelled the run. */
  signal: AbortSignal;
  /** Whether a retryable failure of this attempt ends the run (no attempts left). */
  isLastAttempt: boolean;
  /** Called about once a second while the method runs, with the latest progress. */
  onHeartbeat?: (progress: { percent: number; message: string | null } | null) => void;
}

export type AttemptOutcome = MethodExecutionResult & { runEnded: boolean };

export async function executeRunAttempt({
  run,
  attempt,
  recorder,
  storageRoot,
  signal,
  isLastAttempt,
  onHeartbeat,
}: ExecuteRunAttempt): Promise<AttemptOutcome> {
  const writer = new ProgressWriter((update) => recorder.progress({ runId: run.id, ...update }));
  const heartbeat = onHeartbeat ? setInterval(() => onHeartbeat(writer.latest), 1000) : null;
  let result: MethodExecutionResult;
  try {
    result = await executeMethod({
      request: {
        runId: run.id,
        instanceId: run.instanceId,
        routineName: run.routine.name,
        routineVersion: run.routineVersion,
        methodName: run.methodName,
        inputs: run.inputs as Record<string, unknown>,
        instanceConfig: (run.instance.config as Record<string, unknown> | null) ?? null,
        attempt,
        memoryMb: run.memoryMb,
        timeoutMs: run.timeoutMs ?? 60 * 60 * 1000,
        storeArtifacts: run.storeArtifacts,
        includePreviews: run.includePreviews,
        includeStatistics: run.includeStatistics,
        storageRoot,
      },
      hooks: {
        onProgress: (update) => writer.progress(update),
        onLog: ({ level, message }) =>
          void writer.enqueue(() => recorder.log({ runId: run.id, attempt, level, message })),
        onArtifact: (artifact) => writer.enqueue(() => recorder.artifact({ runId: run.id, artifact })),
      },
      signal,
    });
    // Everything the method reported is stored before the outcome, so the final event is last.
    await writer.drain();
  } finally {
    if (heartbeat) clearInterval(heartbeat);
  }

  switch (result.status) {
    case 'COMPLETED':
      await recorder.complete({ run, outputs: result.outputs, resources: result.resources });
      return { ...result, runEnded: true };
    case 'CANCELLED':
      await recorder.cancelled({ runId: run.id, resources: result.resources });
      return { ...result, runEnded: true };
    case 'FAILED':
      if (!result.error.retryable || isLastAttempt) {
        await recorder.fail({ runId: run.id, attempt, error: result.error, resources: result.resources });
        return { ...result, runEnded: true };
      }
      await recorder.attemptFailed({ runId: run.id, attempt, error: result.error });
      return { ...result, runEnded: false };
  }
}
