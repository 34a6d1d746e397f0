// One-off commands (migrate, token, retention) work on DATABASE_URL, or on the embedded
// PostgreSQL under DATA_DIR when it is unset (starting it for the command's duration).
import { createDb, type Db } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { startEmbeddedServices } from '../embedded/supervisor.ts';
import type { Env } from '../env.ts';
import { PROJECT_ROOT } from '../paths.ts';

export async function withDatabase<T>(
  { env, log = () => {} }: { env: Env; log?: (message: string) => void },
  work: (database: { url: string; db: Db }) => Promise<T>,
): Promise<T> {
  const embedded = env.DATABASE_URL
    ? null
    : await startEmbeddedServices({
        env,
        projectRoot: PROJECT_ROOT,
        log,
        needPostgres: true,
        needTemporal: false,
      });
  const url = env.DATABASE_URL ?? embedded!.databaseUrl!;
  const db = createDb({ url });
  try {
    await migrate({ url, log });
    return await work({ url, db });
  } finally {
    await db.$disconnect();
    await embedded?.stop();
  }
}
