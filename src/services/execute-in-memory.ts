// In-memory runs execute at once in the API process — isolated in the same sandboxed child
// process as background runs, under a time limit (IN_MEMORY_TIMEOUT_MS or the method's own
// timeout, whichever is shorter) — and the createRun answer carries their result. They pass
// through QUEUED and RUNNING at once and take no worker capacity. One attempt: a failure ends
// the run (the caller is waiting for the answer, not for retries).
import { hostname } from 'node:os';
import { executorId } from '../runs/admission.ts';
import { RunRecorder } from '../runs/recorder.ts';
import { executeRunAttempt } from '../runs/execute-run.ts';
import type { ServiceDeps } from './deps.ts';

export const DEFAULT_IN_MEMORY_TIMEOUT_MS = 60_000;
const API_EXECUTOR = executorId('api');

// In-memory runs executing in this process, so that cancelRun (in this process) can stop them.
const executing = new Map<string, AbortController>();

/** Stops an in-memory run executing in this process; false when it is not here. */
export function abortInMemoryRun(runId: string): boolean {
  const controller = executing.get(runId);
  controller?.abort();
  return controller !== undefined;
}

export async function executeInMemory(deps: ServiceDeps, { runId }: { runId: string }): Promise<void> {
  const recorder = new RunRecorder(deps.db);
  // The run names the API process executing it (no capacity is held: in-memory runs are not admitted).
  const run = await recorder.beginAttempt({ runId, attempt: 1, workerId: API_EXECUTOR });
  if (!run) return;
  const controller = new AbortController();
  executing.set(runId, controller);
  try {
   await executeRunAttempt({
    run,
    attempt: 1,
    recorder,
    executor: { workerId: API_EXECUTOR, host: hostname() },
    storageRoot: deps.storageRoot,
    signal: controller.signal,
    isLastAttempt: true,
    timeoutMs: deps.limits.inMemoryTimeoutMs ?? DEFAULT_IN_MEMORY_TIMEOUT_MS,
    sandbox: { pool: deps.pool ?? null, extraRoutineDirs: deps.extraRoutineDirs ?? [] },
   });
  } finally {
    executing.delete(runId);
  }
}
