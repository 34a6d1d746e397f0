// Mutations per token and per user: token buckets, so one integration that loops cannot starve the
// others (every token has its own bucket) while short bursts of a well-behaved client pass. A user
// can mint tokens at will (createApiToken), so a bucket per token alone would let it multiply its
// budget by minting: every mutation also draws from its user's bucket, USER_FACTOR times the
// token's rate and burst, which is shared by all of the user's tokens (two integrations of one
// user may each run at the full token rate; a third shares with them).
// The buckets live in the API process: behind a load balancer with N processes a token may reach N
// times the limit, which is acceptable for "one integration cannot starve the others" and costs no
// statement.
import { RateLimitedError } from '../errors.ts';

export interface MutationRateOptions {
  /** Sustained mutations per minute per token (MUTATION_RATE_LIMIT_PER_MINUTE); 0 turns limiting off. */
  perMinute: number;
  /** Mutations a token may send at once after being idle (MUTATION_RATE_BURST). */
  burst: number;
}

/** A user's bucket against a token's: rate and burst both. */
export const USER_FACTOR = 2;

/** The buckets a mutation draws from: its token's (none for a request made inside the service) and its user's. */
export interface RateKeys {
  token: string | null;
  user: string;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

/** Buckets kept at most per kind: a full bucket says nothing a missing one does not, so those go first. */
const MAX_BUCKETS = 50_000;

/** One kind of bucket (per token, or per user): its rate, its size and the buckets themselves. */
class Buckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly perMs: number,
    readonly burst: number,
  ) {}

  /** The bucket brought up to `now`, created full if missing. */
  refill(key: string, now: number): Bucket {
    let bucket = this.buckets.get(key);
    if (bucket) {
      bucket.tokens = Math.min(this.burst, bucket.tokens + Math.max(0, now - bucket.at) * this.perMs);
      bucket.at = now;
      return bucket;
    }
    if (this.buckets.size >= MAX_BUCKETS) this.evict(now);
    bucket = { tokens: this.burst, at: now };
    this.buckets.set(key, bucket);
    return bucket;
  }

  /** Seconds until `bucket` holds one mutation again (at least 1, as Retry-After counts whole seconds). */
  retryAfterSeconds(bucket: Bucket): number {
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
  }

  /** Drops buckets that have filled up again; if none has, the oldest (Map order is insertion order). */
  private evict(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.perMs >= this.burst) this.buckets.delete(key);
    }
    if (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!);
  }
}

export class MutationRateLimiter {
  private readonly perToken: Buckets;
  private readonly perUser: Buckets;

  constructor(options: MutationRateOptions) {
    const perMs = Math.max(0, options.perMinute) / 60_000;
    const burst = Math.max(1, Math.floor(options.burst));
    this.perToken = new Buckets(perMs, burst);
    this.perUser = new Buckets(perMs * USER_FACTOR, burst * USER_FACTOR);
  }

  get enabled(): boolean {
    return this.perToken.perMs > 0;
  }

  /**
   * Takes one mutation from the token's bucket and from the user's, or throws RateLimitedError
   * naming the limit reached, with the seconds until both let one through. A refused mutation
   * takes from neither, so a client that waits `retryAfterSeconds` gets in.
   */
  take(keys: RateKeys, now = Date.now()): void {
    if (!this.enabled) return;
    const token = keys.token === null ? null : this.perToken.refill(keys.token, now);
    const user = this.perUser.refill(keys.user, now);
    const tokenShort = token !== null && token.tokens < 1;
    const userShort = user.tokens < 1;
    if (!tokenShort && !userShort) {
      if (token) token.tokens -= 1;
      user.tokens -= 1;
      return;
    }
    const retryAfterSeconds = Math.max(
      tokenShort ? this.perToken.retryAfterSeconds(token) : 0,
      userShort ? this.perUser.retryAfterSeconds(user) : 0,
    );
    throw new RateLimitedError(`${this.describe(tokenShort, userShort)}; try again in ${retryAfterSeconds} s`, retryAfterSeconds);
  }

  private describe(tokenShort: boolean, userShort: boolean): string {
    const perMinute = (buckets: Buckets) => Math.round(buckets.perMs * 60_000);
    const tokenLimit = `Too many mutations from this token: at most ${perMinute(this.perToken)} a minute (MUTATION_RATE_LIMIT_PER_MINUTE), ${this.perToken.burst} at once (MUTATION_RATE_BURST)`;
    const userLimit = `Too many mutations from this user, all its tokens together: at most ${perMinute(this.perUser)} a minute, ${this.perUser.burst} at once (${USER_FACTOR} × MUTATION_RATE_LIMIT_PER_MINUTE and MUTATION_RATE_BURST)`;
    if (tokenShort && userShort) return `${tokenLimit}. ${userLimit}`;
    return tokenShort ? tokenLimit : userLimit;
  }
}

/** The buckets a request draws from. */
export function rateKeys(access: { user: { id: string }; token: { id: string | null } }): RateKeys {
  return { token: access.token.id, user: access.user.id };
}
