// The run state machine on its own, against a real PostgreSQL: every allowed transition, every
// refused one, and concurrent writers racing to end the same run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { loadEnv } from '../src/env.ts';
import type { User } from '../src/generated/prisma/client.ts';
import { RunStatus } from '../src/generated/prisma/enums.ts';
import { openCore, type Core } from '../src/runtime.ts';
import { createInstance } from '../src/services/create-instance.ts';
import { accessOfUser } from '../src/access/access.ts';
import { createRun } from '../src/services/create-run.ts';
import type { ServiceDeps } from '../src/services/deps.ts';
import { TRANSITIONS, transitionRun } from '../src/runs/state-machine.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

const ALL: RunStatus[] = ['CREATED', 'QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'];
/** How to bring a fresh CREATED run to each status through allowed transitions. */
const PATH_TO: Record<RunStatus, RunStatus[]> = {
  CREATED: [],
  QUEUED: ['QUEUED'],
  RUNNING: ['QUEUED', 'RUNNING'],
  COMPLETED: ['QUEUED', 'RUNNING', 'COMPLETED'],
  FAILED: ['QUEUED', 'RUNNING', 'FAILED'],
  CANCELLED: ['CANCELLED'],
};

let database: TestDatabase;
let core: Core;
let deps: ServiceDeps;
let user: User;
let instanceId: string;

beforeAll(async () => {
  database = await createTestDatabase('rr_lifecycle_sm');
  core = await openCore({ env: loadEnv({ DATABASE_URL: database.url }), databaseUrl: database.url, log: () => {} });
  deps = { db: core.db, registry: core.registry, launcher: null, storageRoot: '/nonexistent', limits: { maxRunMemoryMb: 1024 } };
  user = (await createToken({ db: core.db, userName: 'sm', admin: true })).user;
  instanceId = (await createInstance(deps, { access: await accessOfUser(core.db, user), input: { routineName: 'montecarlo', name: 'sm' } }))
    .id;
});

afterAll(async () => {
  await core?.close();
  await database?.drop();
});

async function runIn(status: RunStatus): Promise<string> {
  const { run } = await createRun(deps, {
    access: await accessOfUser(core.db, user),
    input: { instanceId, methodName: 'estimatePi', inputs: { samples: 10 }, start: false },
  });
  for (const to of PATH_TO[status]) {
    const result = await transitionRun(core.db, { runId: run.id, to, actorId: user.id, reason: `to ${to}` });
    expect(result.changed).toBe(true);
  }
  return run.id;
}

