// `npm run token -- create <user> [--admin] [--name <name>] [--workspace <name> [--role <ROLE>]]
//   [--scope <SCOPE>]… [--bind] [--expires <ISO date>]`, `… revoke <id-or-token>`, `… list`.
// --workspace makes the user a member there (created when missing); the token reaches the user's
// other workspaces as well unless --bind binds it to that one, as createApiToken's workspaceId does.
import { parseArgs } from 'node:util';
import { TOKEN_SCOPES, WORKSPACE_ROLES } from '../access/roles.ts';
import { createToken, listTokens, revokeToken } from '../auth/tokens.ts';
import type { Env } from '../env.ts';
import type { TokenScope, WorkspaceRole } from '../generated/prisma/enums.ts';
import { withDatabase } from './database.ts';
import { personLog } from './log.ts';

export const TOKEN_USAGE = [
  'usage: npm run token -- create <user> [--admin] [--name <name>] [--workspace <name> [--role <ROLE>]] [--scope <SCOPE>]… [--bind] [--expires <ISO date>]',
  '       npm run token -- revoke <id-or-token>',
  '       npm run token -- list',
  `  --role: ${WORKSPACE_ROLES.join(' | ')} (default MAINTAINER, ADMIN with --admin); --scope: ${TOKEN_SCOPES.join(' | ')} (default ADMIN)`,
  '  --workspace makes the user a member there; --bind binds the token to it (it then sees nothing else)',
].join('\n');

/** A command line the token command refuses: exit code 2, the message names the flag. */
export class TokenUsageError extends Error {
  constructor(message: string) {
    super(`${message}\n${TOKEN_USAGE}`);
    this.name = 'TokenUsageError';
  }
}

export type TokenCommandLine =
  | {
      action: 'create';
      userName: string;
      tokenName: string;
      admin: boolean;
      workspace?: string;
      role?: WorkspaceRole;
      scopes: TokenScope[];
      bind: boolean;
      expiresAt: Date | null;
    }
  | { action: 'revoke'; idOrSecret: string }
  | { action: 'list' };

export function parseTokenArgs(args: string[], now = new Date()): TokenCommandLine {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        admin: { type: 'boolean', default: false },
        name: { type: 'string', default: 'cli' },
        workspace: { type: 'string' },
        role: { type: 'string' },
        scope: { type: 'string', multiple: true },
        bind: { type: 'boolean', default: false },
        expires: { type: 'string' },
      },
    });
  } catch (error) {
    // node's messages name the flag ("Unknown option '--x'", "Option '--role <value>' argument missing").
    throw new TokenUsageError((error as Error).message);
  }
  const { positionals, values } = parsed;
  const [action, subject, ...extra] = positionals;
  if (extra.length) throw new TokenUsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  if (action === 'list' && !subject) return { action: 'list' };
  if (action === 'revoke' && subject) return { action: 'revoke', idOrSecret: subject };
  if (action !== 'create' || !subject) throw new TokenUsageError(action ? `"${action}" needs other arguments` : 'no action given');

  const role = values.role === undefined ? undefined : oneOf('--role', values.role, WORKSPACE_ROLES);
  const scopes = (values.scope ?? ['ADMIN']).map((scope) => oneOf('--scope', scope, TOKEN_SCOPES));
  if (values.bind && !values.workspace) throw new TokenUsageError('--bind needs --workspace <name>: the workspace to bind the token to');
  if (values.workspace !== undefined && !values.workspace.trim()) throw new TokenUsageError('--workspace needs a workspace name');
  let expiresAt: Date | null = null;
  if (values.expires !== undefined) {
    // An ISO date or date-time: anything Date would also guess at (e.g. "next week") is refused.
    const date = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(values.expires) ? new Date(values.expires) : null;
    if (!date || Number.isNaN(date.getTime())) throw new TokenUsageError(`--expires: ${JSON.stringify(values.expires)} is not an ISO date`);
    if (date.getTime() <= now.getTime()) throw new TokenUsageError(`--expires: ${date.toISOString()} is not in the future`);
    expiresAt = date;
  }
  return {
    action: 'create',
    userName: subject,
    tokenName: values.name,
    admin: values.admin,
    workspace: values.workspace,
    role,
    scopes,
    bind: values.bind,
    expiresAt,
  };
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  const upper = value.toUpperCase();
  if (!(allowed as readonly string[]).includes(upper))
    throw new TokenUsageError(`${flag}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  return upper as T;
}

export async function tokenCommand({ env, args }: { env: Env; args: string[] }): Promise<void> {
  let command: TokenCommandLine;
  try {
    command = parseTokenArgs(args);
  } catch (error) {
    if (!(error instanceof TokenUsageError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  const log = personLog('token');
  await withDatabase({ env }, async ({ db }) => {
    if (command.action === 'create') {
      const { token, user, apiToken, workspace } = await createToken({ db, ...command });
      const where = workspace ? ` in ${workspace.name}${apiToken.workspaceId ? ' (bound)' : ''}` : '';
      log(`token ${apiToken.id} for ${user.name}${where}, scope ${apiToken.scopes.join(',')} — shown once, keep it safe:`);
      console.log(token);
    } else if (command.action === 'revoke') {
      const revoked = await revokeToken({ db, idOrSecret: command.idOrSecret });
      if (!revoked) throw new Error('No live token matches');
      log('revoked');
    } else {
      const now = Date.now();
      for (const t of await listTokens({ db })) {
        const state = t.revokedAt ? 'revoked' : t.expiresAt && t.expiresAt.getTime() <= now ? 'expired' : 'active';
        console.log(
          [
            t.id,
            t.user.name.padEnd(16),
            t.name.padEnd(20),
            state.padEnd(7),
            `scopes ${t.scopes.join(',')}`.padEnd(20),
            `bound to ${t.workspace?.name ?? '-'}`.padEnd(20),
            `expires ${t.expiresAt?.toISOString() ?? 'never'}`,
            `last used ${t.lastUsedAt?.toISOString() ?? 'never'}`,
            `created ${t.createdAt.toISOString()}`,
          ].join('  '),
        );
      }
    }
  });
}
