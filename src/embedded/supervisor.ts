// Embedded mode: starts the local PostgreSQL and Temporal dev server this process needs, and stops
// them again. Production points DATABASE_URL / TEMPORAL_ADDRESS elsewhere and starts neither.
import path from 'node:path';
import type { Env } from '../env.ts';
import { readLivePidfile, removePidfile, writePidfile } from './pidfile.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './postgres.ts';
import {
  findTemporalCli,
  startTemporalDevServer,
  temporalCliMissingMessage,
  TemporalDevServerError,
  type TemporalDevServer,
} from './temporal.ts';

export { EmbeddedPostgresError } from './postgres.ts';
export { TemporalDevServerError } from './temporal.ts';

export class TemporalCliMissingError extends TemporalDevServerError {
  constructor() {
    super(temporalCliMissingMessage());
  }
}

export class DataDirInUseError extends Error {}

export type EmbeddedServices = {
  databaseUrl?: string;
  temporalAddress?: string;
  temporalUiUrl?: string | null;
  /** Milliseconds each service took to become ready: 'postgres', 'temporal'. */
  phases: Record<string, number>;
  stop(): Promise<void>;
};

export type EmbeddedServicesEnv = Pick<
  Env,
  'dataDir' | 'EMBEDDED_PG_PORT' | 'TEMPORAL_CLI_PATH' | 'TEMPORAL_DEV_PORT' | 'TEMPORAL_UI_PORT' | 'TEMPORAL_NAMESPACE'
>;

export async function startEmbeddedServices({
  env,
  projectRoot,
  log,
  needPostgres,
  needTemporal,
  headless = false,
  onLaunching = () => {},
}: {
  env: EmbeddedServicesEnv;
  projectRoot: string;
  log: (message: string) => void;
  needPostgres: boolean;
  needTemporal: boolean;
  /** Start Temporal without its web UI. */
  headless?: boolean;
  /**
   * Called once every server needed is being spawned (or failed to start): from then on they boot
   * without this process, which may get busy (npm start loads its modules then). Before, its event
   * loop and module loader serve the launches, and a busy loader would hold them back for seconds.
   */
  onLaunching?: () => void;
}): Promise<EmbeddedServices> {
  // Before anything starts, so a missing CLI leaves nothing to clean up.
  const cli = needTemporal ? findTemporalCli({ env, projectRoot }) : null;
  if (needTemporal && !cli) throw new TemporalCliMissingError();
  if (cli) log(`temporal: using ${cli.path} (from ${cli.source})`);
  const release = needPostgres || needTemporal ? await claimDataDir({ dataDir: env.dataDir }) : async () => {};

  const phases: Record<string, number> = {};
  const timed = async <T>(phase: string, start: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const result = await start();
    phases[phase] = Date.now() - started;
    return result;
  };

  let launching = (needPostgres ? 1 : 0) + (cli ? 1 : 0);
  const launched = () => {
    if (--launching === 0) onLaunching();
  };
  const once = () => {
    let called = false;
    return () => {
      if (!called) launched();
      called = true;
    };
  };
  const postgresLaunched = once();
  const temporalLaunched = once();
  if (launching === 0) onLaunching();

  // Independent services: starting them side by side makes a cold start as slow as the slower one.
  const [postgres, temporal] = await Promise.allSettled([
    needPostgres
      ? timed('postgres', () =>
          startEmbeddedPostgres({ dataDir: env.dataDir, port: env.EMBEDDED_PG_PORT, log, onLaunching: postgresLaunched }),
        ).finally(postgresLaunched)
      : Promise.resolve(null),
    cli
      ? timed('temporal', () =>
          startTemporalDevServer({
            cliPath: cli.path,
            dataDir: env.dataDir,
            port: env.TEMPORAL_DEV_PORT,
            uiPort: env.TEMPORAL_UI_PORT,
            namespace: env.TEMPORAL_NAMESPACE,
            headless,
            log,
            onLaunching: temporalLaunched,
          }),
        ).finally(temporalLaunched)
      : Promise.resolve(null),
  ]);

  const started = { postgres: valueOf(postgres), temporal: valueOf(temporal) };
  const stop = stopOnce({ postgres: started.postgres, temporal: started.temporal, release, log });

  const failures = [postgres, temporal].filter((result) => result.status === 'rejected');
  if (failures.length > 0) {
    // stop() logs its own failures; the start failure is the one worth throwing.
    await stop().catch(() => undefined);
    const [first, ...others] = failures.map((failure) => failure.reason as unknown);
    for (const other of others) log(`embedded services: also failed: ${other instanceof Error ? other.message : String(other)}`);
    throw first;
  }

  return {
    databaseUrl: started.postgres?.url,
    temporalAddress: started.temporal?.address,
    temporalUiUrl: started.temporal ? started.temporal.uiUrl : undefined,
    phases,
    stop,
  };
}

/**
 * Temporal stops first, so no new workflow or activity task is handed out while PostgreSQL, which
 * those tasks write to, goes away. One failed stop does not skip the other.
 */
function stopOnce({
  postgres,
  temporal,
  release,
  log,
}: {
  postgres: EmbeddedPostgres | null;
  temporal: TemporalDevServer | null;
  release: () => Promise<void>;
  log: (message: string) => void;
}): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      const errors: unknown[] = [];
      for (const service of [temporal, postgres]) {
        await service?.stop().catch((error: unknown) => {
          log(`embedded services: stop failed: ${error instanceof Error ? error.message : String(error)}`);
          errors.push(error);
        });
      }
      // A server that failed to stop still holds DATA_DIR, so the claim stays for the next start to see.
      if (errors.length > 0) throw errors[0];
      await release();
    })();
    return stopping;
  };
}

/**
 * Every server found running under DATA_DIR is treated as an orphan and stopped, which is only right
 * when no live supervisor still owns them: a second `npm start` on the same folder must fail instead
 * of pulling the database from under the first.
 */
async function claimDataDir({ dataDir }: { dataDir: string }): Promise<() => Promise<void>> {
  const file = path.join(dataDir, 'supervisor.pid');
  for (let attempt = 0; ; attempt++) {
    try {
      await writePidfile({ file, pid: process.pid, exclusive: true });
      return () => removePidfile({ file, pid: process.pid });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
    }
    const owner = await readLivePidfile({ file });
    if (owner !== null) {
      throw new DataDirInUseError(
        `DATA_DIR ${dataDir} is in use by another running process (PID ${owner}${owner === process.pid ? ', this one' : ''}). ` +
          'Stop it first, or set DATA_DIR to another folder (another database). To run token or migrate against the running ' +
          'service, set DATABASE_URL to its database (postgresql://postgres:postgres@127.0.0.1:<EMBEDDED_PG_PORT>/routines).',
      );
    }
    await removePidfile({ file });
  }
}

function valueOf<T>(result: PromiseSettledResult<T | null>): T | null {
  return result.status === 'fulfilled' ? result.value : null;
}
