// `npm run token -- create <user> [--admin] [--name <name>]`, `… revoke <id-or-token>`, `… list`.
import { parseArgs } from 'node:util';
import { createToken, listTokens, revokeToken } from '../auth/tokens.ts';
import type { Env } from '../env.ts';
import { withDatabase } from './database.ts';
import { personLog } from './log.ts';

export async function tokenCommand({ env, args }: { env: Env; args: string[] }): Promise<void> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { admin: { type: 'boolean', default: false }, name: { type: 'string', default: 'cli' } },
  });
  const [action, subject] = positionals;
  const log = personLog('token');
  await withDatabase({ env }, async ({ db }) => {
    if (action === 'create' && subject) {
      const { token, user, apiToken } = await createToken({ db, userName: subject, tokenName: values.name, admin: values.admin });
      log(`token ${apiToken.id} for ${user.name}${user.isAdmin ? ' (admin)' : ''} — shown once, keep it safe:`);
      console.log(token);
    } else if (action === 'revoke' && subject) {
      const revoked = await revokeToken({ db, idOrSecret: subject });
      if (!revoked) throw new Error('No live token matches');
      log('revoked');
    } else if (action === 'list') {
      for (const t of await listTokens({ db })) {
        console.log(
          `${t.id}  ${t.user.name.padEnd(16)} ${t.name.padEnd(20)} ${t.revokedAt ? 'revoked' : 'active'}  created ${t.createdAt.toISOString()}`,
        );
      }
    } else {
      throw new Error('usage: npm run token -- create <user> [--admin] [--name <name>] | revoke <id-or-token> | list');
    }
  });
}
