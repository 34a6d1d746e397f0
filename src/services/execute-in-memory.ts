// In-memory runs execute at once in the API process — isolated in the same sandboxed child
// process as background runs, under a time limit (IN_MEMORY_TIMEOUT_MS or the method's own
// timeout, whichever is shorter) — and the createRun answer carries their result. They pass
// through QUEUED and RUNNING at once and take no worker capacity, but this process's in-memory
// capacity (src/runs/in-memory-capacity.ts): held from before the run is written or started
// until it ends. One attempt: a failure ends the run (the caller is waiting for the answer, not
// for retries).
import { executorFor, executorId } from '../runs/admission.ts';
import type { InMemoryHold } from '../runs/in-memory-capacity.ts';
import { RunRecorder } from '../runs/recorder.ts';
import { executeRunAttempt } from '../runs/execute-run.ts';
import { ArtifactStore } from '../storage/artifact-store.ts';
import type { ServiceDeps } from './deps.ts';

export const DEFAULT_IN_MEMORY_TIMEOUT_MS = 60_000;
const API_EXECUTOR = executorId('api');

// In-memory runs executing in this process. cancelRun in this process stops one directly; a
// cancel made in another API process reaches it as the CANCEL_REQUESTED event's notice on the
// event bus (see `watchForCancel`).
const executing = new Map<string, AbortController>();

/** Stops an in-memory run executing in this process; false when it is not here. */
export function abortInMemoryRun(runId: string): boolean {
  const controller = executing.get(runId);
  controller?.abort();
  return controller !== undefined;
}

/** The time limit of an in-memory run of a method whose own limit is `methodTimeoutMs`. */
export function inMemoryTimeLimitMs(deps: ServiceDeps, methodTimeoutMs: number): number {
  return Math.min(deps.limits.inMemoryTimeoutMs ?? DEFAULT_IN_MEMORY_TIMEOUT_MS, methodTimeoutMs);
}

/**
 * Takes this process's in-memory capacity for a run about to be written or started, or throws
 * (CapacityExceededError; a ValidationError for a run that can never fit, on the field that set
 * its memory: memoryOverrideMb, or executionType for the method's own default).
 */
export function holdInMemoryCapacity(
  deps: ServiceDeps,
  run: { userId: string; routineName: string; methodName: string; memoryMb: number; memoryOverridden: boolean; timeoutMs: number },
): InMemoryHold {
  if (!deps.inMemory) return { release: () => {} };
  return deps.inMemory.hold({
    userId: run.userId,
    memoryMb: run.memoryMb,
    method: `${run.routineName}.${run.methodName}`,
    timeLimitMs: inMemoryTimeLimitMs(deps, run.timeoutMs),
    memoryPath: run.memoryOverridden ? ['memoryOverrideMb'] : ['executionType'],
  });
}

/** Executes a QUEUED in-memory run to its end, then releases `hold` (whatever the ending). */
export async function executeInMemory(deps: ServiceDeps, { runId, hold }: { runId: string; hold: InMemoryHold }): Promise<void> {
  try {
    await executeHeld(deps, runId);
  } finally {
    hold.release();
  }
}

async function executeHeld(deps: ServiceDeps, runId: string): Promise<void> {
  const recorder = new RunRecorder(deps.db, { storage: new ArtifactStore({ rootDir: deps.storageRoot }) });
  // The run names the API process executing it.
  const run = await recorder.beginAttempt({ runId, attempt: 1, workerId: API_EXECUTOR });
  if (!run) return;
  const controller = new AbortController();
  executing.set(runId, controller);
  const stopWatching = watchForCancel(deps, { runId, controller });
  try {
    await executeRunAttempt({
      run,
      attempt: 1,
      recorder,
      executor: executorFor(API_EXECUTOR),
      storageRoot: deps.storageRoot,
      signal: controller.signal,
      isLastAttempt: true,
      timeoutMs: inMemoryTimeLimitMs(deps, run.timeoutMs ?? Infinity),
      sandbox: { pool: deps.pool ?? null, extraRoutineDirs: deps.extraRoutineDirs ?? [] },
      maxRunMemoryMb: deps.limits.maxRunMemoryMb,
    });
  } finally {
    stopWatching();
    executing.delete(runId);
  }
}

/**
 * Aborts the run when a cancel is requested from any process. A notice says only that the run
 * changed (progress, an artifact, the cancel…), so each one is answered by reading whether a
 * cancel is pending — at most one read at a time, plus one for notices that came meanwhile.
 * Reading once right away covers a cancel made before the subscription.
 */
function watchForCancel(deps: ServiceDeps, { runId, controller }: { runId: string; controller: AbortController }): () => void {
  if (!deps.bus) return () => {};
  let reading: Promise<void> | null = null;
  let again = false;
  const check = () => {
    if (controller.signal.aborted) return;
    if (reading) {
      again = true;
      return;
    }
    reading = deps.db.routineRun
      .findUnique({ where: { id: runId }, select: { cancelRequestedAt: true } })
      .then((run) => {
        if (run?.cancelRequestedAt) controller.abort();
      })
      .catch(() => {}) // the next notice (or the time limit) tries again
      .finally(() => {
        reading = null;
        if (again) {
          again = false;
          check();
        }
      });
  };
  const unsubscribe = deps.bus.onRunChange(runId, check);
  check();
  return unsubscribe;
}
