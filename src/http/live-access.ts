// Revocation, expiry and membership changes reach connections that are already open. A graphql-ws
// socket authenticates once, in connection_init, and an SSE stream once, with its request: left
// alone, either would keep serving a token revoked after it opened. Every open socket and stream
// registers here with the Access it opened with; one sweep per process (not a timer per socket)
// reads the current grant of all their tokens in one statement and ends each connection whose
// token is revoked or expired, or whose access is no longer what it opened with (a member removed
// from a workspace, a role changed: the simplest honest rule is to close, and the client
// reconnects with what it may do now). An ended connection runs no further operation. A change
// made in this process (revokeApiToken, a membership) re-checks the connections it touches at once,
// before its mutation answers (tokensChanged); the sweep is for changes made elsewhere.
import { Access } from '../access/access.ts';
import {
  TOKEN_REFUSAL_MESSAGES,
  currentAccessOfTokens,
  forgetCachedTokens,
  isExpired,
  onTokensChanged,
  TokenRefusal,
} from '../auth/tokens.ts';
import type { Db } from '../db/client.ts';

/** graphql-ws's Forbidden close code, also what connection_init answers a bad token with. */
export const ACCESS_ENDED_CLOSE_CODE = 4403;

/** Why a connection whose token still works is closed: what it may do changed, not whether it may. */
export const ACCESS_CHANGED_REASON = 'The access of the token has changed: reconnect';

/**
 * Sweeps at least this often: the bound promised is AUTH_CACHE_MS + 1 s, and with AUTH_CACHE_MS
 * at 0 (no cache) a sweep every half second keeps it with room for the statement.
 */
const MIN_SWEEP_MS = 500;
/** Token ids per statement, well below PostgreSQL's parameter limit. */
const IDS_PER_STATEMENT = 5000;

/**
 * Everything the rights of an access depend on, as a string: two accesses with the same one see
 * and may do exactly the same, so a result computed for one may be handed to the other.
 */
export function accessFingerprint(access: Access): string {
  const roles = [...access.workspaceIds].sort().map((id) => `${id}:${access.roleIn(id)}`);
  return JSON.stringify([access.user.id, access.token.scope, access.token.workspaceId, roles]);
}

/** One open connection, as a sweep sees it. */
export class LiveConnection {
  ended = false;
  /** The reason the connection ended with (its close reason), once it has. */
  endedWith: string | null = null;
  /** Operations running on the connection whose answers are still to be sent. */
  private busy = 0;
  private pendingReason: string | null = null;

  constructor(
    readonly access: Access,
    readonly fingerprint: string,
    private readonly onEnd: (reason: string) => void,
    private readonly registry: LiveAccess,
  ) {}

  /** Whether an operation may still run on this connection (checked on every new one too). */
  get live(): boolean {
    return !this.ended && !isExpired(this.access.token);
  }

  /**
   * Ends the connection: no operation starts on it any more. One still running (the very mutation
   * that revoked its token, sent over this socket) is answered first, then the connection closes.
   */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.endedWith = reason;
    this.registry.release(this);
    if (this.busy > 0) this.pendingReason = reason;
    else this.onEnd(reason);
  }

  /** An operation started; `done` once its answer is sent. */
  hold(): void {
    this.busy++;
  }

  done(): void {
    this.busy = Math.max(0, this.busy - 1);
    if (this.busy === 0 && this.pendingReason !== null) {
      const reason = this.pendingReason;
      this.pendingReason = null;
      this.onEnd(reason);
    }
  }

  /** The connection closed on its own: nothing to sweep any more. */
  release(): void {
    this.ended = true;
    this.registry.release(this);
  }
}

export class LiveAccess {
  private readonly connections = new Set<LiveConnection>();
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  readonly sweepMs: number;

  constructor(
    private readonly db: Db,
    authCacheMs: number,
  ) {
    this.sweepMs = Math.max(MIN_SWEEP_MS, authCacheMs);
    onTokensChanged(db, (predicate) => this.recheck(predicate));
  }

  /** Registers an open connection; `onEnd` closes it (4403 on a socket, the end of an SSE stream). */
  register(access: Access, onEnd: (reason: string) => void): LiveConnection {
    const connection = new LiveConnection(access, accessFingerprint(access), onEnd, this);
    this.connections.add(connection);
    if (!this.timer) {
      this.timer = setInterval(() => void this.sweep(), this.sweepMs);
      this.timer.unref();
    }
    return connection;
  }

