// The parts a process is made of — core (database, routines, storage), worker and API — so that
// `npm start` (all in one), `npm run api`, `npm run worker` and the tests compose the same pieces.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Worker } from '@temporalio/worker';
import type { Db } from './db/client.ts';
import { createDb, poolStats } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { retentionPolicyOf, type Env } from './env.ts';
import { RunEventBus, type RunEventTransport } from './events/bus.ts';
import { PostgresRunEventTransport } from './events/postgres-transport.ts';
import { RunEventFeeds } from './events/run-feed.ts';
import { RunUpdateFeeds } from './events/run-updates.ts';
import { ArtifactLinks } from './http/artifact-links.ts';
import { buildApp } from './http/app.ts';
import { createOperationsServer } from './http/http-routes.ts';
import { databaseCheck, Readiness, temporalCheck, workerCheck, type HealthCheck } from './observability/health.ts';
import { readGaugesFrom } from './observability/metrics.ts';
import type { SharedSubscriptions } from './http/shared-subscriptions.ts';
import { loadRoutineRegistry, type RoutineRegistry } from './routines/registry.ts';
import { syncRoutines } from './routines/sync.ts';
import { RunLauncher } from './runs/launcher.ts';
import type { ServiceDeps } from './services/deps.ts';
import { connectTemporalClient, connectTemporalWorker, temporalTarget } from './temporal/connection.ts';
import { ensureRetentionSchedule } from './schedules/temporal-schedules.ts';
import { admitSignal } from '../workflows/run.workflow.ts';
import { workflowIdForRun } from '../workflows/shared.ts';
import { Admission, WorkerRegistration } from './runs/admission.ts';
import { RunReconciler } from './runs/reconciler.ts';
import { InMemoryCapacity } from './runs/in-memory-capacity.ts';
import { MutationRateLimiter } from './access/rate-limit.ts';
import { prepareTranspiledMethodProcess } from './execution/method-process-build.ts';
import { createMethodProcessPool } from './execution/sandbox.ts';
import { lineLog, processLogger, type Log } from './logger.ts';
import { schema } from '../schema/index.ts';

export type { Log };

export interface Core {
  env: Env;
  databaseUrl: string;
  db: Db;
  registry: RoutineRegistry;
  /** ROUTINES_EXTRA_DIRS: routine folders besides the built-in library. */
  extraRoutineDirs: string[];
  storageRoot: string;
  /** How this process announces and hears run changes (PostgreSQL, or Redis with REDIS_URL). */
  events: RunEventTransport;
  close(): Promise<void>;
}

/** The one place that picks the run event transport. */
async function openRunEventTransport({ env, databaseUrl, log }: { env: Env; databaseUrl: string; log: Log }): Promise<RunEventTransport> {
  if (!env.REDIS_URL) return new PostgresRunEventTransport({ url: databaseUrl, log });
  // Loaded only when used: processes on PostgreSQL do not carry the Redis client.
  const { RedisRunEventTransport } = await import('./events/redis-transport.ts');
  return RedisRunEventTransport.connect({ url: env.REDIS_URL, channelPrefix: env.REDIS_CHANNEL_PREFIX, log });
}

/** Migrates (under an advisory lock), loads routines and mirrors them into the database. */
export async function openCore({ env, databaseUrl, log }: { env: Env; databaseUrl: string; log: Log }): Promise<Core> {
  await migrate({ url: databaseUrl, log });
  const events = await openRunEventTransport({ env, databaseUrl, log });
  const ownDb = createDb({ url: databaseUrl });
  const db = events.publishThrough(ownDb);
  const stopGauges = readGaugesFrom({ db, leaseMs: env.WORKER_LEASE_MS, pool: () => poolStats(ownDb) });
  const extraRoutineDirs = (env.ROUTINES_EXTRA_DIRS ?? '').split(path.delimiter).filter(Boolean);
  const registry = await loadRoutineRegistry({ extraDirs: extraRoutineDirs });
  await syncRoutines({ db, registry });
  return {
    env,
    databaseUrl,
    db,
    registry,
    extraRoutineDirs,
    storageRoot: path.join(env.dataDir, 'storage'),
    events,
    close: async () => {
      stopGauges();
      await db.$disconnect();
      await events.close();
    },
  };
}

