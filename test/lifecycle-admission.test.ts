// Admission on a real PostgreSQL, driven pass by pass (no Temporal needed to decide who starts):
// the bounded backfill past a run that waits for memory, strict order when it is switched off,
// and queuePosition on a list of runs costing one SQL statement however long the list.
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { loadEnv } from '../src/env.ts';
import type { User } from '../src/generated/prisma/client.ts';
import { openCore, type Core } from '../src/runtime.ts';
import { Admission, queuePositions, WorkerRegistration } from '../src/runs/admission.ts';
import { transitionRun } from '../src/runs/state-machine.ts';
import { createInstance } from '../src/services/create-instance.ts';
import { accessOfUser } from '../src/access/access.ts';
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
      edges {
        node {
          id
          status
          queuePosition
        }
      }
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
  instanceId = (
    await createInstance(deps, { access: await accessOfUser(core.db, user), input: { routineName: 'lifecycle', name: 'admission' } })
  ).id;
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
  const { run } = await createRun(deps, {
    access: await accessOfUser(core.db, user),
    input: { instanceId, methodName: 'nap', memoryOverrideMb, labels },
  });
  expect(run.status).toBe('QUEUED');
  return run.id;
}

/** The run's method ran and returned: its slot and memory are released. */
async function finish(runId: string) {
  expect((await transitionRun(core.db, { runId, to: 'RUNNING' })).changed).toBe(true);
  expect((await transitionRun(core.db, { runId, to: 'COMPLETED' })).changed).toBe(true);
}

const overtaken = async (runId: string) =>
  (await core.db.routineRun.findUniqueOrThrow({ where: { id: runId }, select: { overtakenCount: true } })).overtakenCount;

describe('admission past a run waiting for memory', () => {
  it('later runs that fit start ahead of it, at most ADMISSION_MAX_OVERTAKES of them; then the memory freed is kept for it', async () => {
    await worker({ slots: 4, memoryMb: 1024 });
    const admission = new Admission({ db: core.db, leaseMs: LEASE_MS, maxOvertakes: 2 });

    const big = await queue(700);
    expect(await admission.pump()).toEqual([big]); // 324 MB free
    const waiting = await queue(600);
    expect(await admission.pump()).toEqual([]); // needs 600: waits for memory, with three slots idle
    const small1 = await queue(64);
    expect(await admission.pump()).toEqual([small1]); // fits: overtakes the waiting run (1 of 2)
    const small2 = await queue(64);
    expect(await admission.pump()).toEqual([small2]); // 2 of 2
    const small3 = await queue(64);
    // It would fit (196 MB and a slot are free), but the waiting run has been overtaken enough.
    expect(await admission.pump()).toEqual([]);
    expect(await overtaken(waiting)).toBe(2);
    expect(await queuePositions(core.db, [waiting, small3, big, small1])).toEqual([1, 2, null, null]);

    // The big run ends: the waiting run starts first, then the one behind it.
    await finish(big);
    expect(await admission.pump()).toEqual([waiting, small3]);
    const admittedAt = await core.db.routineRun.findMany({
      where: { id: { in: [waiting, small3] } },
      select: { id: true, admittedAt: true },
    });
    expect(admittedAt.every((run) => run.admittedAt !== null)).toBe(true);
  });

  it('with ADMISSION_MAX_OVERTAKES = 0 the line is strict: a small run waits behind the run waiting for memory', async () => {
    await worker({ slots: 4, memoryMb: 1024 });
    const admission = new Admission({ db: core.db, leaseMs: LEASE_MS, maxOvertakes: 0 });
    const big = await queue(700);
    expect(await admission.pump()).toEqual([big]);
    const waiting = await queue(600);
    const small = await queue(64);
    expect(await admission.pump()).toEqual([]);
    expect(await overtaken(waiting)).toBe(0);
    await finish(big);
    expect(await admission.pump()).toEqual([waiting, small]);
  });

  it('a run waiting for a slot (not memory) is never overtaken', async () => {
    await worker({ slots: 1, memoryMb: 1024 });
    const admission = new Admission({ db: core.db, leaseMs: LEASE_MS, maxOvertakes: 4 });
    const first = await queue(64);
    expect(await admission.pump()).toEqual([first]);
    const second = await queue(600);
    const third = await queue(64);
    expect(await admission.pump()).toEqual([]);
    await finish(first);
    expect(await admission.pump()).toEqual([second]);
    expect(await overtaken(second)).toBe(0);
    await finish(second);
    expect(await admission.pump()).toEqual([third]);
  });
});

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
