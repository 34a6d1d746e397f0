// Seeds a run graph with set-based SQL (generate_series): instances × runs × artifacts in a few
// statements, fast enough for 100,000 runs. Used by test/run-graph*.test.ts and bench/nested-query.ts.
// Run i of an instance (1-based) is deterministic, so tests can compute what a filter should match:
//   status      STATUSES[i % 6]
//   labels      ['all', `mod3-${i % 3}`] plus 'even' when i is even
//   attributes  { team: TEAMS[i % 3], n: i % 10, nested: { flag: i % 2 === 0 } }
//   name        `run ${i}` (null when i % 7 === 0), description 'seeded run' (or 'needle' when i % 5 === 0)
//   createdAt   base − i minutes (instance k shifted by k seconds); finishedAt/durationMs set for ended runs
import type { Db } from '../../src/db/client.ts';
import { DEFAULT_WORKSPACE, ensureWorkspace } from '../../src/auth/tokens.ts';

export const STATUSES = ['CREATED', 'QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export const TEAMS = ['alpha', 'beta', 'gamma'] as const;

export interface SeedOptions {
  routineName: string;
  createdById: string;
  instances: number;
  runsPerInstance: number;
  artifactsPerRun: number;
  instancePrefix?: string;
  base?: Date;
  /** The workspace the instances (and so their runs) live in; `default` when omitted. */
  workspaceId?: string;
}

export async function seedRunGraph(db: Db, options: SeedOptions): Promise<string[]> {
  const { routineName, createdById, instances, runsPerInstance, artifactsPerRun } = options;
  const prefix = options.instancePrefix ?? 'seeded';
  const base = options.base ?? new Date();
  const [routine] = await db.$queryRaw<{ id: string; version: string }[]>`
    SELECT id, version FROM "Routine" WHERE name = ${routineName} ORDER BY "createdAt" DESC LIMIT 1`;
  if (!routine) throw new Error(`No routine ${routineName}`);
  const workspaceId = options.workspaceId ?? (await ensureWorkspace(db, DEFAULT_WORKSPACE)).id;
  const created = await db.$queryRaw<{ id: string; name: string }[]>`
    INSERT INTO "RoutineInstance" (id, "routineId", "workspaceId", name, "createdById", "createdAt", "updatedAt", "constructedAt")
    SELECT gen_random_uuid(), ${routine.id}::uuid, ${workspaceId}::uuid, ${prefix} || ' ' || k, ${createdById}::uuid,
           ${base}::timestamp - make_interval(secs => k), ${base}::timestamp, ${base}::timestamp
    FROM generate_series(1, ${instances}) AS k
    RETURNING id, name`;
  const number = (name: string) => Number(name.slice(name.lastIndexOf(' ') + 1));
  // Instance k (its name's number) is the k-th id: the runs' createdAt offsets use that k.
  const ids = created.sort((a, b) => number(a.name) - number(b.name)).map((row) => row.id);
  await db.$executeRaw`
    INSERT INTO "RoutineRun" (id, "instanceId", "workspaceId", "routineId", "routineVersion", "methodName", "methodKind", name, description,
      status, labels, attributes, "createdById", "createdAt", "updatedAt", "finishedAt", "durationMs", "memoryMb", "lastSequence")
    SELECT gen_random_uuid(), inst.id, ${workspaceId}::uuid, ${routine.id}::uuid, ${routine.version}, 'fit', 'STANDARD',
      CASE WHEN i % 7 = 0 THEN NULL ELSE 'run ' || i END,
      CASE WHEN i % 5 = 0 THEN 'needle' ELSE 'seeded run' END,
      (ARRAY['CREATED','QUEUED','RUNNING','COMPLETED','FAILED','CANCELLED'])[1 + i % 6]::"RunStatus",
      ARRAY['all', 'mod3-' || (i % 3)] || CASE WHEN i % 2 = 0 THEN ARRAY['even'] ELSE ARRAY[]::text[] END,
      jsonb_build_object('team', (ARRAY['alpha','beta','gamma'])[1 + i % 3], 'n', i % 10, 'nested', jsonb_build_object('flag', i % 2 = 0)),
      ${createdById}::uuid,
      ${base}::timestamp - make_interval(mins => i) - make_interval(secs => inst.k),
      ${base}::timestamp - make_interval(mins => i) - make_interval(secs => inst.k) + interval '1 minute',
      CASE WHEN i % 6 >= 3 THEN ${base}::timestamp - make_interval(mins => i) + make_interval(secs => i % 50) END,
      CASE WHEN i % 6 >= 3 THEN (i % 50) * 1000 END,
      1024, 0
    FROM unnest(${ids}::uuid[]) WITH ORDINALITY AS inst(id, k)
    CROSS JOIN generate_series(1, ${runsPerInstance}) AS i`;
  if (artifactsPerRun > 0) {
    await db.$executeRaw`
      INSERT INTO "Artifact" (id, "runId", name, path, "contentType", "sizeBytes", checksum, metadata)
      SELECT gen_random_uuid(), r.id, 'artifact_' || a,
        'routine://instances_/' || r."instanceId" || '/shared_/runs_/' || r.id || '/shared_/artifacts_/artifact_' || a || '/',
        'text/csv', 1000 + a, repeat('0', 64), '{}'::jsonb
      FROM "RoutineRun" r CROSS JOIN generate_series(1, ${artifactsPerRun}) AS a
      WHERE r."instanceId" = ANY(${ids}::uuid[])`;
  }
  await db.$executeRaw`ANALYZE "RoutineRun"`;
  await db.$executeRaw`ANALYZE "Artifact"`;
  return ids;
}