let runtimeInstalled = false;

/**
 * Once per process, before anything else instantiates the SDK's runtime (a test environment that
 * starts its own server does, so such tests call this first).
 */
export async function installTemporalRuntime(env: Env): Promise<void> {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const { DefaultLogger, Runtime } = await import('@temporalio/worker');
  // Temporal's own lines (worker, workflows' and activities' loggers, the core's) become lines of
  // the one logger. Its info lines (every activity and workflow start and end) show at debug.
  const logger = processLogger(env.LOG_LEVEL).child({ name: 'temporal' });
  const temporalLevel = env.LOG_LEVEL === 'debug' ? 'DEBUG' : env.LOG_LEVEL === 'error' ? 'ERROR' : 'WARN';
  const pinoLevels = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;
  // Our own signal handling shuts the worker down in order (API first, then the worker).
  Runtime.install({
    logger: new DefaultLogger(temporalLevel, ({ level, message, meta }) => logger[pinoLevels[level]](readableMeta(meta), message)),
    shutdownSignals: [],
  });
}

/** Temporal hands failures as Error objects, which JSON shows as `{}`: keep their name and message. */
function readableMeta(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!meta || !(meta.error instanceof Error)) return meta ?? {};
  const { name, message } = meta.error;
  const type = (meta.error as { type?: unknown }).type;
  return { ...meta, error: { name, message, ...(typeof type === 'string' ? { type } : {}) } };
}

export interface RunningWorker {
  worker: Worker;
  /** This worker's row in the capacity table. */
  registration: WorkerRegistration;
  admission: Admission;
  /** What /readyz asks of a process with this worker: Temporal answers, the worker polls. */
  checks: { temporal: HealthCheck; worker: HealthCheck };
  stop(): Promise<void>;
}

export async function startWorker({ core, temporalAddress }: { core: Core; temporalAddress: string }): Promise<RunningWorker> {
  await installTemporalRuntime(core.env);
  // Worker-only modules (the Temporal worker, its native core, the workflow bundler) are loaded
  // here: an API process never needs them, and they cost it memory it keeps for its sockets.
  const { createRunWorker } = await import('../workflows/worker.ts');
  const { env, db } = core;
  const log = lineLog(processLogger(env.LOG_LEVEL).child({ name: 'worker' }));
  const target = temporalTarget(env, temporalAddress);
  const connection = await connectTemporalWorker(target);
  // Admission passes wake the workflows of the runs they admitted with a signal.
  const client = await connectTemporalClient(target);
  const admission = new Admission({
    db,
    leaseMs: env.WORKER_LEASE_MS,
    maxOvertakes: env.ADMISSION_MAX_OVERTAKES,
    log,
    notify: async (runIds) => {
      await Promise.all(
        runIds.map(
          (runId) =>
            client.workflow
              .getHandle(workflowIdForRun(runId))
              .signal(admitSignal)
              .catch(() => {}), // not started yet, or already ended: it asks for itself
        ),
      );
    },
  });
  const registration = new WorkerRegistration({
    db,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    slots: env.WORKER_MAX_CONCURRENT_RUNS,
    memoryMb: env.WORKER_MEMORY_MB,
    leaseMs: env.WORKER_LEASE_MS,
    // Periodic passes pick up capacity released by dead workers.
    onHeartbeat: () => admission.pump(),
    log,
  });
  const pool = createMethodProcessPool({ size: env.WORKER_WARM_PROCESSES, maxRunsPerProcess: env.METHOD_PROCESS_MAX_RUNS });
  // Schedules' fires create their runs here, through createRun: the launcher starts their workflows
  // (a start that fails is left to the API processes' sweepers, as for any run).
  const scheduleLauncher = new RunLauncher({ db, client, taskQueue: env.TEMPORAL_TASK_QUEUE, log });
  const scheduleServices: ServiceDeps = {
    db,
    registry: core.registry,
    launcher: scheduleLauncher,
    storageRoot: core.storageRoot,
    limits: { maxRunMemoryMb: env.MAX_RUN_MEMORY_MB, workerLeaseMs: env.WORKER_LEASE_MS },
    extraRoutineDirs: core.extraRoutineDirs,
  };
  const worker = await createRunWorker({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    db,
    storageRoot: core.storageRoot,
    maxConcurrentRuns: env.WORKER_MAX_CONCURRENT_RUNS,
    activities: {
      admission,
      workerId: registration.id,
      pool,
      extraRoutineDirs: core.extraRoutineDirs,
      maxRunMemoryMb: env.MAX_RUN_MEMORY_MB,
      log,
    },
    scheduleServices,
  });
  await registration.start();
  const running = worker.run();
  await admission.pump(); // new capacity: admit whoever waits
  // From the sources, method processes run on plain node once they are transpiled. Started only
  // now: on a small machine it would compete with the workflow bundler above and delay readiness.
  void prepareTranspiledMethodProcess(core.extraRoutineDirs);
  return {
    worker,
    registration,
    admission,
    checks: { temporal: temporalCheck(client), worker: workerCheck(worker) },
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => {});
      await scheduleLauncher.stop();
      await registration.stop();
      pool.close();
      await client.connection.close();
      await connection.close();
    },
  };
}

