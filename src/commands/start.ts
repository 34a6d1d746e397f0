// `npm start`: the embedded default. Supervises embedded PostgreSQL and a Temporal dev server
// (each only when DATABASE_URL / TEMPORAL_ADDRESS is not set), and runs the worker and the API
// in this process.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startEmbeddedServices } from '../embedded/supervisor.ts';
import type { Env } from '../env.ts';
import { lineLog } from '../logger.ts';
import { initTracing, shutdownTracing } from '../observability/tracing.ts';
import { PROJECT_ROOT } from '../paths.ts';
import { installShutdownHandlers, killEmbeddedServers, ShutdownSequence } from '../shutdown.ts';
import { serviceLogger, timed } from './log.ts';

export async function startCommand({ env }: { env: Env }): Promise<void> {
  const logger = serviceLogger(env, 'routine-runs');
  const log = lineLog(logger);
  const started = performance.now();
  const phases: Record<string, number> = {};
  const parts = new ShutdownSequence();
  const stopAll = () => parts.stopAll((message) => logger.error(message));
  installShutdownHandlers({
    stop: stopAll,
    log,
    timeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    pending: () => parts.pending(),
    kill: () => killEmbeddedServers(env.dataDir),
  });

  try {
    await initTracing(env, 'routine-runs');
    parts.add('traces', shutdownTracing); // stopped last: the API and worker end their spans first
    await mkdir(env.dataDir, { recursive: true });
    let launching!: () => void;
    const launched = new Promise<void>((resolve) => (launching = resolve));
    const embeddedStarting = startEmbeddedServices({
      env,
      projectRoot: PROJECT_ROOT,
      log,
      needPostgres: !env.DATABASE_URL,
      needTemporal: !env.TEMPORAL_ADDRESS,
      onLaunching: launching,
    });
    // PostgreSQL and Temporal boot in their own processes: meanwhile this one loads the rest of
    // itself (a second or two of module loading from the sources) and reads or makes the workflow
    // bundle, instead of doing both after they are up. Only once both are spawned: the module
    // loader is one queue, and the modules their launch needs would wait behind all of ours.
    const loading = launched.then(() =>
      Promise.all([
        import('../runtime.ts'),
        import('../auth/tokens.ts'),
        // The routines load through tsx too (and their libraries); the registry keeps them for openCore.
        import('../routines/registry.ts').then(({ loadRoutineRegistry }) =>
          loadRoutineRegistry({ extraDirs: (env.ROUTINES_EXTRA_DIRS ?? '').split(path.delimiter).filter(Boolean) }),
        ),
      ]),
    );
    const bundling = launched
      .then(() => import('../../workflows/worker.ts'))
      .then(({ prepareWorkflowBundle }) =>
        prepareWorkflowBundle(({ outcome, reason, stored }) =>
          log(`workflow bundle: ${outcome === 'hit' ? 'from the cache' : `made (${reason}${stored ? '; cached' : ''})`}`),
        ),
      );
    // Awaited below (loading) or again by startWorker (the bundle): not unhandled if start fails first.
    loading.catch(() => {});
    bundling.catch(() => {});
    const embedded = await embeddedStarting;
    parts.add('embedded services', embedded.stop);
    Object.assign(phases, embedded.phases);
    const databaseUrl = env.DATABASE_URL ?? embedded.databaseUrl!;
    const temporalAddress = env.TEMPORAL_ADDRESS ?? embedded.temporalAddress!;

    // 'modules': how long loading outlasted PostgreSQL and Temporal (0 when they were slower).
    const [{ openCore, startApi, startOperationsServer, startWorker }, { createToken, generateToken }] = await timed(
      phases,
      'modules',
      () => loading,
    );
    const core = await timed(phases, 'migrations', () => openCore({ env, databaseUrl, log }));
    parts.add('database connections', core.close);
    const token = await devToken(env, generateToken);
    await createToken({ db: core.db, userName: 'dev', tokenName: 'embedded dev token', admin: true, secret: token });

    const worker = await timed(phases, 'worker', () => startWorker({ core, temporalAddress }));
    parts.add('worker', worker.stop);
    const api = await timed(phases, 'api', () => startApi({ core, temporalAddress, port: env.PORT, host: env.HOST, log, worker }));
    parts.add('api', api.stop);
    const operations = await startOperationsServer({ env, readiness: api.readiness });
    if (operations) parts.add('operations server', operations.stop);

    const total = Math.round(performance.now() - started);
    const phaseList = Object.entries(phases)
      .map(([name, ms]) => `${name} ${ms} ms`)
      .join(', ');
    console.log(
      [
        '',
        `  Routine Runs is ready in ${total} ms (${phaseList})`,
        `  Console             ${consoleUrl(api.url, token)}`,
        `  GraphQL + GraphiQL  ${api.url}`,
        `  Temporal UI         ${embedded.temporalUiUrl ?? `(external Temporal at ${temporalAddress})`}`,
        `  Dev token           ${token}`,
        `  Data directory      ${env.dataDir}`,
        '',
        `  Send "Authorization: Bearer <dev token>" with every request.`,
        '',
      ].join('\n'),
    );
    console.log(
      `READY ${JSON.stringify({ url: api.url, pid: process.pid, totalMs: total, phases, ...(operations ? { operationsUrl: operations.url } : {}) })}`,
    );
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The web console's address with the dev token in its fragment (never sent to the server; the page keeps it and clears the address bar). */
function consoleUrl(graphqlUrl: string, token: string): string {
  return `${graphqlUrl.replace(/\/graphql$/, '/')}#token=${encodeURIComponent(token)}`;
}

/** ROUTINES_DEV_TOKEN, or one generated on the first start and kept in DATA_DIR. */
async function devToken(env: Env, generateToken: () => string): Promise<string> {
  if (env.ROUTINES_DEV_TOKEN) return env.ROUTINES_DEV_TOKEN;
  const file = path.join(env.dataDir, 'dev-token');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const token = generateToken();
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return token;
}
