// `npm run api` and `npm run worker`: the production shape, each horizontally scalable.
import type { Env } from '../env.ts';
import { installShutdownHandlers } from '../embedded/supervisor.ts';
import { initTracing, shutdownTracing } from '../observability/tracing.ts';
import { openCore, startApi, startWorker } from '../runtime.ts';
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
  const core = await openCore({ env, databaseUrl, log });
  const api = await startApi({ core, temporalAddress, port: env.PORT, host: env.HOST, log });
  installShutdownHandlers({
    log,
    stop: async () => {
      await api.stop();
      await core.close();
      await shutdownTracing();
    },
  });
  log(`GraphQL at ${api.url}`);
  console.log(`READY ${JSON.stringify({ url: api.url })}`);
}

export async function workerCommand({ env }: { env: Env }): Promise<void> {
  const { databaseUrl, temporalAddress } = requireExternal(env, 'worker');
  await initTracing(env, 'routine-runs-worker');
  const log = serviceLog(env, 'worker');
  const core = await openCore({ env, databaseUrl, log });
  const worker = await startWorker({ core, temporalAddress });
  installShutdownHandlers({
    log,
    stop: async () => {
      await worker.stop();
      await core.close();
      await shutdownTracing();
    },
  });
  log(`polling task queue ${env.TEMPORAL_TASK_QUEUE} on ${temporalAddress}`);
  console.log('READY {}');
}
