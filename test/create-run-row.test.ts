// createRun writes the run and its events in one statement (src/services/create-run.ts,
// createRunInTx in src/runs/state-machine.ts) instead of Prisma's create: the row it answers with must be the row Prisma reads
// back, column for column, and what it writes must be what the Prisma create wrote (status,
// sequence, events, notice, counters), for drafts, queued runs, re-runs and pinned configs.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessOfUser, type Access } from '../src/access/access.ts';
import { createToken } from '../src/auth/tokens.ts';
import { loadEnv } from '../src/env.ts';
import { RUN_EVENTS_CHANNEL } from '../src/events/bus.ts';
import { openCore, type Core } from '../src/runtime.ts';
import { createInstance } from '../src/services/create-instance.ts';
import { createRun } from '../src/services/create-run.ts';
import type { ServiceDeps } from '../src/services/deps.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

let database: TestDatabase;
let dataDir: string;
let core: Core;
let deps: ServiceDeps;
let access: Access;
let listener: pg.Client;
const notices: Array<{ runId: string; sequence: number; status: string }> = [];

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-create-run-row-'));
  const env = loadEnv({ DATA_DIR: dataDir, DATABASE_URL: database.url, LOG_LEVEL: 'warn' });
  core = await openCore({ env, databaseUrl: database.url, log: () => {} });
  deps = { db: core.db, registry: core.registry, launcher: null, storageRoot: core.storageRoot, limits: { maxRunMemoryMb: 4096 } };
  const { user } = await createToken({ db: core.db, userName: 'row-writer', admin: true });
  access = await accessOfUser(core.db, user);
  listener = new pg.Client({ connectionString: database.url });
  await listener.connect();
  listener.on('notification', (message) => notices.push(JSON.parse(message.payload!)));
  await listener.query(`LISTEN ${RUN_EVENTS_CHANNEL}`);
});