  release(connection: LiveConnection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Open connections registered (for tests). */
  get size(): number {
    return this.connections.size;
  }

  /**
   * Wraps a stream (an SSE subscription's results) so that it ends, even while it waits for its
   * next result, once the access it was opened with is revoked, expires or changes.
   */
  guard<T>(access: Access, source: AsyncIterable<T>): AsyncIterableIterator<T> {
    const iterator = source[Symbol.asyncIterator]();
    let endNow!: (result: IteratorResult<T>) => void;
    const ended = new Promise<IteratorResult<T>>((resolve) => (endNow = resolve));
    const done: IteratorResult<T> = { value: undefined, done: true };
    const connection = this.register(access, () => {
      endNow(done);
      void Promise.resolve(iterator.return?.()).catch(() => {});
    });
    const guarded: AsyncIterableIterator<T> = {
      next: async () => {
        if (!connection.live) {
          connection.end(TOKEN_REFUSAL_MESSAGES.EXPIRED);
          return done;
        }
        const result = await Promise.race([iterator.next(), ended]);
        if (result.done || connection.ended) {
          connection.release();
          return done;
        }
        return result;
      },
      return: async () => {
        connection.release();
        endNow(done);
        await iterator.return?.();
        return done;
      },
      throw: async (error: unknown) => {
        connection.release();
        endNow(done);
        if (iterator.throw) return iterator.throw(error);
        throw error;
      },
      [Symbol.asyncIterator]: () => guarded,
    };
    return guarded;
  }

  /** One pass: ends every connection whose token is revoked or expired or whose access changed. */
  sweep(): Promise<void> {
    this.sweeping ??= this.check(this.connections).finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  /**
   * Re-checks now the connections whose access matches `predicate`, with a statement of its own:
   * a sweep already under way may have read the tokens before the change committed.
   */
  async recheck(predicate: (access: Access) => boolean): Promise<void> {
    const affected = [...this.connections].filter((connection) => predicate(connection.access));
    if (affected.length > 0) await this.check(affected, { failClosed: true });
  }

  private async check(connections: Iterable<LiveConnection>, { failClosed = false } = {}): Promise<void> {
    const now = Date.now();
    const byToken = new Map<string, LiveConnection[]>();
    for (const connection of connections) {
      if (isExpired(connection.access.token, now)) {
        connection.end(TOKEN_REFUSAL_MESSAGES.EXPIRED);
        continue;
      }
      const id = connection.access.token.id;
      if (id === null) continue; // made inside the service, by no token: nothing to revoke
      const list = byToken.get(id);
      if (list) list.push(connection);
      else byToken.set(id, [connection]);
    }
    const ids = [...byToken.keys()];
    const current = new Map<string, Access | TokenRefusal>();
    try {
      for (let start = 0; start < ids.length; start += IDS_PER_STATEMENT) {
        for (const [id, access] of await currentAccessOfTokens(this.db, ids.slice(start, start + IDS_PER_STATEMENT), now)) {
          current.set(id, access);
        }
      }
    } catch {
      // The database is away: the next sweep looks again (nothing new can authenticate meanwhile).
      // A re-check after a change made here closes instead: its change is committed, and the
      // mutation must not answer while a socket still runs operations with the old grant.
      if (failClosed) for (const list of byToken.values()) for (const connection of list) connection.end(ACCESS_CHANGED_REASON);
      return;
    }
    const stale = new Set<string>();
    for (const [id, connections] of byToken) {
      const state = current.get(id) ?? new TokenRefusal('UNKNOWN');
      const fingerprint = state instanceof Access ? accessFingerprint(state) : null;
      for (const connection of connections) {
        if (fingerprint === connection.fingerprint) continue;
        stale.add(id);
        connection.end(state instanceof TokenRefusal ? state.message : ACCESS_CHANGED_REASON);
      }
    }
    // New requests of this process must not be served from a cached, older grant either.
    if (stale.size > 0) forgetCachedTokens(this.db, (access) => access.token.id !== null && stale.has(access.token.id));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

const registries = new WeakMap<Db, LiveAccess>();

/** This process's registry for a database (one sweep whatever the number of connections). */
export function liveAccessOf(db: Db, authCacheMs = 0): LiveAccess {
  let registry = registries.get(db);
  if (!registry) registries.set(db, (registry = new LiveAccess(db, authCacheMs)));
  return registry;
}
