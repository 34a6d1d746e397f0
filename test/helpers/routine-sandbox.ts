// Runs a routine's method the way production runs it — in the sandbox's child process, writing
// real artifacts — into a temporary storage root that lives as long as the test file.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { executeMethod } from '../../src/execution/sandbox.ts';
import type { MethodExecutionRequest, MethodExecutionResult } from '../../src/execution/types.ts';
import type { StoredArtifact } from '../../src/storage/artifact-store.ts';

export type MethodCall = Partial<MethodExecutionRequest> & Pick<MethodExecutionRequest, 'routineName' | 'methodName'>;

export interface MethodRun {
  request: MethodExecutionRequest;
  result: MethodExecutionResult;
  progress: Array<{ percent: number; message: string | null }>;
  artifacts: StoredArtifact[];
}

/**
 * Call at the top of a test file: registers the storage root's creation and removal, and returns
 * `execute`, which gives each call its own run id (so artifacts never collide) and stores
 * previews and statistics unless told otherwise.
 */
export function routineSandbox({ prefix }: { prefix: string }): {
  storageRoot: () => string;
  execute: (call: MethodCall) => Promise<MethodRun>;
} {
  let root: string | null = null;
  let runCounter = 0;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  });
  afterAll(async () => {
    if (root) await fs.rm(root, { recursive: true, force: true });
  });
  const storageRoot = () => {
    if (!root) throw new Error('routineSandbox: the storage root exists only inside tests');
    return root;
  };
  const execute = async (call: MethodCall): Promise<MethodRun> => {
    runCounter++;
    const progress: MethodRun['progress'] = [];
    const artifacts: StoredArtifact[] = [];
    const request: MethodExecutionRequest = {
      runId: `run-${runCounter}`,
      instanceId: 'inst-1',
      routineVersion: '1.0.0',
      inputs: {},
      instanceConfig: null,
      attempt: 1,
      memoryMb: 256,
      timeoutMs: 120_000,
      storeArtifacts: true,
      includePreviews: true,
      includeStatistics: true,
      storageRoot: storageRoot(),
      ...call,
    };
    const result = await executeMethod({
      request,
      hooks: {
        onProgress: (update) => progress.push(update),
        onLog: () => {},
        onArtifact: async (artifact) => {
          artifacts.push(artifact);
        },
      },
    });
    return { request, result, progress, artifacts };
  };
  return { storageRoot, execute };
}

/** A completed run's outputs; anything else fails the test with the whole result. */
export function outputs(result: MethodExecutionResult): Record<string, unknown> {
  if (result.status !== 'COMPLETED') throw new Error(`expected COMPLETED, got ${JSON.stringify(result)}`);
  return result.outputs;
}
