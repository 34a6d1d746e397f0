// `npm run api` and `npm run worker`: the production shape, each horizontally scalable.
import type { Env } from '../env.ts';
import { initTracing, shutdownTracing } from '../observability/tracing.ts';
import { openCore, startApi, startOperationsServer, startWorker, workerReadiness } from '../runtime.ts';
import { installShutdownHandlers, ShutdownSequence } from '../shutdown.ts';
import { serviceLog } from './log.ts';

function requireExternal(env: Env, role: string): { databaseUrl: string; temporalAddress: string } {
  const missing = [!env.DATABASE_URL && 'DATABASE_URL', !env.TEMPORAL_ADDRESS && 'TEMPORAL_ADDRESS'].filter(Boolean);
  if (missing.length > 0) {
    throw new Error(`npm run ${role} needs ${missing.join(' and ')} (use \`npm start\` for the embedded all-in-one mode)`);
  }
  return { databaseUrl: env.DATABASE_URL!, temporalAddress: env.TEMPORAL_ADDRESS! };
}

export async function apiCommand({ env }: { env: Env }): Promise<void> {
  const { databaseUrl, temporalAddress } = requireExternal(env, 'api');
  await initTracing(env, 'routine-runs-api');
  const log = serviceLog(env, 'api');
  const parts = new ShutdownSequence();
  // Added first, so stopped last: spans ended by the other parts' stops are still exported.
  parts.add('traces', shutdownTracing);
  installShutdownHandlers({ log, stop: () => parts.stopAll(log), timeoutMs: env.SHUTDOWN_TIMEOUT_MS, pending: () => parts.pending() });
  const core = await openCore({ env, databaseUrl, log });
  parts.add('database connections', core.close);
  const api = await startApi({ core, temporalAddress, port: env.PORT, host: env.HOST, log });
  parts.add('api', api.stop);
  const operations = await startOperationsServer({ env, readiness: api.readiness });
  if (operations) parts.add('operations server', operations.stop);
  log(`GraphQL at ${api.url}${operations ? `, metrics at ${operations.url}/metrics` : ''}`);
  console.log(`READY ${JSON.stringify({ url: api.url, ...(operations ? { operationsUrl: operations.url } : {}) })}`);
}

export async function workerCommand({ env }: { env: Env }): Promise<void> {
  const { databaseUrl, temporalAddress } = requireExternal(env, 'worker');
  await initTracing(env, 'routine-runs-worker');
  const log = serviceLog(env, 'worker');
  const parts = new ShutdownSequence();
  // Added first, so stopped last: spans ended by the other parts' stops are still exported.
  parts.add('traces', shutdownTracing);
  installShutdownHandlers({ log, stop: () => parts.stopAll(log), timeoutMs: env.SHUTDOWN_TIMEOUT_MS, pending: () => parts.pending() });
  const core = await openCore({ env, databaseUrl, log });
  parts.add('database connections', core.close);
  const worker = await startWorker({ core, temporalAddress });
  parts.add('worker', worker.stop);
  const operations = await startOperationsServer({ env, readiness: workerReadiness(core, worker) });
  if (operations) parts.add('operations server', operations.stop);
  log(`polling task queue ${env.TEMPORAL_TASK_QUEUE} on ${temporalAddress}`);
  console.log(`READY ${JSON.stringify(operations ? { operationsUrl: operations.url } : {})}`);
}
