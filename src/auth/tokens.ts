// API tokens: a 256-bit random secret shown once, stored as its SHA-256. A fast hash is
// right here (unlike passwords): the secret has full entropy, so it cannot be guessed offline.
import { hash, randomBytes } from 'node:crypto';
import type { Db } from '../db/client.ts';
import type { ApiToken, User, Workspace } from '../generated/prisma/client.ts';
import type { TokenScope, WorkspaceRole } from '../generated/prisma/enums.ts';
import { Access, type TokenGrant } from '../access/access.ts';
import { tokenScopeOf } from '../access/roles.ts';

const TOKEN_PREFIX = 'rr_';

export function hashToken(token: string): string {
  // One-shot: every request hashes its token (the cache's key too), and a Hash object costs more than the digest.
  return hash('sha256', token, 'hex');
}

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** The workspace every deployment has (the migration makes it): where users land unless told otherwise. */
export const DEFAULT_WORKSPACE = 'default';

/**
 * A user's membership when a command or test creates its token without naming a role: today's
 * rights before workspaces (create instances, run anything, change own runs), ADMIN with `admin`.
 */
const DEFAULT_MEMBER_ROLE: WorkspaceRole = 'MAINTAINER';

export async function ensureWorkspace(db: Db, name: string): Promise<Workspace> {
  return db.workspace.upsert({ where: { name }, create: { name }, update: {} });
}

export async function createToken({
  db,
  userName,
  tokenName = 'default',
  admin = false,
  secret = generateToken(),
  workspace,
  role,
  scopes = ['ADMIN'],
  bind = false,
  expiresAt = null,
}: {
  db: Db;
  userName: string;
  tokenName?: string;
  /** The user is an ADMIN of the workspace (and keeps the old `isAdmin` flag, which reveals nothing by itself). */
  admin?: boolean;
  /** A chosen secret (the embedded dev token); generated when omitted. */
  secret?: string;
  /**
   * The workspace the user is made a member of (created when missing). Without one, a user who
   * belongs nowhere joins `default`; a member of some workspace keeps its memberships as they are.
   */
  workspace?: string;
  /** The member's role there; with `workspace`, an existing member's role is changed to it. */
  role?: WorkspaceRole;
  scopes?: TokenScope[];
  /** Bind the token to `workspace` (it then sees nothing of the user's other workspaces). */
  bind?: boolean;
  expiresAt?: Date | null;
}): Promise<{ token: string; user: User; apiToken: ApiToken; workspace: Workspace | null }> {
  const user = await db.user.upsert({
    where: { name: userName },
    create: { name: userName, isAdmin: admin },
    update: admin ? { isAdmin: true } : {},
  });
  const memberRole = role ?? (admin ? 'ADMIN' : DEFAULT_MEMBER_ROLE);
  let joined: Workspace | null = null;
  if (workspace || role || admin || !(await db.workspaceMember.findFirst({ where: { userId: user.id } }))) {
    joined = await ensureWorkspace(db, workspace ?? DEFAULT_WORKSPACE);
    await db.workspaceMember.upsert({
      where: { workspaceId_userId: { workspaceId: joined.id, userId: user.id } },
      create: { workspaceId: joined.id, userId: user.id, role: memberRole },
      // Only a role asked for changes an existing member's: `--workspace w` alone must not demote w's ADMIN.
      update: role || admin ? { role: memberRole } : {},
    });
  }
  const tokenFields = {
    userId: user.id,
    name: tokenName,
    scopes,
    workspaceId: bind && joined ? joined.id : null,
    expiresAt,
  };
  const apiToken = await db.apiToken.upsert({
    where: { tokenHash: hashToken(secret) },
    create: { ...tokenFields, tokenHash: hashToken(secret) },
    update: { ...tokenFields, revokedAt: null },
  });
  return { token: secret, user, apiToken, workspace: joined };
}

