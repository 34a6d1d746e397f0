// The audit log's cursor (opaque, checked when it comes back) and the mutation rate limiter's two
// buckets (per token, and per user across its tokens), on their own: no clock but the one passed in.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeAuditCursor, encodeAuditCursor } from '../../src/access/audit.ts';
import { MutationRateLimiter, USER_FACTOR } from '../../src/access/rate-limit.ts';
import { RateLimitedError } from '../../src/errors.ts';

const ID = '0b0f3c8e-6a3e-4c1a-9d2e-5f4b3a2c1d0e';

describe('audit cursors', () => {
  it('round-trip the (at, id) of any event', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }), fc.uuid(), (at, id) => {
        expect(decodeAuditCursor(encodeAuditCursor({ at, id }))).toEqual({ at, id });
      }),
      { seed: 1302, numRuns: 200 },
    );
  });

  it('refuse what encodeAuditCursor does not write', () => {
    const forge = (parts: unknown) => Buffer.from(JSON.stringify(parts)).toString('base64url');
    for (const cursor of [
      '17',
      '',
      'not a cursor',
      forge(['2026-12-02T10:00:00.000Z']),
      forge(['2026-12-02T10:00:00.000Z', 17]),
      forge(['2026-12-02T10:00:00.000Z', 'not-a-uuid']),
      forge(['yesterday', ID]),
      forge(['2026-12-02T10:00:00Z', ID]),
      forge({ at: '2026-12-02T10:00:00.000Z', id: ID }),
      forge(['2026-12-02T10:00:00.000Z', ID]).repeat(10),
    ])
      expect(decodeAuditCursor(cursor), cursor).toBeNull();
  });
});

describe('mutation rate limiter', () => {
  const limited = (take: () => void): RateLimitedError => {
    try {
      take();
    } catch (error) {
      if (error instanceof RateLimitedError) return error;
      throw error;
    }
    throw new Error('not limited');
  };

  it('gives each token its burst, and the user USER_FACTOR bursts across all its tokens', () => {
    const limiter = new MutationRateLimiter({ perMinute: 60, burst: 3 });
    const now = 1_000_000;
    let taken = 0;
    // Fresh tokens of one user: each could take 3, the user stops them at 3 × USER_FACTOR.
    for (let token = 0; taken < 3 * USER_FACTOR; token++) {
      for (let i = 0; i < 3 && taken < 3 * USER_FACTOR; i++, taken++) limiter.take({ token: `t${token}`, user: 'u' }, now);
    }
    const error = limited(() => limiter.take({ token: 'fresh', user: 'u' }, now));
    expect(error.message).toMatch(/from this user, all its tokens together/);
    expect(error.retryAfterSeconds).toBe(1);
    // Another user is untouched; a refusal took nothing, so one token's worth is back after 1 s.
    limiter.take({ token: 'other', user: 'v' }, now);
    limiter.take({ token: 'fresh', user: 'u' }, now + 500);
    expect(() => limiter.take({ token: 'fresh', user: 'u' }, now + 500)).toThrow(RateLimitedError);
  });

  it('names the token limit when only the token is out, and waits for the slower of the two', () => {
    const limiter = new MutationRateLimiter({ perMinute: 6, burst: 2 });
    const now = 0;
    limiter.take({ token: 't', user: 'u' }, now);
    limiter.take({ token: 't', user: 'u' }, now);
    const error = limited(() => limiter.take({ token: 't', user: 'u' }, now));
    expect(error.message).toMatch(/from this token/);
    expect(error.message).not.toMatch(/from this user/);
    expect(error.retryAfterSeconds).toBe(10);
    // A request without a token (made inside the service) draws on its user's bucket alone.
    limiter.take({ token: null, user: 'u' }, now);
    limiter.take({ token: null, user: 'u' }, now);
    const both = limited(() => limiter.take({ token: 't', user: 'u' }, now));
    expect(both.message).toMatch(/from this token.*from this user/s);
    expect(both.retryAfterSeconds).toBe(10);
  });

  it('limits nothing at 0 a minute', () => {
    const limiter = new MutationRateLimiter({ perMinute: 0, burst: 1 });
    for (let i = 0; i < 100; i++) limiter.take({ token: 't', user: 'u' }, 0);
    expect(limiter.enabled).toBe(false);
  });
});
