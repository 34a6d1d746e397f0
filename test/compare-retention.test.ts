// compareRuns (differing inputs, same-named artifacts' statistics side by side) and retention
// (old finished runs go with their events and files; active, labelled and recent runs stay).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRetention, RETENTION_PAGE_SIZE, type RetentionPolicy } from '../src/services/apply-retention.ts';
import { accessOfUser } from '../src/access/access.ts';
import { graphql } from './gql/index.ts';
import { seedRunGraph } from './helpers/seed-runs.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const CompareInstance = graphql(`
  mutation CompareInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
      ... on CreateInstanceSuccess {
        instance {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const CompareCreateRun = graphql(`
  mutation CompareCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
          status
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const CompareRuns = graphql(`
  query CompareRuns($ids: [ID!]!) {
    compareRuns(ids: $ids) {
      __typename
      ... on RunComparison {
        runs {
          id
        }
        sameMethod
        sameInputs
        differentInputs {
          name
          values
        }
        artifacts {
          name
          artifacts {
            id
            name
          }
          statistics
          columns {
            name
            statistics
          }
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on NotFoundError {
        id
      }
      ... on Error {
        message
      }
    }
  }
`);

const ApplyRetention = graphql(`
  mutation ApplyRetention($input: ApplyRetentionInput!) {
    applyRetention(input: $input) {
      __typename
      ... on ApplyRetentionSuccess {
        dryRun
        matchedCount
        deletedCount
        candidates {
          runId
          status
        }
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const RetentionRunPath = graphql(`
  query RetentionRunPath($id: ID!) {
    run(id: $id) {
      id
      storagePath
    }
  }
`);

const execFileAsync = promisify(execFile);

const LOW = [
  [0, 0],
  [0, 1],
  [1, 0],
  [10, 10],
  [10, 11],
  [11, 10],
  [-10, 10],
  [-10, 11],
  [-11, 10],
];
const HIGH = LOW.map(([x, y]) => [x + 100, y]);

describe('comparing runs and retention', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function instance(name: string): Promise<string> {
    const created = await stack.admin.query(CompareInstance, { input: { routineName: 'kmeans', name } });
    if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(created));
    const id = created.createInstance.instance.id;
    await run({ instanceId: id, methodName: 'configure', inputs: { k: 3, seed: 1 } });
    return id;
  }

  async function run(input: { instanceId: string; methodName: string; inputs: unknown; labels?: string[]; start?: boolean }) {
    const result = await stack.admin.query(CompareCreateRun, {
      input: { executionType: 'IN_MEMORY', storeArtifacts: true, includeStatistics: true, ...input },
    });
    if (result.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(result));
    return result.createRun.run;
  }

  it('compares two fits: the input that differs, and the statistics of each same-named artifact', async () => {
    const instanceId = await instance('Compare');
    const low = await run({ instanceId, methodName: 'fit', inputs: { points: LOW } });
    const high = await run({ instanceId, methodName: 'fit', inputs: { points: HIGH } });
    const result = await stack.admin.query(CompareRuns, { ids: [low.id, high.id] });
    if (result.compareRuns.__typename !== 'RunComparison') throw new Error(JSON.stringify(result));
    const comparison = result.compareRuns;
    expect(comparison.runs.map((r) => r.id)).toEqual([low.id, high.id]);
    expect(comparison.sameMethod).toBe(true);
    expect(comparison.sameInputs).toEqual([]);
    expect(comparison.differentInputs).toEqual([{ name: 'points', values: [LOW, HIGH] }]);
    expect(comparison.artifacts.map((a) => a.name)).toEqual(['centroids', 'cluster_report', 'clustered_data']);
    const clustered = comparison.artifacts.find((a) => a.name === 'clustered_data')!;
    expect(clustered.artifacts.map((a) => a!.name)).toEqual(['clustered_data', 'clustered_data']);
    expect(clustered.columns.map((c) => c.name)).toEqual(['x0', 'x1', 'cluster']);
    const x0 = clustered.columns[0].statistics as Array<{ mean: number; min: number }>;
    expect(x0[0].mean).toBeCloseTo(1 / 9, 12);
    expect(x0[1].mean).toBeCloseTo(100 + 1 / 9, 12);
    expect(x0.map((s) => s.min)).toEqual([-11, 89]);

    // A configure run next to a fit: other method, and no artifact in common.
    const configure = await run({ instanceId, methodName: 'configure', inputs: { k: 4 } });
    const mixed = await stack.admin.query(CompareRuns, { ids: [configure.id, low.id] });
    if (mixed.compareRuns.__typename !== 'RunComparison') throw new Error(JSON.stringify(mixed));
    expect(mixed.compareRuns.sameMethod).toBe(false);
    expect(mixed.compareRuns.artifacts).toEqual([]);
    expect(mixed.compareRuns.differentInputs.map((d) => d.name)).toEqual(['k', 'maxIterations', 'points']);

    const one = await stack.admin.query(CompareRuns, { ids: [low.id, low.id] });
    expect(one.compareRuns).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['ids'] }] });
  });

  it('retention deletes only old finished runs, with their events and files, after a dry run', async () => {
    const instanceId = await instance('Retention');
    const rawInstanceId = (await stack.core.db.routineInstance.findFirstOrThrow({ where: { name: 'Retention' } })).id;
    // Runs of every kind, then aged by 40 days (what time would do).
    const oldDone = await run({ instanceId, methodName: 'fit', inputs: { points: LOW } });
    const oldFailed = await run({
      instanceId,
      methodName: 'fit',
      inputs: {
        points: [
          [0, 0],
          [1, 1],
        ],
      },
    });
    const oldKept = await run({ instanceId, methodName: 'fit', inputs: { points: LOW }, labels: ['keep'] });
    const oldDraft = await run({ instanceId, methodName: 'fit', inputs: { points: LOW }, start: false });
    const recent = await run({ instanceId, methodName: 'fit', inputs: { points: LOW } });
    expect([oldDone.status, oldFailed.status, oldKept.status, oldDraft.status]).toEqual(['COMPLETED', 'FAILED', 'COMPLETED', 'CREATED']);
    // Storage paths carry the raw ids the database uses.
    const rawIds = async (ids: string[]) =>
      Promise.all(
        ids.map(async (id) => {
          const { run: found } = await stack.admin.query(RetentionRunPath, { id });
          return /runs_\/([^/]+)\//.exec(found!.storagePath)![1];
        }),
      );
    const aged = await rawIds([oldDone, oldFailed, oldKept, oldDraft].map((r) => r.id));
    const forty = new Date(Date.now() - 40 * 86_400_000);
    await stack.core.db.routineRun.updateMany({ where: { id: { in: aged } }, data: { createdAt: forty } });
    await stack.core.db.routineRun.updateMany({ where: { id: { in: aged }, finishedAt: { not: null } }, data: { finishedAt: forty } });

    const policy = { olderThanDays: 30, failedOlderThanDays: 60, keepLabels: ['keep'], instanceId };
    const dry = await stack.admin.query(ApplyRetention, { input: { ...policy, dryRun: true } });
    if (dry.applyRetention.__typename !== 'ApplyRetentionSuccess') throw new Error(JSON.stringify(dry));
    expect(dry.applyRetention).toMatchObject({
      dryRun: true,
      matchedCount: 1,
      deletedCount: 0,
      candidates: [{ runId: oldDone.id, status: 'COMPLETED' }],
    });
    expect(await stack.core.db.routineRun.count({ where: { instanceId: rawInstanceId } })).toBe(6);

    const folder = path.join(stack.dataDir, 'storage', 'instances_', rawInstanceId, 'shared_', 'runs_', aged[0]);
    expect(existsSync(folder)).toBe(true);
    expect(await stack.core.db.runEvent.count({ where: { runId: aged[0] } })).toBeGreaterThan(0);

    // Only an admin may apply it.
    const user = await stack.clientFor('not-admin');
    expect((await user.query(ApplyRetention, { input: { ...policy, dryRun: false } })).applyRetention.__typename).toBe('ForbiddenError');

    const applied = await stack.admin.query(ApplyRetention, { input: { ...policy, dryRun: false } });
    expect(applied.applyRetention).toMatchObject({ dryRun: false, matchedCount: 1, deletedCount: 1 });
    expect(await stack.core.db.routineRun.findUnique({ where: { id: aged[0] } })).toBeNull();
    expect(await stack.core.db.runEvent.count({ where: { runId: aged[0] } })).toBe(0);
    expect(await stack.core.db.artifact.count({ where: { runId: aged[0] } })).toBe(0);
    expect(existsSync(folder)).toBe(false);
    expect(await stack.core.db.runTombstone.count({ where: { runId: aged[0], reason: 'retention' } })).toBe(1);
    // The failed run (kept 60 days), the labelled one, the draft and the recent one remain.
    const left = await stack.core.db.routineRun.findMany({ where: { id: { in: [...aged.slice(1)] } }, select: { id: true } });
    expect(left).toHaveLength(3);

    // Failed runs go at their own age; the draft, though old, is active and never touched.
    const failed = await stack.admin.query(ApplyRetention, {
      input: { olderThanDays: 30, failedOlderThanDays: 35, keepLabels: ['keep'], instanceId, dryRun: false },
    });
    expect(failed.applyRetention).toMatchObject({ deletedCount: 1, candidates: [{ runId: oldFailed.id, status: 'FAILED' }] });

    // keepLastPerInstance: the newest run of the instance stays whatever its age; the draft too.
    const keepLast = await stack.admin.query(ApplyRetention, { input: { keepLastPerInstance: 1, instanceId, dryRun: true } });
    if (keepLast.applyRetention.__typename !== 'ApplyRetentionSuccess') throw new Error(JSON.stringify(keepLast));
    const statuses = keepLast.applyRetention.candidates.map((c) => c.status);
    expect(statuses).not.toContain('CREATED');
    expect(keepLast.applyRetention.candidates.map((c) => c.runId)).not.toContain(recent.id);

    const unbounded = await stack.admin.query(ApplyRetention, { input: { instanceId } });
    expect(unbounded.applyRetention.__typename).toBe('ValidationError');
  });

  it('npm run retention is a dry run unless --apply, listing what it would delete', async () => {
    const before = await stack.core.db.routineRun.count();
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'retention', '--keep-last', '0', '--keep-label', 'keep'],
      { env: { ...process.env, DATABASE_URL: stack.database.url, DATA_DIR: stack.dataDir, LOG_LEVEL: 'info' } },
    );
    const finished = await stack.core.db.routineRun.count({
      where: { status: { in: ['COMPLETED', 'FAILED', 'CANCELLED'] }, NOT: { labels: { has: 'keep' } } },
    });
    expect(`${stdout}${stderr}`).toContain(`dry run: ${finished} run(s) would be deleted; add --apply to delete them`);
    expect(
      stdout
        .trim()
        .split('\n')
        .filter((line) => /COMPLETED|FAILED|CANCELLED/.test(line)),
    ).toHaveLength(finished);
    expect(await stack.core.db.routineRun.count()).toBe(before);
  });
});