describe('the run state machine', () => {
  it('allows exactly the lifecycle transitions and records each as an event with sequence, time, actor and reason', async () => {
    for (const from of ALL) {
      for (const to of ALL) {
        const runId = await runIn(from);
        const before = await core.db.routineRun.findUniqueOrThrow({ where: { id: runId } });
        const result = await transitionRun(core.db, { runId, to, actorId: user.id, reason: 'checking' });
        const after = await core.db.routineRun.findUniqueOrThrow({ where: { id: runId } });
        if (TRANSITIONS[from].includes(to)) {
          expect(result, `${from} → ${to}`).toMatchObject({ changed: true, from, to });
          expect(after.status).toBe(to);
          const event = await core.db.runEvent.findFirstOrThrow({ where: { runId }, orderBy: { sequence: 'desc' } });
          expect(event).toMatchObject({
            type: 'STATUS_CHANGED',
            fromStatus: from,
            toStatus: to,
            actorId: user.id,
            sequence: after.lastSequence,
          });
          expect(event.detail).toMatchObject({ reason: 'checking' });
          expect(event.at).toBeInstanceOf(Date);
        } else {
          expect(result, `${from} → ${to} must be refused`).toEqual({ changed: false, status: from });
          expect(after.status).toBe(from);
          expect(after.lastSequence).toBe(before.lastSequence); // nothing written
        }
      }
    }
    // Sequences are 1..n per run.
    const runId = await runIn('COMPLETED');
    const events = await core.db.runEvent.findMany({ where: { runId }, orderBy: { sequence: 'asc' } });
    expect(events.map((e) => e.sequence)).toEqual([1, 2, 3, 4]);
    expect(events.map((e) => e.toStatus)).toEqual(['CREATED', 'QUEUED', 'RUNNING', 'COMPLETED']);
  });

  it('a new run is written with the events that brought it to CREATED or QUEUED, as transitions would write them', async () => {
    for (const start of [false, true]) {
      const { run } = await createRun(deps, {
        access: await accessOfUser(core.db, user),
        input: { instanceId, methodName: 'estimatePi', inputs: { samples: 10 }, start },
      });
      const stored = await core.db.routineRun.findUniqueOrThrow({ where: { id: run.id } });
      expect(run).toEqual(stored); // the answer is the row as committed
      const events = await core.db.runEvent.findMany({ where: { runId: run.id }, orderBy: { sequence: 'asc' } });
      const expected = [{ sequence: 1, type: 'STATUS_CHANGED', fromStatus: null, toStatus: 'CREATED', actorId: user.id }];
      if (start)
        expected.push({ sequence: 2, type: 'STATUS_CHANGED', fromStatus: 'CREATED' as never, toStatus: 'QUEUED', actorId: user.id });
      expect(events).toMatchObject(expected);
      expect(stored).toMatchObject({ status: start ? 'QUEUED' : 'CREATED', lastSequence: expected.length });
      expect(stored.queuedAt?.getTime() ?? null).toBe(start ? events[1].at.getTime() : null);
      expect(events.every((event) => event.at.getTime() === stored.createdAt.getTime())).toBe(true);
      // And it moves on from there like any run.
      const next = await transitionRun(core.db, { runId: run.id, to: start ? 'RUNNING' : 'QUEUED', actorId: user.id });
      expect(next).toMatchObject({ changed: true, sequence: expected.length + 1 });
    }
  });

  it('200 racing cancel/complete pairs: exactly one wins each race and no run ever leaves its terminal state', async () => {
    const runIds: string[] = [];
    for (let i = 0; i < 200; i++) runIds.push(await runIn('RUNNING'));
    // 20 races at a time: each race is 5 transactions, and the pool has 10 connections.
    const race = async (runId: string, index: number) => {
      // Alternate who starts first, and add late writers that try to flip the result.
      const complete = () => transitionRun(core.db, { runId, to: 'COMPLETED', reason: 'method returned' });
      const cancel = () => transitionRun(core.db, { runId, to: 'CANCELLED', actorId: user.id, reason: 'user cancel' });
      const [a, b] = index % 2 === 0 ? await Promise.all([complete(), cancel()]) : await Promise.all([cancel(), complete()]);
      const late = await Promise.all([complete(), cancel(), transitionRun(core.db, { runId, to: 'FAILED' })]);
      return { runId, results: [a, b], late };
    };
    const outcomes: Array<Awaited<ReturnType<typeof race>>> = [];
    for (let start = 0; start < runIds.length; start += 20) {
      outcomes.push(...(await Promise.all(runIds.slice(start, start + 20).map((runId, i) => race(runId, start + i)))));
    }
    let completed = 0;
    let cancelled = 0;
    for (const { runId, results, late } of outcomes) {
      const winners = results.filter((r) => r.changed);
      expect(winners).toHaveLength(1);
      expect(late.every((r) => !r.changed)).toBe(true);
      const winner = winners[0] as { to: RunStatus };
      const run = await core.db.routineRun.findUniqueOrThrow({ where: { id: runId } });
      expect(run.status).toBe(winner.to);
      const terminalEvents = await core.db.runEvent.count({
        where: { runId, type: 'STATUS_CHANGED', toStatus: { in: ['COMPLETED', 'CANCELLED', 'FAILED'] } },
      });
      expect(terminalEvents).toBe(1);
      if (winner.to === 'COMPLETED') completed++;
      else cancelled++;
    }
    expect(completed + cancelled).toBe(200);
  });

  it('a writer that bypasses the row lock still cannot move a run out of a state it already left', async () => {
    const runId = await runIn('CANCELLED');
    const { appendRunEventInTx } = await import('../src/runs/run-events.ts');
    const appended = await core.db.$transaction((tx) =>
      appendRunEventInTx(tx, {
        runId,
        type: 'STATUS_CHANGED',
        onlyIfStatus: ['RUNNING'],
        toStatus: 'COMPLETED',
        set: { status: 'COMPLETED' },
      }),
    );
    expect(appended).toBeNull();
    expect((await core.db.routineRun.findUniqueOrThrow({ where: { id: runId } })).status).toBe('CANCELLED');
  });
});
