import { loadEnv } from '../env.ts';
import { apiCommand, workerCommand } from './separate.ts';
import { migrateCommand } from './migrate.ts';
import { startCommand } from './start.ts';
import { tokenCommand } from './token.ts';

const USAGE = `usage: tsx src/main.ts [start | api | worker | migrate | retention … | token create <user> [--admin] [--name <name>] [--workspace <name> [--role <ROLE>]] [--scope <SCOPE>]… [--bind] [--expires <ISO date>] | token revoke <id-or-token> | token list]`;

export async function runCommand(argv: string[]): Promise<void> {
  const [command = 'start', ...rest] = argv;
  const env = loadEnv();
  switch (command) {
    case 'start':
      return startCommand({ env });
    case 'api':
      return apiCommand({ env });
    case 'worker':
      return workerCommand({ env });
    case 'migrate':
      return migrateCommand({ env });
    case 'token':
      return tokenCommand({ env, args: rest });
    case 'retention':
      return (await import('./retention.ts')).retentionCommand({ env, args: rest });
    default:
      throw new Error(USAGE);
  }
}
