import { migrate } from '../db/migrate.ts';
import { startEmbeddedServices } from '../embedded/supervisor.ts';
import type { Env } from '../env.ts';
import { logger } from './log.ts';
import { fileURLToPath } from 'node:url';

/** Applies pending migrations to DATABASE_URL (or to the embedded database when it is unset). */
export async function migrateCommand({ env }: { env: Env }): Promise<void> {
  const log = logger('migrate');
  const embedded = env.DATABASE_URL
    ? null
    : await startEmbeddedServices({
        env,
        projectRoot: fileURLToPath(new URL('../../', import.meta.url)),
        log,
        needPostgres: true,
        needTemporal: false,
      });
  try {
    const result = await migrate({ url: env.DATABASE_URL ?? embedded!.databaseUrl!, log });
    log(`${result.applied.length} applied, ${result.alreadyApplied} already applied`);
  } finally {
    await embedded?.stop();
  }
}
