// /healthz and /readyz on a real stack: liveness stays 200 while the database is unreachable, and
// readiness answers 503 naming it, within its time bound; a dead Temporal address is named too.
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApi } from '../src/runtime.ts';
import { Readiness, temporalCheck, workerCheck, type ReadinessReport } from '../src/observability/health.ts';
import { ADMIN_URL } from './helpers/database.ts';
import { freePort } from './helpers/ports.ts';
import { waitFor } from './helpers/graphql.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function readyz(): Promise<{ status: number; body: ReadinessReport; ms: number }> {
  const started = performance.now();
  const response = await fetch(new URL('/readyz', stack.url));
  return { status: response.status, body: (await response.json()) as ReadinessReport, ms: performance.now() - started };
}

describe('health', () => {
  it('is ready while database, Temporal and the worker answer', async () => {
    const { status, body } = await readyz();
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ok', down: [], checks: { database: { ok: true }, temporal: { ok: true } } });
    const withWorker = await new Readiness({ worker: workerCheck(stack.worker!.worker) }).report();
    expect(withWorker.status).toBe('ok');
  });

  it('says the database is down (503, named) while /healthz stays live, and ready again once it is back', async () => {
    const name = stack.database.name;
    // ALLOW_CONNECTIONS (unlike CONNECTION LIMIT) holds for superusers too, as the tests connect.
    await admin(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
    try {
      await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
      const down = await waitFor(
        async () => {
          const answer = await readyz();
          return answer.status === 503 ? answer : null;
        },
        { what: '/readyz to say 503', timeoutMs: 15_000, intervalMs: 300 },
      );
      expect(down.body.status).toBe('unavailable');
      expect(down.body.down).toEqual(['database']);
      expect(down.body.checks.database.ok).toBe(false);
      expect(down.body.checks.database.error).toBeTruthy();
      expect(down.body.checks.temporal.ok).toBe(true);
      // Bounded: a check waits at most 1.5 s.
      expect(down.ms).toBeLessThan(3000);
      // A request meanwhile is told the database is away and may be retried: not a masked error.
      const during = await fetch(stack.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.admin.options.token}` },
        body: JSON.stringify({ query: '{ routines { name } }' }),
      });
      const answer = (await during.json()) as { errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
      expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
      expect(answer.errors?.[0]?.message).toMatch(/database is unavailable/);
      const live = await fetch(new URL('/healthz', stack.url));
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: 'ok' });
    } finally {
      await admin(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
    }
    await waitFor(async () => (await readyz()).status === 200, { what: '/readyz to recover', timeoutMs: 15_000, intervalMs: 300 });
  });

  it('names Temporal when its address does not answer, within the bound', async () => {
    const deadPort = await freePort();
    const connection = Connection.lazy({ address: `127.0.0.1:${deadPort}`, connectTimeout: 500 });
    const readiness = new Readiness({ temporal: temporalCheck(new Client({ connection })) });
    const started = performance.now();
    const report = await readiness.report();
    expect(performance.now() - started).toBeLessThan(2500);
    expect(report).toMatchObject({ status: 'unavailable', down: ['temporal'], checks: { temporal: { ok: false } } });
    // The gRPC call ends at its own deadline (the check's bound) before the channel is closed under it.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await connection.close().catch(() => {});
  });

  it('an API whose HOST does not resolve fails to start with the reason (it used to crash the process on an unheard error event)', async () => {
    await expect(
      startApi({ core: stack.core, temporalAddress: inject('temporalAddress'), port: 0, host: 'no-such-host.invalid', log: () => {} }),
    ).rejects.toThrow(/ENOTFOUND|EAI_AGAIN/);
  });
});
