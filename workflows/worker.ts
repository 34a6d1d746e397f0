// The Temporal worker: runs run workflows and their activities on the task queue.
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker, type NativeConnection, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Db } from '../src/db/client.ts';
import { ENV_DEFAULTS } from '../src/env.ts';
import { processLogger } from '../src/logger.ts';
import { tracingPipeline, type TracingPipeline } from '../src/observability/tracing.ts';
import { PROJECT_ROOT, siblingModule } from '../src/paths.ts';
import type { ServiceDeps } from '../src/services/deps.ts';
import { createRunActivities, type RunActivityDeps } from './activities/index.ts';
import { createScheduleActivities } from './activities/schedule.ts';
import { cachedWorkflowBundle, type BundleCacheOutcome } from './bundle-cache.ts';

/** Where bundles are kept across starts (see bundle-cache.ts). */
export const WORKFLOW_BUNDLE_CACHE_DIR = path.join(PROJECT_ROOT, 'dist-cache');

const bundles = new Map<boolean, Promise<WorkflowBundleWithSourceMap>>();

/**
 * Temporal's workflow interceptors for OpenTelemetry (a span per workflow run and per activity it
 * schedules, with the context passed on in the activity's headers). They add no commands, so
 * histories replay the same with or without them (test/workflow-replay.test.ts).
 */
const TRACING_WORKFLOW_INTERCEPTORS = createRequire(import.meta.url).resolve(
  '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors',
);

/**
 * Bundling takes about two seconds; it is done once per process, and from the second start on not
 * at all while the workflow code is unchanged (the bundle is read from dist-cache/). With
 * `tracing` the bundle carries the workflow interceptors; without, no OpenTelemetry code enters the
 * workflow sandbox. The first call may come early (`npm start` asks at once, so the bundle is ready
 * by the time PostgreSQL and Temporal are).
 */
export function workflowBundle({
  tracing = false,
  onCache,
}: { tracing?: boolean; onCache?: (outcome: BundleCacheOutcome) => void } = {}): Promise<WorkflowBundleWithSourceMap> {
  let bundle = bundles.get(tracing);
  if (bundle) return bundle;
  bundle = cachedWorkflowBundle({
    cacheDir: WORKFLOW_BUNDLE_CACHE_DIR,
    options: {
      workflowsPath: siblingModule(import.meta.url, 'index'),
      workflowInterceptorModules: tracing ? [TRACING_WORKFLOW_INTERCEPTORS] : [],
      logger: {
        log() {},
        trace() {},
        debug() {},
        info() {},
        warn() {},
        error: (message, meta) => processLogger().error(meta ?? {}, `workflow bundle: ${message}`),
      },
    },
    onOutcome: onCache,
  });
  // A failed bundle is not kept: the next call tries again.
  bundle.catch(() => bundles.delete(tracing));
  bundles.set(tracing, bundle);
  return bundle;
}

/** The bundle this worker will ask for, with tracing as configured now (call after initTracing). */
export function prepareWorkflowBundle(onCache?: (outcome: BundleCacheOutcome) => void): Promise<WorkflowBundleWithSourceMap> {
  return workflowBundle({ tracing: tracingPipeline() !== null, onCache });
}

/** The activity interceptors and the sink workflow spans are exported through, with tracing on. */
async function tracingOptions(pipeline: TracingPipeline | null): Promise<Pick<WorkerOptions, 'interceptors' | 'sinks'>> {
  if (!pipeline) return {};
  const { makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor } =
    await import('@temporalio/interceptors-opentelemetry/lib/worker/index.js');
  return {
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: { exporter: makeWorkflowExporter(pipeline.spanProcessor, pipeline.resource) },
  };
}

export async function createRunWorker({
  connection,
  namespace,
  taskQueue,
  db,
  storageRoot,
  maxConcurrentRuns = ENV_DEFAULTS.WORKER_MAX_CONCURRENT_RUNS,
  activities = {},
  scheduleServices = null,
}: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Db;
  storageRoot: string;
  maxConcurrentRuns?: number;
  /** Admission, warm processes, extra routine folders… (see RunActivityDeps). */
  activities?: Omit<RunActivityDeps, 'db' | 'storageRoot'>;
  /** What schedules' fires create runs with (createRun's services); null: this worker executes no fires. */
  scheduleServices?: ServiceDeps | null;
}): Promise<Worker> {
  const pipeline = tracingPipeline();
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowBundle: await workflowBundle({ tracing: pipeline !== null }),
    ...(await tracingOptions(pipeline)),
    activities: {
      ...createRunActivities({ db, storageRoot, ...activities }),
      ...(scheduleServices ? createScheduleActivities({ services: scheduleServices }) : {}),
    },
    maxConcurrentActivityTaskExecutions: maxConcurrentRuns,
    // Cancellation reaches an activity only when it heartbeats: flush heartbeats quickly so a
    // cancel stops the method within about a second.
    defaultHeartbeatThrottleInterval: '500 milliseconds',
    maxHeartbeatThrottleInterval: '1 second',
  });
}