export interface RunningApi {
  url: string;
  port: number;
  services: ServiceDeps;
  feeds: RunEventFeeds;
  runUpdates: RunUpdateFeeds;
  sharedSubscriptions: SharedSubscriptions;
  reconciler: RunReconciler;
  /** What /readyz reports for this process. */
  readiness: Readiness;
  stop(): Promise<void>;
}

export async function startApi({
  core,
  temporalAddress,
  port,
  host,
  log,
  worker = null,
}: {
  core: Core;
  temporalAddress: string;
  port: number;
  host: string;
  log: Log;
  /** The worker running in this process (`npm start`): /readyz asks about it too. */
  worker?: RunningWorker | null;
}): Promise<RunningApi> {
  const client = await connectTemporalClient(temporalTarget(core.env, temporalAddress));
  const readiness = new Readiness({
    database: databaseCheck(core.db),
    temporal: temporalCheck(client),
    ...(worker ? { worker: worker.checks.worker } : {}),
  });
  const launcher = new RunLauncher({ db: core.db, client, taskQueue: core.env.TEMPORAL_TASK_QUEUE, log });
  launcher.startSweeper();
  const reconciler = new RunReconciler({
    db: core.db,
    launcher,
    intervalMs: core.env.RECONCILE_INTERVAL_MS,
    inMemoryStaleMs: core.env.IN_MEMORY_TIMEOUT_MS + 60_000,
    log,
  });
  reconciler.start();
  // In-memory runs execute in this process: one warm method process is enough to start with.
  const pool = createMethodProcessPool({
    size: Math.min(1, core.env.WORKER_WARM_PROCESSES),
    maxRunsPerProcess: core.env.METHOD_PROCESS_MAX_RUNS,
  });
  const bus = await RunEventBus.connect({ transport: core.events.receiver() });
  const services: ServiceDeps = {
    db: core.db,
    registry: core.registry,
    launcher,
    bus,
    storageRoot: core.storageRoot,
    limits: {
      maxRunMemoryMb: core.env.MAX_RUN_MEMORY_MB,
      workerLeaseMs: core.env.WORKER_LEASE_MS,
      inMemoryTimeoutMs: core.env.IN_MEMORY_TIMEOUT_MS,
      maxDatasetBytes: core.env.DATASET_MAX_BYTES,
      authCacheMs: core.env.AUTH_CACHE_MS,
    },
    inMemory: new InMemoryCapacity({
      slots: core.env.IN_MEMORY_MAX_CONCURRENT_RUNS,
      memoryMb: core.env.IN_MEMORY_MEMORY_MB,
      perUser: core.env.IN_MEMORY_MAX_RUNS_PER_USER,
    }),
    pool,
    extraRoutineDirs: core.extraRoutineDirs,
    mutationRate: new MutationRateLimiter({ perMinute: core.env.MUTATION_RATE_LIMIT_PER_MINUTE, burst: core.env.MUTATION_RATE_BURST }),
    schedules: {
      client,
      taskQueue: core.env.TEMPORAL_TASK_QUEUE,
      minIntervalSeconds: core.env.SCHEDULE_MIN_INTERVAL_SECONDS,
      perWorkspace: core.env.SCHEDULES_PER_WORKSPACE,
    },
  };
  try {
    await ensureRetentionSchedule(
      { client, taskQueue: core.env.TEMPORAL_TASK_QUEUE },
      { cron: core.env.RETENTION_SCHEDULE ?? null, policy: retentionPolicyOf(core.env) },
    );
  } catch (error) {
    await launcher.stop();
    await reconciler.stop();
    pool.close();
    await bus.close();
    await client.connection.close();
    throw error;
  }
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  const links = new ArtifactLinks({
    baseUrl: core.env.PUBLIC_URL ?? `http://${shownHost}:${port}`,
    secret: core.env.ARTIFACT_LINK_SECRET ?? randomBytes(32).toString('hex'),
  });
  const feeds = new RunEventFeeds({ db: core.db, bus });
  const runUpdates = new RunUpdateFeeds({ db: core.db, bus });
  const app = buildApp({
    schema,
    options: {
      maxBufferedBytes: core.env.WS_MAX_BUFFERED_BYTES,
      stallTimeoutMs: core.env.WS_STALL_TIMEOUT_MS,
      keepAliveMs: core.env.WS_KEEPALIVE_MS,
      maxPayloadBytes: core.env.WS_MAX_PAYLOAD_BYTES,
      connectionInitTimeoutMs: core.env.WS_CONNECTION_INIT_TIMEOUT_MS,
      graphqlLimits: {
        maxDepth: core.env.GRAPHQL_MAX_DEPTH,
        maxAliases: core.env.GRAPHQL_MAX_ALIASES,
        maxTokens: core.env.GRAPHQL_MAX_TOKENS,
        maxCost: core.env.GRAPHQL_MAX_COST,
        maxDirectives: core.env.GRAPHQL_MAX_DIRECTIVES,
      },
      compiledReads: core.env.GRAPHQL_COMPILED_READS,
      // With METRICS_PORT, /metrics is served there (startOperationsServer) and not here.
      operations: { readiness, metrics: core.env.METRICS && core.env.METRICS_PORT === undefined, metricsToken: core.env.METRICS_TOKEN },
    },
    base: { db: core.db, services, bus, feeds, runUpdates, links },
  });
  const stopParts = async () => {
    await launcher.stop();
    await reconciler.stop();
    pool.close();
    await app.stop();
    await bus.close();
    await client.connection.close();
  };
  let started: Awaited<ReturnType<typeof app.start>>;
  try {
    started = await app.start({ port, host });
  } catch (error) {
    // A port in use or a HOST that does not resolve: what started must not keep the process alive.
    await stopParts().catch(() => {});
    throw error;
  }
  if (port === 0 && !core.env.PUBLIC_URL) {
    links.setBaseUrl(`http://${shownHost}:${started.port}`); // the port the OS picked
  }
  return {
    ...started,
    services,
    feeds,
    runUpdates,
    sharedSubscriptions: app.sharedSubscriptions,
    reconciler,
    readiness,
    stop: stopParts,
  };
}

export interface OperationsServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * /healthz, /readyz and /metrics on METRICS_PORT: the only HTTP port of a worker process, and where
 * an API process's metrics go when they should not share its public port. Null when METRICS_PORT is unset.
 */
export async function startOperationsServer({ env, readiness }: { env: Env; readiness: Readiness }): Promise<OperationsServer | null> {
  if (env.METRICS_PORT === undefined) return null;
  const server = createOperationsServer({ readiness, metrics: env.METRICS, metricsToken: env.METRICS_TOKEN });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.METRICS_PORT, env.HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://${env.HOST}:${port}`,
    port,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Readiness of a worker-only process (`npm run worker`). */
export function workerReadiness(core: Core, worker: RunningWorker): Readiness {
  return new Readiness({ database: databaseCheck(core.db), ...worker.checks });
}
