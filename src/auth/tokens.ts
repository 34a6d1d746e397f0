// API tokens: a 256-bit random secret shown once, stored as its SHA-256. A fast hash is
// right here (unlike passwords): the secret has full entropy, so it cannot be guessed offline.
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/client.ts';
import type { ApiToken, User } from '../generated/prisma/client.ts';

const TOKEN_PREFIX = 'rr_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export async function createToken({
  db,
  userName,
  tokenName = 'default',
  admin = false,
  secret = generateToken(),
}: {
  db: Db;
  userName: string;
  tokenName?: string;
  admin?: boolean;
  /** A chosen secret (the embedded dev token); generated when omitted. */
  secret?: string;
}): Promise<{ token: string; user: User; apiToken: ApiToken }> {
  const user = await db.user.upsert({
    where: { name: userName },
    create: { name: userName, isAdmin: admin },
    update: admin ? { isAdmin: true } : {},
  });
  const apiToken = await db.apiToken.upsert({
    where: { tokenHash: hashToken(secret) },
    create: { userId: user.id, name: tokenName, tokenHash: hashToken(secret) },
    update: { userId: user.id, revokedAt: null },
  });
  return { token: secret, user, apiToken };
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
  return db.apiToken.findMany({ include: { user: true }, orderBy: { createdAt: 'asc' } });
}

/** The user a bearer token belongs to, or null for a missing, unknown or revoked token. */
export async function authenticate({
  db,
  token,
  cacheMs = 0,
}: {
  db: Db;
  token: string | null | undefined;
  /**
   * How long a valid token is remembered (AUTH_CACHE_MS): every request looked its token up, a
   * third of the statements of a small query. A revoked token (or a user's changed admin flag) is
   * therefore seen by an API process at most this late. Only valid tokens are remembered.
   */
  cacheMs?: number;
}): Promise<User | null> {
  if (!token) return null;
  const tokenHash = hashToken(token);
  const cache = cacheMs > 0 ? cacheOf(db) : null;
  const cached = cache?.get(tokenHash);
  if (cached && cached.until > Date.now()) return cached.user;
  const found = await db.apiToken.findUnique({ where: { tokenHash }, include: { user: true } });
  if (!found || found.revokedAt) {
    cache?.delete(tokenHash);
    return null;
  }
  if (cache) {
    cache.delete(tokenHash); // re-inserted last: the Map's order is the eviction order
    if (cache.size >= MAX_CACHED_TOKENS) cache.delete(cache.keys().next().value!);
    cache.set(tokenHash, { user: found.user, until: Date.now() + cacheMs });
  }
  return found.user;
}

const MAX_CACHED_TOKENS = 10_000;
const tokenCaches = new WeakMap<Db, Map<string, { user: User; until: number }>>();
function cacheOf(db: Db) {
  let cache = tokenCaches.get(db);
  if (!cache) tokenCaches.set(db, (cache = new Map()));
  return cache;
}

export function bearerToken(header: string | null | undefined): string | null {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match ? match[1] : null;
}
