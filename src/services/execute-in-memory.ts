// In-memory runs execute at once in the API process — isolated in the same sandboxed child
// process as background runs — and the createRun answer carries their result.
import { RunRecorder } from '../runs/recorder.ts';
import { executeRunAttempt } from '../runs/execute-run.ts';
import type { ServiceDeps } from './deps.ts';

export async function executeInMemory(deps: ServiceDeps, { runId }: { runId: string }): Promise<void> {
  const recorder = new RunRecorder(deps.db);
  const run = await recorder.beginAttempt({ runId, attempt: 1 });
  if (!run) return;
  await executeRunAttempt({
    run,
    attempt: 1,
    recorder,
    storageRoot: deps.storageRoot,
    signal: new AbortController().signal,
    isLastAttempt: true,
  });
}
