// Admission on a real PostgreSQL, without Temporal: queuePosition on a list of runs costs one SQL
// statement however long the list.
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { loadEnv } from '../src/env.ts';
import type { User } from '../src/generated/prisma/client.ts';
import { openCore, type Core } from '../src/runtime.ts';
import { WorkerRegistration } from '../src/runs/admission.ts';
import { transitionRun } from '../src/runs/state-machine.ts';
import { createInstance } from '../src/services/create-instance.ts';
import { createRun } from '../src/services/create-run.ts';
import type { ServiceDeps } from '../src/services/deps.ts';
import { graphql } from './gql/index.ts';
import { countedGraphQL, type CountedGraphQL } from './helpers/counted-graphql.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/routines/', import.meta.url));
const LEASE_MS = 60_000;

const AdmQueuedRuns = graphql(`
  query AdmQueuedRuns($label: String!) {
    runs(first: 100, filter: { labelsAny: [$label] }, orderBy: { field: CREATED_AT, direction: ASC }) {
      edges { node { id status queuePosition } }
    }
  }
`);

let database: TestDatabase;
let core: Core;
let deps: ServiceDeps;
let user: User;
let token: string;
let instanceId: string;
let registration: WorkerRegistration | null = null;

beforeAll(async () => {
  database = await createTestDatabase('rr_admission');
  core = await openCore({
    env: loadEnv({ DATABASE_URL: database.url, ROUTINES_EXTRA_DIRS: FIXTURES }),
    databaseUrl: database.url,
    log: () => {},
  });
  // No launcher: runs stay QUEUED without a workflow, and the test runs the admission passes.
  deps = {
    db: core.db,
    registry: core.registry,
    launcher: null,
    storageRoot: '/nonexistent',
    limits: { maxRunMemoryMb: 4096, workerLeaseMs: LEASE_MS },
  };
  ({ user, token } = await createToken({ db: core.db, userName: 'admission', admin: true }));
  instanceId = (await createInstance(deps, { user, input: { routineName: 'lifecycle', name: 'admission' } })).id;
});

afterEach(async () => {
  // Every run ends, so the next test starts with all capacity free and an empty line.
  const active = await core.db.routineRun.findMany({ where: { status: { in: ['CREATED', 'QUEUED', 'RUNNING'] } }, select: { id: true } });
  for (const run of active) await transitionRun(core.db, { runId: run.id, to: 'CANCELLED', reason: 'test clean-up' });
  await registration?.stop();
  registration = null;
});

afterAll(async () => {
  await core?.close();
  await database?.drop();
});

async function worker({ slots, memoryMb }: { slots: number; memoryMb: number }) {
  registration = new WorkerRegistration({ db: core.db, taskQueue: 'admission-test', slots, memoryMb, leaseMs: LEASE_MS });
  await registration.start();
}

async function queue(memoryOverrideMb: number, labels: string[] = []): Promise<string> {
  const { run } = await createRun(deps, { user, input: { instanceId, methodName: 'nap', memoryOverrideMb, labels } });
  expect(run.status).toBe('QUEUED');
  return run.id;
}

describe('queuePosition on a list of runs', () => {
  let counted: CountedGraphQL;
  beforeAll(() => {
    counted = countedGraphQL({ databaseUrl: database.url, services: deps, token });
  });
  afterAll(async () => {
    await counted?.close();
  });

  async function positions(label: string) {
    const { body, statements } = await counted.request(AdmQueuedRuns, { label });
    expect(body.errors).toBeUndefined();
    return { runs: body.data!.runs.edges.map((edge) => edge.node), statements };
  }

  it('costs one SQL statement for the whole list, not one per run', async () => {
    // No worker: every queued run waits, in creation order.
    for (let i = 0; i < 3; i++) await queue(64, ['qp']);
    const few = await positions('qp');
    expect(few.runs.map((run) => run.queuePosition)).toEqual([1, 2, 3]);

    for (let i = 0; i < 27; i++) await queue(64, ['qp']);
    const many = await positions('qp');
    expect(many.runs).toHaveLength(30);
    expect(many.runs.map((run) => run.queuePosition)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // Ten times the runs, the same statements; the positions are one of them.
    expect(many.statements.length).toBe(few.statements.length);
    expect(many.statements.filter((s) => s.sql.includes('ahead')).length).toBe(1);

    // A run that is not waiting (started, cancelled) has no position and moves the others up.
    const [first, second] = many.runs;
    const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1];
    await transitionRun(core.db, { runId: rawId(first.id), to: 'CANCELLED' });
    const after = await positions('qp');
    expect(after.runs[0]).toMatchObject({ id: first.id, status: 'CANCELLED', queuePosition: null });
    expect(after.runs[1]).toMatchObject({ id: second.id, queuePosition: 1 });
  });
});
