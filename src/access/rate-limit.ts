// Mutations per token: a token bucket each, so one integration that loops cannot starve the others
// (every token has its own bucket) while short bursts of a well-behaved client pass. The buckets
// live in the API process: behind a load balancer with N processes a token may reach N times the
// limit, which is acceptable for "one integration cannot starve the others" and costs no statement.
import { RateLimitedError } from '../errors.ts';

export interface MutationRateOptions {
  /** Sustained mutations per minute per token (MUTATION_RATE_LIMIT_PER_MINUTE); 0 turns limiting off. */
  perMinute: number;
  /** Mutations a token may send at once after being idle (MUTATION_RATE_BURST). */
  burst: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

/** Buckets kept at most: a full bucket says nothing a missing one does not, so those go first. */
const MAX_BUCKETS = 50_000;

export class MutationRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly burst: number;

  constructor(options: MutationRateOptions) {
    this.perMs = Math.max(0, options.perMinute) / 60_000;
    this.burst = Math.max(1, Math.floor(options.burst));
  }

  get enabled(): boolean {
    return this.perMs > 0;
  }

  /**
   * Takes one mutation from `key`'s bucket, or throws RateLimitedError with the seconds until one
   * is back. A refused mutation takes nothing, so a client that waits `retryAfterSeconds` gets in.
   */
  take(key: string, now = Date.now()): void {
    if (!this.enabled) return;
    const bucket = this.refill(key, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
    throw new RateLimitedError(
      `Too many mutations from this token: at most ${Math.round(this.perMs * 60_000)} a minute (MUTATION_RATE_LIMIT_PER_MINUTE), ${this.burst} at once (MUTATION_RATE_BURST); try again in ${retryAfterSeconds} s`,
      retryAfterSeconds,
    );
  }

  private refill(key: string, now: number): Bucket {
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

  /** Drops buckets that have filled up again; if none has, the oldest (Map order is insertion order). */
  private evict(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.perMs >= this.burst) this.buckets.delete(key);
    }
    if (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!);
  }
}

/** The bucket a request draws from: its token's, or for a request made inside the service (no token) its user's. */
export function rateKey(access: { user: { id: string }; token: { id: string | null } }): string {
  return access.token.id ? `token:${access.token.id}` : `user:${access.user.id}`;
}
