// The parts a process is made of — core (database, routines, storage), worker and API — so that
// `npm start` (all in one), `npm run api`, `npm run worker` and the tests compose the same pieces.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import type { Db } from './db/client.ts';
import { createDb } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import type { Env } from './env.ts';
import { RunEventBus } from './events/bus.ts';
import { ArtifactLinks } from './http/artifact-links.ts';
import { buildApp } from './http/app.ts';
import { loadRoutineRegistry, type RoutineRegistry } from './routines/registry.ts';
import { syncRoutines } from './routines/sync.ts';
import { RunLauncher } from './runs/launcher.ts';
import type { ServiceDeps } from './services/deps.ts';
import { connectTemporalClient, connectTemporalWorker, temporalTarget } from './temporal/connection.ts';
import { createRunWorker } from '../workflows/worker.ts';
import { schema } from '../schema/index.ts';

export type Log = (message: string) => void;

export interface Core {
  env: Env;
  databaseUrl: string;
  db: Db;
  registry: RoutineRegistry;
  storageRoot: string;
  close(): Promise<void>;
}

/** Migrates (under an advisory lock), loads routines and mirrors them into the database. */
export async function openCore({ env, databaseUrl, log }: { env: Env; databaseUrl: string; log: Log }): Promise<Core> {
  await migrate({ url: databaseUrl, log });
  const db = createDb({ url: databaseUrl });
  const registry = await loadRoutineRegistry();
  await syncRoutines({ db, registry });
  return {
    env,
    databaseUrl,
    db,
    registry,
    storageRoot: path.join(env.dataDir, 'storage'),
    close: () => db.$disconnect(),
  };
}

let runtimeInstalled = false;

function installTemporalRuntime(env: Env): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // Our own signal handling shuts the worker down in order (API first, then the worker).
  Runtime.install({ logger: new DefaultLogger(env.LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN'), shutdownSignals: [] });
}

export interface RunningWorker {
  worker: Worker;
  stop(): Promise<void>;
}

export async function startWorker({
  core,
  temporalAddress,
}: {
  core: Core;
  temporalAddress: string;
}): Promise<RunningWorker> {
  installTemporalRuntime(core.env);
  const connection = await connectTemporalWorker(temporalTarget(core.env, temporalAddress));
  const worker = await createRunWorker({
    connection,
    namespace: core.env.TEMPORAL_NAMESPACE,
    taskQueue: core.env.TEMPORAL_TASK_QUEUE,
    db: core.db,
    storageRoot: core.storageRoot,
    maxConcurrentRuns: core.env.WORKER_MAX_CONCURRENT_RUNS,
  });
  const running = worker.run();
  return {
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => {});
      await connection.close();
    },
  };
}

export interface RunningApi {
  url: string;
  port: number;
  services: ServiceDeps;
  stop(): Promise<void>;
}

export async function startApi({
  core,
  temporalAddress,
  port,
  host,
  log,
}: {
  core: Core;
  temporalAddress: string;
  port: number;
  host: string;
  log: Log;
}): Promise<RunningApi> {
  const client = await connectTemporalClient(temporalTarget(core.env, temporalAddress));
  const launcher = new RunLauncher({ db: core.db, client, taskQueue: core.env.TEMPORAL_TASK_QUEUE, log });
  launcher.startSweeper();
  const bus = await RunEventBus.connect({ url: core.databaseUrl, log });
  const services: ServiceDeps = {
    db: core.db,
    registry: core.registry,
    launcher,
    storageRoot: core.storageRoot,
    limits: { maxRunMemoryMb: core.env.MAX_RUN_MEMORY_MB },
  };
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  const links = new ArtifactLinks({
    baseUrl: core.env.PUBLIC_URL ?? `http://${shownHost}:${port}`,
    secret: core.env.ARTIFACT_LINK_SECRET ?? randomBytes(32).toString('hex'),
  });
  const app = buildApp({ schema, base: { db: core.db, services, bus, links } });
  const started = await app.start({ port, host });
  if (port === 0 && !core.env.PUBLIC_URL) {
    links.setBaseUrl(`http://${shownHost}:${started.port}`); // the port the OS picked
  }
  return {
    ...started,
    services,
    async stop() {
      launcher.stop();
      await app.stop();
      await bus.close();
      await client.connection.close();
    },
  };
}
