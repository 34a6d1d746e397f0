// Shared by the database-outage tests (test/outage-*.test.ts): runs of a slow fixture method that
// reports progress and stores an artifact every step, started over GraphQL, and what the database
// must show about them once the outage is over.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import pg from 'pg';
import { expect } from 'vitest';
import { GraphQLTestClient, waitFor } from './graphql.ts';

export const FIXTURE_ROUTINES = fileURLToPath(new URL('../fixtures/routines/', import.meta.url));
export const PROJECT_ROOT = path.resolve(FIXTURE_ROUTINES, '../../..');
/** `resumable` takes ten steps of this; the outage lands in the middle. */
export const STEP_MS = 1000;
const STEPS = 10;

// Untyped documents: these tests need three plain operations, not the codegen'd test documents.
const document = (source: string) => parse(source) as TypedDocumentNode<Record<string, any>, Record<string, unknown>>; // eslint-disable-line @typescript-eslint/no-explicit-any
const CreateInstance = document(`
  mutation OutageCreateInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) { __typename ... on CreateInstanceSuccess { instance { id } } ... on Error { message } }
  }`);
const CreateRun = document(`
  mutation OutageCreateRun($input: CreateRunInput!) {
    createRun(input: $input) { __typename ... on CreateRunSuccess { run { id } } ... on Error { message } }
  }`);
const RunStatus = document(`query OutageRun($id: ID!) { run(id: $id) { status attempt } }`);

export async function startSlowRuns(client: GraphQLTestClient, count: number, stepMs = STEP_MS): Promise<string[]> {
  const { createInstance } = await client.query(CreateInstance, { input: { routineName: 'lifecycle', name: `outage-${Date.now()}` } });
  if (createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(createInstance));
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { createRun } = await client.query(CreateRun, {
      input: { instanceId: createInstance.instance.id, methodName: 'resumable', inputs: { stepMs } },
    });
    if (createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(createRun));
    ids.push(createRun.run.id);
  }
  return ids;
}

/** The run's row id, from its GraphQL id (base64 of `RoutineRun:<uuid>`). */
export function rowId(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString('utf8').split(':')[1];
}

export async function runStatus(client: GraphQLTestClient, id: string): Promise<{ status: string; attempt: number } | null> {
  return (await client.query(RunStatus, { id })).run;
}

/** Waits until every run (GraphQL ids) has reported at least `percent` (read from the database). */
export async function waitForProgress(databaseUrl: string, runIds: string[], percent: number): Promise<void> {
  await waitFor(
    async () => {
      const rows = await query<{ n: string }>(
        databaseUrl,
        `SELECT count(*) AS n FROM "RoutineRun" WHERE id = ANY($1::uuid[]) AND "progressPercent" >= $2`,
        [runIds.map(rowId), percent],
      );
      return Number(rows[0].n) === runIds.length;
    },
    { timeoutMs: 60_000, what: `every run at ${percent}%` },
  );
}

/**
 * Every run (GraphQL ids) COMPLETED in its first attempt, with no attempt failure recorded, event sequences
 * 1..n without a gap or a repeat, each step's progress event and artifact event exactly once, and
 * one artifact row per step.
 */
export async function expectRunsIntact(databaseUrl: string, runIds: string[]): Promise<void> {
  const runs = await query<{ id: string; status: string; attempt: number; lastSequence: number; errorType: string | null }>(
    databaseUrl,
    `SELECT id, status::text, attempt, "lastSequence", "errorType" FROM "RoutineRun" WHERE id = ANY($1::uuid[]) ORDER BY id`,
    [runIds.map(rowId)],
  );
  expect(runs.map((run) => [run.status, run.attempt, run.errorType])).toEqual(runIds.map(() => ['COMPLETED', 1, null]));
  for (const run of runs) {
    const events = await query<{
      sequence: number;
      type: string;
      progressMessage: string | null;
      name: string | null;
      toStatus: string | null;
    }>(
      databaseUrl,
      `SELECT sequence, type::text, "progressMessage", detail->>'name' AS name, "toStatus"::text AS "toStatus" FROM "RunEvent" WHERE "runId" = $1 ORDER BY sequence`,
      [run.id],
    );
    expect(events.map((event) => event.sequence)).toEqual(Array.from({ length: run.lastSequence }, (_, i) => i + 1));
    expect(events.filter((event) => event.type === 'ATTEMPT_FAILED')).toEqual([]);
    const steps = Array.from({ length: STEPS }, (_, i) => i + 1);
    expect(events.filter((event) => event.type === 'PROGRESS').map((event) => event.progressMessage)).toEqual(
      steps.map((step) => `step ${step} of ${STEPS}`),
    );
    expect(events.filter((event) => event.type === 'ARTIFACT_STORED').map((event) => event.name)).toEqual(
      steps.map((step) => `step-${step}`),
    );
    const statuses = events.filter((event) => event.type === 'STATUS_CHANGED').map((event) => event.toStatus);
    expect(statuses.slice(-2)).toEqual(['RUNNING', 'COMPLETED']);
    expect(new Set(statuses).size).toBe(statuses.length);
    const artifacts = await query<{ name: string }>(databaseUrl, `SELECT name FROM "Artifact" WHERE "runId" = $1 ORDER BY name`, [run.id]);
    expect(artifacts.map((artifact) => artifact.name)).toEqual(steps.map((step) => `step-${step}`).sort());
  }
}

export async function query<T>(databaseUrl: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The log lines about the outage, to show (and check) what an operator would have seen. */
export function outageLines(output: string): string[] {
  return output
    .split('\n')
    .filter((line) =>
      /postgres exited|postgres is back|restart failed|unreachable|still failing|recovered after|connection lost|reconnect failed|heartbeat|admission|sweeper|reconciler|run launch/i.test(
        line,
      ),
    );
}
