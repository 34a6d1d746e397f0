// Prometheus /metrics on a real stack: the contract's names are there after real runs, counters move
// by what happened (a completed run, a failed one, a retried attempt), no run id leaks into a label,
// a token is asked for when set, METRICS_PORT serves them on a port of their own and METRICS=false
// turns them off.
import { fileURLToPath } from 'node:url';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../src/env.ts';
import { Readiness } from '../src/observability/health.ts';
import { startOperationsServer } from '../src/runtime.ts';
import { waitFor, type GraphQLTestClient } from './helpers/graphql.ts';
import { freePort } from './helpers/ports.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/routines/', import.meta.url));
const METRICS_TOKEN = 'scrape-secret-123';

/** A document outside codegen: this file reads only what it asks for. */
const gql = (source: string) => parse(source) as TypedDocumentNode<Record<string, Record<string, unknown>>, Record<string, unknown>>;

let stack: TestStack;
let instanceId: string;

beforeAll(async () => {
  stack = await startTestStack({ env: { ROUTINES_EXTRA_DIRS: FIXTURES, METRICS_TOKEN } });
  const created = await stack.admin.query(
    gql(`mutation($input: CreateInstanceInput!) { createInstance(input: $input) { ... on CreateInstanceSuccess { instance { id } } } }`),
    { input: { routineName: 'lifecycle', name: 'metrics' } },
  );
  instanceId = (created.createInstance.instance as { id: string }).id;
});

afterAll(async () => {
  await stack?.stop();
});

async function scrape(url: string, token: string | null = METRICS_TOKEN): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, text: await response.text() };
}

/** The value of one sample line (`name{labels} value`), 0 when absent. */
function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function runToEnd(
  client: GraphQLTestClient,
  methodName: string,
  inputs: Record<string, unknown>,
): Promise<{ id: string; status: string }> {
  const created = await client.query(
    gql(`mutation($input: CreateRunInput!) { createRun(input: $input) { __typename ... on CreateRunSuccess { run { id } } } }`),
    { input: { instanceId, methodName, inputs } },
  );
  const id = (created.createRun.run as { id: string }).id;
  return waitFor(
    async () => {
      const { run } = await client.query(gql(`query($id: ID!) { run(id: $id) { id status } }`), { id });
      return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(run.status as string) ? (run as { id: string; status: string }) : null;
    },
    { what: `run ${id} to end`, timeoutMs: 40_000 },
  );
}

describe('/metrics', () => {
  it('counts finished runs, failed attempts, durations and queue waits, with no run id anywhere', async () => {
    const metricsUrl = new URL('/metrics', stack.url).toString();
    const before = (await scrape(metricsUrl)).text;

    const completed = await runToEnd(stack.admin, 'flaky', { failures: 1 }); // one failed attempt, then COMPLETED
    const failed = await runToEnd(stack.admin, 'broken', {}); // not retryable: FAILED at once
    expect(completed.status).toBe('COMPLETED');
    expect(failed.status).toBe('FAILED');

    const { status, text } = await scrape(metricsUrl);
    expect(status).toBe(200);
    for (const name of [
      'routine_runs_finished_total',
      'routine_runs_active',
      'routine_run_duration_seconds_bucket',
      'routine_run_queue_wait_seconds_bucket',
      'routine_run_attempts_failed_total',
      'routine_subscriptions_active',
      'graphql_request_duration_seconds_bucket',
      'routine_admission_slots',
      'routine_admission_queue_depth',
      'routine_db_pool_connections',
      'routine_run_event_fanout_lag_seconds_bucket',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text, name).toContain(`\n${name}`);
    }
    const moved = (name: string, labels = '') => sample(text, name, labels) - sample(before, name, labels);
    expect(moved('routine_runs_finished_total', 'routine="lifecycle",method="flaky",status="COMPLETED"')).toBe(1);
    expect(moved('routine_runs_finished_total', 'routine="lifecycle",method="broken",status="FAILED"')).toBe(1);
    expect(moved('routine_run_attempts_failed_total')).toBe(1);
    expect(moved('routine_run_duration_seconds_count', 'routine="lifecycle",method="flaky",status="COMPLETED"')).toBe(1);
    expect(moved('routine_run_queue_wait_seconds_count', 'routine="lifecycle",method="broken"')).toBe(1);
    expect(sample(text, 'graphql_request_duration_seconds_count', 'operation_type="mutation"')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'routine_runs_active', 'status="RUNNING"')).toBe(0);
    expect(sample(text, 'routine_admission_slots', 'state="total"')).toBeGreaterThan(0);

    // Labels stay bounded: no run, instance or user id is ever one.
    for (const id of [completed.id, failed.id, instanceId]) expect(text).not.toContain(id);
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
  });

  it('counts open subscriptions while they are open', async () => {
    const metricsUrl = new URL('/metrics', stack.url).toString();
    const client = stack.admin.ws();
    const run = await runToEnd(stack.admin, 'flaky', { failures: 0 });
    const iterator = client.iterate({ query: `subscription($id: ID!) { runUpdated(id: $id) { sequence } }`, variables: { id: run.id } });
    await iterator.next(); // the subscription is running
    await waitFor(async () => sample((await scrape(metricsUrl)).text, 'routine_subscriptions_active', 'transport="ws"') === 1, {
      what: 'the ws subscription to be counted',
    });
    await iterator.return?.();
    await waitFor(async () => sample((await scrape(metricsUrl)).text, 'routine_subscriptions_active', 'transport="ws"') === 0, {
      what: 'the ended subscription to be uncounted',
    });
    await client.dispose();
  });

  it('asks for METRICS_TOKEN when it is set', async () => {
    const metricsUrl = new URL('/metrics', stack.url).toString();
    expect((await scrape(metricsUrl, null)).status).toBe(401);
    expect((await scrape(metricsUrl, 'wrong-token-xxxxx')).status).toBe(401);
    expect((await scrape(metricsUrl)).status).toBe(200);
  });

  it('METRICS_PORT serves /metrics, /healthz and /readyz on a port of their own; METRICS=false answers 404', async () => {
    const env = loadEnv({ METRICS_PORT: String(await freePort()), HOST: '127.0.0.1' });
    const own = await startOperationsServer({ env, readiness: stack.api.readiness });
    try {
      const metrics = await scrape(`${own!.url}/metrics`, null);
      expect(metrics.status).toBe(200);
      expect(metrics.text).toContain('routine_runs_finished_total');
      expect((await fetch(`${own!.url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${own!.url}/readyz`)).json()).toMatchObject({ status: 'ok', down: [] });
    } finally {
      await own?.stop();
    }

    const off = await startOperationsServer({
      env: loadEnv({ METRICS_PORT: String(await freePort()), METRICS: 'false' }),
      readiness: new Readiness({}),
    });
    try {
      expect((await fetch(`${off!.url}/metrics`)).status).toBe(404);
      expect((await fetch(`${off!.url}/healthz`)).status).toBe(200);
    } finally {
      await off?.stop();
    }
    expect(await startOperationsServer({ env: loadEnv({}), readiness: new Readiness({}) })).toBeNull();
  });
});
