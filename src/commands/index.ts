// Each command is loaded when asked for: `npm start` must not wait for modules it loads later
// itself, while PostgreSQL and Temporal start (start.ts).
import { loadEnv } from '../env.ts';

const USAGE = `usage: tsx src/main.ts [start | api | worker | migrate | retention … | token create <user> [--admin] [--name <name>] [--workspace <name> [--role <ROLE>]] [--scope <SCOPE>]… [--bind] [--expires <ISO date>] | token revoke <id-or-token> | token list]`;

export async function runCommand(argv: string[]): Promise<void> {
  const [command = 'start', ...rest] = argv;
  const env = loadEnv();
  switch (command) {
    case 'start':
      return (await import('./start.ts')).startCommand({ env });
    case 'api':
      return (await import('./separate.ts')).apiCommand({ env });
    case 'worker':
      return (await import('./separate.ts')).workerCommand({ env });
    case 'migrate':
      return (await import('./migrate.ts')).migrateCommand({ env });
    case 'token':
      return (await import('./token.ts')).tokenCommand({ env, args: rest });
    case 'retention':
      return (await import('./retention.ts')).retentionCommand({ env, args: rest });
    default:
      throw new Error(USAGE);
  }
}
