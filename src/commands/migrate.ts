import type { Env } from '../env.ts';
import { withDatabase } from './database.ts';
import { serviceLog } from './log.ts';

/** Applies pending migrations to DATABASE_URL (or to the embedded database when it is unset). */
export async function migrateCommand({ env }: { env: Env }): Promise<void> {
  await withDatabase({ env, log: serviceLog(env, 'migrate') }, async () => {});
}