/** Revokes by token id or by the secret itself. Returns whether a live token was revoked. */
export async function revokeToken({ db, idOrSecret }: { db: Db; idOrSecret: string }): Promise<boolean> {
  const isId = /^[0-9a-f-]{36}$/i.test(idOrSecret);
  const { count } = await db.apiToken.updateMany({
    where: { ...(isId ? { id: idOrSecret } : { tokenHash: hashToken(idOrSecret) }), revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return count > 0;
}

export async function listTokens({ db }: { db: Db }) {
  return db.apiToken.findMany({ include: { user: true, workspace: true }, orderBy: { createdAt: 'asc' } });
}

/** How often a token's lastUsedAt is written at most: often enough to read, rarely enough to cost nothing. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Why a request's token is refused: the holder of the secret is told, which reveals nothing to anyone else. */
export type TokenRefusalReason = 'MISSING' | 'UNKNOWN' | 'REVOKED' | 'EXPIRED';

/**
 * The words every path answers a refused token with: the HTTP 401 body of /graphql and of
 * downloads (extensions.reason carries the reason) and a graphql-ws socket's 4403 close reason
 * (a close reason holds at most 123 bytes: these stay well below).
 */
export const TOKEN_REFUSAL_MESSAGES: Readonly<Record<TokenRefusalReason, string>> = {
  MISSING: 'Authentication required: send "Authorization: Bearer <token>"',
  UNKNOWN: 'The token is not valid: no token has this secret',
  REVOKED: 'The token was revoked',
  EXPIRED: 'The token has expired',
};

export class TokenRefusal {
  readonly message: string;
  constructor(readonly reason: TokenRefusalReason) {
    this.message = TOKEN_REFUSAL_MESSAGES[reason];
  }
}

/**
 * The one place that decides why a stored token no longer works, from columns every lookup reads
 * anyway: a valid token costs no statement for it. Revoked wins over expired (the later, deliberate act).
 */
export function refusalOf(token: Pick<ApiToken, 'revokedAt' | 'expiresAt'> | null, now = Date.now()): TokenRefusal | null {
  if (!token) return new TokenRefusal('UNKNOWN');
  if (token.revokedAt) return new TokenRefusal('REVOKED');
  if (token.expiresAt && token.expiresAt.getTime() <= now) return new TokenRefusal('EXPIRED');
  return null;
}

/** The access a bearer token grants, or null for a missing, unknown, revoked or expired token (see checkToken). */
export async function authenticate(options: Parameters<typeof checkToken>[0]): Promise<Access | null> {
  const checked = await checkToken(options);
  return checked instanceof TokenRefusal ? null : checked;
}

/**
 * The access a bearer token grants, or why it is refused. The token's user, grant and
 * memberships are remembered together for `cacheMs`.
 */
export async function checkToken({
  db,
  token,
  cacheMs = 0,
  address = null,
}: {
  db: Db;
  token: string | null | undefined;
  /**
   * How long a valid token is remembered (AUTH_CACHE_MS): every request looked its token up, a
   * third of the statements of a small query. A revoked token, or a changed membership, is
   * therefore seen by an API process at most this late; an expiry is seen at once.
   */
  cacheMs?: number;
  /**
   * The client's address. A token seen from another address than its last leaves a
   * `tokenUsedFromNewAddress` audit event; checked when the token is looked up, not on a cache hit.
   */
  address?: string | null;
}): Promise<Access | TokenRefusal> {
  if (!token) return new TokenRefusal('MISSING');
  const tokenHash = hashToken(token);
  const cache = cacheMs > 0 ? cacheOf(db) : null;
  const cached = cache?.get(tokenHash);
  const now = Date.now();
  if (cached && cached.until > now) return isExpired(cached.access.token, now) ? new TokenRefusal('EXPIRED') : cached.access;
  const found = await db.apiToken.findUnique({ where: { tokenHash }, include: TOKEN_ROW_INCLUDE });
  const refusal = refusalOf(found, now);
  if (!found || refusal) {
    cache?.delete(tokenHash);
    return refusal!;
  }
  const staleUse = !found.lastUsedAt || now - found.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS;
  const newAddress = address !== null && address !== found.lastAddress;
  if (staleUse || newAddress) {
    // Best effort: a failed write of a usage timestamp or an audit event must not fail the request.
    db.apiToken
      .update({
        where: { id: found.id },
        data: { ...(staleUse ? { lastUsedAt: new Date(now) } : {}), ...(newAddress ? { lastAddress: address } : {}) },
      })
      .catch(() => {});
  }
  if (newAddress) {
    db.auditEvent
      .create({
        data: {
          at: new Date(now),
          userId: found.userId,
          tokenId: found.id,
          workspaceId: found.workspaceId,
          operation: 'tokenUsedFromNewAddress',
          targetIds: [Buffer.from(`ApiToken:${found.id}`).toString('base64')],
          resultType: found.lastAddress === null ? 'FirstUse' : 'NewAddress',
          address,
        },
      })
      .catch(() => {});
  }
  const access = accessOfTokenRow(found);
  if (cache) {
    cache.delete(tokenHash); // re-inserted last: the Map's order is the eviction order
    if (cache.size >= MAX_CACHED_TOKENS) cache.delete(cache.keys().next().value!);
    cache.set(tokenHash, { access, until: now + cacheMs });
  }
  return access;
}

/**
 * What each of these tokens grants now, or why it is refused, read in one statement:
 * src/http/live-access.ts re-checks the tokens of open sockets and SSE streams with it. Builds
 * the Access exactly as checkToken() does.
 */
export async function currentAccessOfTokens(db: Db, ids: readonly string[], now = Date.now()): Promise<Map<string, Access | TokenRefusal>> {
  if (ids.length === 0) return new Map();
  const found = await db.apiToken.findMany({ where: { id: { in: [...ids] } }, include: TOKEN_ROW_INCLUDE });
  const current = new Map<string, Access | TokenRefusal>(ids.map((id) => [id, new TokenRefusal('UNKNOWN')]));
  for (const token of found) current.set(token.id, refusalOf(token, now) ?? accessOfTokenRow(token));
  return current;
}

/** What a token lookup reads with the token: its user and the user's memberships. */
const TOKEN_ROW_INCLUDE = { user: { include: { memberships: { select: { workspaceId: true, role: true } } } } } as const;

/** The Access a live token grants, from the row read with TOKEN_ROW_INCLUDE (the one place it is built). */
function accessOfTokenRow({
  user: { memberships, ...user },
  ...token
}: ApiToken & {
  user: User & { memberships: { workspaceId: string; role: WorkspaceRole }[] };
}): Access {
  return new Access(
    user,
    { id: token.id, scope: tokenScopeOf(token.scopes), workspaceId: token.workspaceId, expiresAt: token.expiresAt },
    new Map(memberships.map((m) => [m.workspaceId, m.role])),
  );
}

export function isExpired(grant: TokenGrant, now = Date.now()): boolean {
  return grant.expiresAt !== null && grant.expiresAt.getTime() <= now;
}

/** Forget a token at once in this process's cache (tokensChanged also re-checks open connections). */
export function forgetCachedTokens(db: Db, predicate: (access: Access) => boolean): void {
  const cache = tokenCaches.get(db);
  if (!cache) return;
  for (const [hash, entry] of cache) if (predicate(entry.access)) cache.delete(hash);
}

type TokensChangedListener = (predicate: (access: Access) => boolean) => Promise<void>;
const changeListeners = new WeakMap<Db, Set<TokensChangedListener>>();

/** Told when a change made in this process (a revocation, a membership) alters what some tokens grant. */
export function onTokensChanged(db: Db, listener: TokensChangedListener): () => void {
  let listeners = changeListeners.get(db);
  if (!listeners) changeListeners.set(db, (listeners = new Set()));
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * A change committed in this process alters what the tokens matching `predicate` grant: they are
 * forgotten by the cache, and the open connections using them are re-checked (live-access.ts)
 * before this resolves, so the mutation that made the change answers only once none of them can
 * run another operation with the old grant. Other processes see it at their next sweep.
 */
export async function tokensChanged(db: Db, predicate: (access: Access) => boolean): Promise<void> {
  forgetCachedTokens(db, predicate);
  await Promise.all([...(changeListeners.get(db) ?? [])].map((listener) => listener(predicate)));
}

const MAX_CACHED_TOKENS = 10_000;
const tokenCaches = new WeakMap<Db, Map<string, { access: Access; until: number }>>();
function cacheOf(db: Db) {
  let cache = tokenCaches.get(db);
  if (!cache) tokenCaches.set(db, (cache = new Map()));
  return cache;
}

export function bearerToken(header: string | null | undefined): string | null {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match ? match[1] : null;
}