afterAll(async () => {
  await listener?.end();
  await core?.close();
  await database?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function instanceOf(routineName: string) {
  return createInstance(deps, { access, input: { routineName, name: `${routineName}-${Math.random().toString(36).slice(2)}` } });
}

async function untilNotice(runId: string) {
  for (let i = 0; i < 200 && !notices.some((n) => n.runId === runId); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return notices.filter((n) => n.runId === runId);
}

describe('createRun writes its run in one statement', () => {
  it('answers a draft with the row Prisma reads back, one CREATED event, its notice and its count', async () => {
    const instance = await instanceOf('montecarlo');
    const { run } = await createRun(deps, {
      access,
      input: {
        instanceId: instance.id,
        methodName: 'estimatePi',
        name: 'a draft',
        description: 'described',
        inputs: { samples: 1000, seed: 7 },
        start: false,
        labels: ['b', 'a'],
        attributes: { ratio: 0.1 + 0.2, big: 1.7976931348623157e308, nested: { list: [1, 'two', null] } },
        priority: 5,
        previewRows: 20,
        includePreviews: true,
        memoryOverrideMb: 64,
        executionType: 'BACKGROUND',
        invocationMethod: 'DIRECT',
      },
    });
    const stored = await core.db.routineRun.findUniqueOrThrow({ where: { id: run.id } });
    expect(run).toEqual(stored);
    expect(Object.keys(run).sort()).toEqual(Object.keys(stored).sort());
    expect(run).toMatchObject({
      status: 'CREATED',
      lastSequence: 1,
      queuedAt: null,
      labels: ['b', 'a'],
      inputs: { samples: 1000, seed: 7, batches: 20 },
      attributes: { ratio: 0.1 + 0.2, big: 1.7976931348623157e308 },
      memoryMb: 64,
      memoryOverrideMb: 64,
      priority: 5,
      previewRows: 20,
      instanceConfig: null,
      parentRunId: null,
    });
    expect(run.createdAt.getTime()).toBe(run.updatedAt.getTime());
    expect(Math.abs(run.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    const events = await core.db.runEvent.findMany({ where: { runId: run.id }, orderBy: { sequence: 'asc' } });
    expect(events).toMatchObject([
      { sequence: 1, type: 'STATUS_CHANGED', fromStatus: null, toStatus: 'CREATED', actorId: access.user.id, detail: null },
    ]);
    expect(events[0].at.getTime()).toBe(run.createdAt.getTime());
    expect(await untilNotice(run.id)).toEqual([{ runId: run.id, sequence: 1, status: 'CREATED' }]);
    const counted = await core.db.runCount.aggregate({ where: { instanceId: instance.id, status: 'CREATED' }, _sum: { count: true } });
    expect(counted._sum.count).toBe(1);
    const labelled = await core.db.runLabelCount.aggregate({ where: { instanceId: instance.id, label: 'a' }, _sum: { count: true } });
    expect(labelled._sum.count).toBe(1);
  });

  it('queues a started run with its CREATED and QUEUED events, and a re-run records its parent', async () => {
    const instance = await instanceOf('montecarlo');
    const { run: parent } = await createRun(deps, {
      access,
      input: { instanceId: instance.id, methodName: 'estimatePi', inputs: { samples: 10 } },
    });
    expect(parent).toEqual(await core.db.routineRun.findUniqueOrThrow({ where: { id: parent.id } }));
    expect(parent).toMatchObject({ status: 'QUEUED', lastSequence: 2, labels: [], attributes: {}, name: null });
    expect(parent.queuedAt?.getTime()).toBe(parent.createdAt.getTime());
    const { run } = await createRun(deps, {
      access,
      input: {
        instanceId: instance.id,
        methodName: 'estimatePi',
        inputs: { samples: 20 },
        parentRunId: parent.id,
        changedInputs: { samples: 20 },
      },
    });
    expect(run).toEqual(await core.db.routineRun.findUniqueOrThrow({ where: { id: run.id } }));
    expect(run).toMatchObject({ parentRunId: parent.id, changedInputs: { samples: 20 } });
    const events = await core.db.runEvent.findMany({ where: { runId: run.id }, orderBy: { sequence: 'asc' } });
    expect(events).toMatchObject([
      { sequence: 1, toStatus: 'CREATED', fromStatus: null, detail: { rerunOf: parent.id, changedInputs: { samples: 20 } } },
      { sequence: 2, toStatus: 'QUEUED', fromStatus: 'CREATED', detail: {}, actorId: access.user.id },
    ]);
    expect(await untilNotice(run.id)).toEqual([{ runId: run.id, sequence: 2, status: 'QUEUED' }]);
  });

  it("pins a stateful instance's config and version", async () => {
    const instance = await instanceOf('kmeans');
    const { run } = await createRun(deps, {
      access,
      input: { instanceId: instance.id, methodName: 'configure', inputs: { k: 3, seed: 1 }, start: false },
    });
    expect(run).toEqual(await core.db.routineRun.findUniqueOrThrow({ where: { id: run.id } }));
    const current = await core.db.routineInstance.findUniqueOrThrow({ where: { id: instance.id } });
    expect(run.instanceConfigVersion).toBe(current.stateVersion);
    expect(run.instanceConfig).toEqual(current.config);
    expect(run.methodKind).toBe('CONSTRUCTOR');
  });

  it('writes nothing when the statement fails: an idempotency key taken by a run of the same user', async () => {
    const instance = await instanceOf('montecarlo');
    const key = '0f2a3c1e-3a4b-4c5d-8e6f-7a8b9c0d1e2f';
    const first = await createRun(deps, {
      access,
      input: { instanceId: instance.id, methodName: 'estimatePi', inputs: { samples: 5, seed: 1 }, idempotencyKey: key, start: false },
    });
    // Concurrent creates with one key: the loser's insert fails on the unique key and answers the winner's run.
    const raced = await Promise.all(
      Array.from({ length: 4 }, () =>
        createRun(deps, {
          access,
          input: { instanceId: instance.id, methodName: 'estimatePi', inputs: { samples: 5, seed: 1 }, idempotencyKey: key, start: false },
        }),
      ),
    );
    expect(raced.map((r) => [r.run.id, r.deduplicated])).toEqual(raced.map(() => [first.run.id, true]));
    expect(await core.db.routineRun.count({ where: { instanceId: instance.id } })).toBe(1);
    expect(await core.db.runEvent.count({ where: { run: { instanceId: instance.id } } })).toBe(1);
  });
});
