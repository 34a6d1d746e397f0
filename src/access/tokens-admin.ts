// API tokens made and revoked over GraphQL. A token can only hand on what it has: a new token is
// never wider than the one that asks for it (scope, workspace, lifetime), so a leaked READ token
// bound to one workspace cannot mint its way out of either.
import type { Db } from '../db/client.ts';
import type { ApiToken, Prisma } from '../generated/prisma/client.ts';
import type { TokenScope } from '../generated/prisma/enums.ts';
import { generateToken, hashToken, tokensChanged } from '../auth/tokens.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { withArticle, type Access } from './access.ts';
import { scopeRank, tokenScopeOf } from './roles.ts';

export const TOKEN_NAME_MAX = 100;

/**
 * The tokens a request may see: its user's own (only those bound to its workspace when the request's
 * token is bound: a bound token knows nothing of the others), and the tokens bound to a workspace
 * where the request may administer (an ADMIN revokes a leaving member's integration tokens).
 */
export function visibleTokenWhere(access: Access): Prisma.ApiTokenWhereInput {
  const administered = access.workspaceIds.filter((id) => access.can('administer', id));
  const own: Prisma.ApiTokenWhereInput = {
    userId: access.user.id,
    ...(access.token.workspaceId ? { workspaceId: access.token.workspaceId } : {}),
  };
  return administered.length ? { OR: [own, { workspaceId: { in: administered } }] } : own;
}

/** The request's user's own tokens, as `viewer { tokens }` lists them (revoked ones too, as history). */
export function ownTokenWhere(access: Access): Prisma.ApiTokenWhereInput {
  return { userId: access.user.id, ...(access.token.workspaceId ? { workspaceId: access.token.workspaceId } : {}) };
}

export interface CreateApiTokenInput {
  name: string;
  scopes: TokenScope[];
  /** Bind the token to this workspace (the request must see it). */
  workspaceId?: string | null;
  expiresAt?: Date | null;
}

export async function createApiToken(
  db: Db,
  access: Access,
  input: CreateApiTokenInput,
  now = new Date(),
): Promise<{ token: ApiToken; secret: string }> {
  const name = input.name.trim();
  if (name.length < 1 || name.length > TOKEN_NAME_MAX)
    throw ValidationError.field(['name'], `must be 1 to ${TOKEN_NAME_MAX} characters long`);
  if (input.scopes.length === 0) throw ValidationError.field(['scopes'], 'Give at least one scope (READ, RUN, MANAGE or ADMIN)');
  const scope = tokenScopeOf(input.scopes);
  if (scopeRank(scope) > scopeRank(access.token.scope)) {
    throw new ForbiddenError(
      `A token can only create tokens of its own scope or less: ${withArticle(access.token.scope)} token cannot create ${withArticle(scope)} token`,
      null,
      scope,
    );
  }
  const bound = access.token.workspaceId;
  let workspaceId = input.workspaceId ?? bound;
  if (bound && workspaceId !== bound) {
    throw ValidationError.field(['workspaceId'], 'This token is bound to a workspace: the tokens it creates are bound to the same one');
  }
  if (workspaceId && !access.canSee(workspaceId)) throw new NotFoundError('Workspace was not found', input.workspaceId ?? null);
  workspaceId ??= null;
  if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) throw ValidationError.field(['expiresAt'], 'must be in the future');
  const ceiling = access.token.expiresAt;
  if (ceiling && input.expiresAt && input.expiresAt.getTime() > ceiling.getTime()) {
    throw ValidationError.field(['expiresAt'], `may not be later than the expiry of the token asking (${ceiling.toISOString()})`);
  }
  const secret = generateToken();
  const token = await db.apiToken.create({
    data: {
      userId: access.user.id,
      name,
      tokenHash: hashToken(secret),
      // Stored as given (deduplicated): the highest one counts, but the list is what the user asked for.
      scopes: [...new Set(input.scopes)],
      workspaceId,
      // An expiring token's children expire with it at the latest.
      expiresAt: input.expiresAt ?? ceiling ?? null,
    },
  });
  return { token, secret };
}

/**
 * Revokes a token the request may see (visibleTokenWhere); any other id is not found. Revoking a
 * revoked token answers it as it is.
 */
export async function revokeApiToken(db: Db, access: Access, id: string, now = new Date()): Promise<ApiToken> {
  const token = await db.apiToken.findFirst({ where: { AND: [{ id }, visibleTokenWhere(access)] } });
  if (!token) throw new NotFoundError('Token was not found', id);
  if (token.revokedAt) return token;
  const revoked = await db.apiToken.update({ where: { id }, data: { revokedAt: now } });
  // Before answering: this process's open sockets of the token are closed first (tokensChanged).
  await tokensChanged(db, (cached) => cached.token.id === id);
  return revoked;
}
