// Readiness checks are bounded in time and cached, so a hanging dependency cannot hang /readyz and
// a scraper polling it cannot load the database.
import { describe, expect, it } from 'vitest';
import { Readiness } from '../../src/observability/health.ts';

describe('Readiness', () => {
  it('names a check that does not answer within its timeout, and the ones that do not fail', async () => {
    const readiness = new Readiness({ database: () => new Promise<void>(() => {}), temporal: async () => {} }, { timeoutMs: 50 });
    const report = await readiness.report();
    expect(report.status).toBe('unavailable');
    expect(report.down).toEqual(['database']);
    expect(report.checks.database).toMatchObject({ ok: false, error: 'no answer within 50 ms' });
    expect(report.checks.temporal.ok).toBe(true);
  });

  it('answers repeated requests within the cache time from one run of the checks', async () => {
    let calls = 0;
    const readiness = new Readiness({ database: async () => void calls++ }, { cacheMs: 60_000 });
    await Promise.all([readiness.report(), readiness.report()]);
    await readiness.report();
    expect(calls).toBe(1);
  });

  it('reports an error message of a failing check', async () => {
    const report = await new Readiness({
      worker: async () => {
        throw new Error('worker is STOPPED');
      },
    }).report();
    expect(report).toMatchObject({
      status: 'unavailable',
      down: ['worker'],
      checks: { worker: { ok: false, error: 'worker is STOPPED' } },
    });
  });
});
