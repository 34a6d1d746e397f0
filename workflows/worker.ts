// The Temporal worker: runs run workflows and their activities on the task queue.
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Db } from '../src/db/client.ts';
import { ENV_DEFAULTS } from '../src/env.ts';
import { processLogger } from '../src/logger.ts';
import { siblingModule } from '../src/paths.ts';
import { createRunActivities, type RunActivityDeps } from './activities/index.ts';

let bundle: Promise<WorkflowBundleWithSourceMap> | null = null;

/** Bundling takes about a second; do it once per process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: siblingModule(import.meta.url, 'index'),
    logger: {
      log() {},
      trace() {},
      debug() {},
      info() {},
      warn() {},
      error: (message, meta) => processLogger().error(meta ?? {}, `workflow bundle: ${message}`),
    },
  });
  return bundle;
}

export async function createRunWorker({
  connection,
  namespace,
  taskQueue,
  db,
  storageRoot,
  maxConcurrentRuns = ENV_DEFAULTS.WORKER_MAX_CONCURRENT_RUNS,
  activities = {},
}: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Db;
  storageRoot: string;
  maxConcurrentRuns?: number;
  /** Admission, warm processes, extra routine folders… (see RunActivityDeps). */
  activities?: Omit<RunActivityDeps, 'db' | 'storageRoot'>;
}): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createRunActivities({ db, storageRoot, ...activities }),
    maxConcurrentActivityTaskExecutions: maxConcurrentRuns,
    // Cancellation reaches an activity only when it heartbeats: flush heartbeats quickly so a
    // cancel stops the method within about a second.
    defaultHeartbeatThrottleInterval: '500 milliseconds',
    maxHeartbeatThrottleInterval: '1 second',
  });
}
