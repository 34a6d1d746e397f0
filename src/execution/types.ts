// The contract between whoever runs a method (a Temporal activity, or the API for in-memory
// runs) and the sandbox that executes it in a supervised child process.
import type { StoredArtifact } from '../storage/artifact-store.ts';

export interface MethodExecutionRequest {
  runId: string;
  instanceId: string;
  routineName: string;
  routineVersion: string;
  methodName: string;
  /** Already validated against the method's input schema (defaults not yet applied). */
  inputs: Record<string, unknown>;
  instanceConfig: Record<string, unknown> | null;
  attempt: number;
  memoryMb: number;
  /** Hard deadline for this attempt; the child is killed past it. */
  timeoutMs: number;
  storeArtifacts: boolean;
  includePreviews: boolean;
  includeStatistics: boolean;
  /** Rows in a table artifact's preview, from the run's options; unset: the storage module's default. */
  previewRows?: number | null;
  /** What the previous attempt of this run last reported (its last heartbeat), if any. */
  resumeFrom?: { percent: number; message: string | null } | null;
  /** Root folder of the local routine:// file system (DATA_DIR/storage). */
  storageRoot: string;
}

export interface MethodExecutionHooks {
  onProgress(progress: { percent: number; message: string | null }): void;
  onLog(log: { level: string; message: string }): void;
  /** Called once per artifact after its files are in place; awaited before the run may complete. */
  onArtifact(artifact: StoredArtifact): Promise<void>;
}

export interface RunResourceUsage {
  /** Peak resident memory of the method's process, MB. */
  peakMemoryMb: number | null;
  /** User + system CPU time of the method's process, ms. */
  cpuTimeMs: number | null;
}

/**
 * Where a failure happened: the run's inputs or method were refused when the attempt began
 * (VALIDATION), the method's code failed (METHOD), reading or writing an artifact failed
 * (ARTIFACT_STORAGE), the process executing the method died, ran out of memory or time
 * (PROCESS), or the orchestration around it failed (WORKFLOW: terminated, lost, timed out).
 */
export type FailurePhase = 'VALIDATION' | 'METHOD' | 'ARTIFACT_STORAGE' | 'PROCESS' | 'WORKFLOW';

export interface MethodFailure {
  type: string;
  message: string;
  retryable: boolean;
  /** Where it happened; METHOD when not said. */
  phase?: FailurePhase;
  /** OUT_OF_MEMORY: the memory to re-run with; null when the run had MAX_RUN_MEMORY_MB already. */
  suggestedMemoryMb?: number | null;
}

export type MethodExecutionResult =
  | { status: 'COMPLETED'; outputs: Record<string, unknown>; resources: RunResourceUsage }
  | { status: 'FAILED'; error: MethodFailure; resources: RunResourceUsage }
  | { status: 'CANCELLED'; resources: RunResourceUsage };