describe('retention over many pages', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ withWorker: false });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** The policy, computed here from the rows themselves: the oracle the service must agree with. */
  async function expectedSelection(policy: RetentionPolicy, now: Date): Promise<Array<{ id: string; instanceId: string }>> {
    const runs = await stack.core.db.routineRun.findMany({
      select: { id: true, instanceId: true, status: true, labels: true, createdAt: true, finishedAt: true },
    });
    const newestFirst = [...runs].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
    const rank = new Map<string, number>();
    const seen = new Map<string, number>();
    for (const run of newestFirst) {
      const n = (seen.get(run.instanceId) ?? 0) + 1;
      seen.set(run.instanceId, n);
      rank.set(run.id, n);
    }
    const day = 86_400_000;
    return runs
      .filter((run) => {
        if (!['COMPLETED', 'FAILED', 'CANCELLED'].includes(run.status)) return false;
        if (run.labels.some((label) => policy.keepLabels?.includes(label))) return false;
        if (policy.keepLastPerInstance != null && rank.get(run.id)! <= policy.keepLastPerInstance) return false;
        const days = run.status === 'FAILED' ? (policy.failedOlderThanDays ?? policy.olderThanDays) : policy.olderThanDays;
        return days == null || (run.finishedAt ?? run.createdAt).getTime() < now.getTime() - days * day;
      })
      .map(({ id, instanceId }) => ({ id, instanceId }));
  }

  it('deletes, page by page, exactly the runs the dry run reported', async () => {
    const admin = await stack.core.db.user.findUniqueOrThrow({ where: { name: 'admin' } });
    // 2 instances × 1000 runs a minute apart: half finished, a third labelled mod3-0 (see seed-runs.ts).
    const now = new Date();
    await seedRunGraph(stack.core.db, {
      routineName: 'kmeans',
      createdById: admin.id,
      instances: 2,
      runsPerInstance: 1000,
      artifactsPerRun: 1,
      base: now,
    });
    // Finished more than 2 hours ago (FAILED: 4 hours), not among the newest 25 of their instance, no mod3-0 label.
    const policy: RetentionPolicy = { olderThanDays: 2 / 24, failedOlderThanDays: 4 / 24, keepLastPerInstance: 25, keepLabels: ['mod3-0'] };
    const selection = await expectedSelection(policy, now);
    const expected = selection.map((run) => run.id).sort();
    // More than a page in each instance (retention pages through one instance at a time).
    for (const instanceId of new Set(selection.map((run) => run.instanceId))) {
      expect(selection.filter((run) => run.instanceId === instanceId).length).toBeGreaterThan(RETENTION_PAGE_SIZE);
    }

    const dry = await applyRetention(stack.api.services, { access: await accessOfUser(stack.core.db, admin), policy, dryRun: true, now });
    expect(dry.matchedCount).toBe(expected.length);
    expect(dry.candidates).toHaveLength(100);
    expect(await stack.core.db.routineRun.count()).toBe(2000);

    const applied = await applyRetention(stack.api.services, {
      access: await accessOfUser(stack.core.db, admin),
      policy,
      dryRun: false,
      now,
    });
    expect(applied).toMatchObject({ dryRun: false, matchedCount: expected.length, deletedCount: expected.length });
    // The same oldest runs listed, in the same order, and every one of the selection deleted, no other.
    expect(applied.candidates).toEqual(dry.candidates);
    const tombstones = await stack.core.db.runTombstone.findMany({ where: { reason: 'retention' }, select: { runId: true } });
    expect(tombstones.map((t) => t.runId).sort()).toEqual(expected);
    expect(await stack.core.db.routineRun.count()).toBe(2000 - expected.length);
    expect(await stack.core.db.artifact.count({ where: { runId: { in: expected } } })).toBe(0);
    // What is left, the policy no longer selects.
    expect(
      (await applyRetention(stack.api.services, { access: await accessOfUser(stack.core.db, admin), policy, dryRun: true, now }))
        .matchedCount,
    ).toBe(0);
  });
});
