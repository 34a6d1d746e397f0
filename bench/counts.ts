// bench/counts: a run list's totalCount and facets at 100,000 and 1,000,000 runs, counted from the
// run counters (src/runs/run-counts.ts, the default) and by counting rows (as before them, no cap),
// in the same process, over real HTTP to an API started in this process (compiled reads on, the
// default). Prints p50/p95 and requests/s at concurrency 1 per filter, and the ratio. Then the cost
// of keeping the counters: status transitions per second of one instance's runs at concurrency 10
// with the triggers on and off (do they serialize on the instance's counter rows?).
// Seeds with set-based SQL (test/helpers/seed-runs.ts); stops by itself and drops its database.
//
//   npm run bench:counts        (SECONDS=3 per measurement, MAX_RUNS=1000000, BENCH_DATABASE_URL=postgresql://…)
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createToken } from '../src/auth/tokens.ts';
import { loadEnv } from '../src/env.ts';
import { setCountingStrategy } from '../src/runs/run-counts.ts';
import { transitionRun } from '../src/runs/state-machine.ts';
import { openCore, startApi } from '../src/runtime.ts';
import { createTestDatabase } from '../test/helpers/database.ts';
import { seedRunGraph } from '../test/helpers/seed-runs.ts';
import { startTestTemporalServer } from '../test/helpers/temporal-server.ts';

const SECONDS = Number(process.env.SECONDS ?? 3);
const MAX_RUNS = Number(process.env.MAX_RUNS ?? 1_000_000);
const INSTANCES = 20;

/** PAGE=0: totalCount and facets alone, without the page of runs. */
const PAGE = Number(process.env.PAGE ?? 20);

const LIST = `query BenchCounts($filter: RunFilter) {
  runs(first: ${PAGE}, filter: $filter) {
    totalCount totalCountIsApproximate
    facets { approximate status { status count } labels { label count } }
    ${PAGE ? 'edges { node { id name status } }' : ''}
  } }`;

const CASES: [string, Record<string, unknown>][] = [
  ['no filter', {}],
  ['status', { status: ['RUNNING'] }],
  ['routine + status', { routineName: 'kmeans', status: ['FAILED'] }],
  ['a label', { labelsAny: ['even'] }],
  ['search (fallback)', { search: 'needle' }],
];

interface Measurement {
  requests: number;
  p50: number;
  p95: number;
  rps: number;
}

async function measure(call: () => Promise<void>, concurrency = 1): Promise<Measurement> {
  for (let i = 0; i < 2; i++) await call();
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await call();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { requests: latencies.length, p50: at(0.5), p95: at(0.95), rps: latencies.length / elapsed };
}

const ms = (value: number) => `${value.toFixed(1).padStart(7)} ms`;

async function main() {
  const database = await createTestDatabase('rr_bench_counts');
  const databaseUrl = database.url;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-bench-counts-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const temporal = await startTestTemporalServer();
    cleanups.push(() => temporal.stop());
    const env = loadEnv({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporal.address, LOG_LEVEL: 'warn' });
    const core = await openCore({ env, databaseUrl, log: () => {} });
    cleanups.push(() => core.close());
    const api = await startApi({ core, temporalAddress: temporal.address, port: 0, host: '127.0.0.1', log: () => {} });
    cleanups.push(() => api.stop());
    const { token } = await createToken({ db: core.db, userName: 'bench', admin: true });
    const user = await core.db.user.findUniqueOrThrow({ where: { name: 'bench' } });

    const request = async (filter: Record<string, unknown>) => {
      const response = await fetch(api.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: LIST, variables: { filter } }),
      });
      const body = (await response.json()) as {
        errors?: unknown[];
        data?: { runs: { totalCount: number; totalCountIsApproximate: boolean } };
      };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data!.runs;
    };

    let seeded = 0;
    const seedTo = async (total: number) => {
      const t0 = performance.now();
      // A batch at a time: one INSERT of 1M runs holds its transition table (for the counters) in memory.
      while (seeded < total) {
        const perInstance = Math.min(total - seeded, 100_000) / INSTANCES;
        await seedRunGraph(core.db, {
          routineName: 'kmeans',
          createdById: user.id,
          instances: INSTANCES,
          runsPerInstance: perInstance,
          artifactsPerRun: 0,
          instancePrefix: `batch-${seeded}`,
        });
        seeded += perInstance * INSTANCES;
      }
      console.log(
        `seeded ${total.toLocaleString('en')} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s (counters kept by the triggers)`,
      );
    };

    for (const size of [100_000, 1_000_000].filter((n) => n <= MAX_RUNS)) {
      await seedTo(size);
      await core.db.$executeRawUnsafe('VACUUM ANALYZE "RoutineRun"');
      await core.db.$executeRawUnsafe('VACUUM ANALYZE "RunCount"');
      await core.db.$executeRawUnsafe('VACUUM ANALYZE "RunLabelCount"');
      console.log(
        `\nrun list (first: ${PAGE}) with totalCount + facets, ${size.toLocaleString('en')} runs, concurrency 1, ${SECONDS} s each`,
      );
      console.log('case                 | counted by           | p50        | p95        | req/s  | totalCount');
      for (const [name, filter] of CASES) {
        const results: Record<string, Measurement> = {};
        for (const strategy of ['rows', 'counters'] as const) {
          setCountingStrategy(strategy);
          const answer = await request(filter);
          const m = await measure(async () => void (await request(filter)));
          results[strategy] = m;
          const label = strategy === 'rows' ? 'rows (before)' : name.includes('fallback') ? 'rows, capped (after)' : 'counters (after)';
          console.log(
            `${name.padEnd(20)} | ${label.padEnd(20)} | ${ms(m.p50)} | ${ms(m.p95)} | ${m.rps.toFixed(1).padStart(6)} | ${answer.totalCount}${answer.totalCountIsApproximate ? ' (approximate)' : ''}`,
          );
        }
        console.log(
          `${''.padEnd(20)} | ratio before/after   | ${(results.rows.p50 / results.counters.p50).toFixed(1).padStart(6)} ×   |            | ${(results.counters.rps / results.rows.rps).toFixed(1).padStart(5)}×`,
        );
      }
      setCountingStrategy('counters');
    }

    // The cost of keeping the counters: every run of one instance moving CREATED → QUEUED → RUNNING
    // → COMPLETED through the state machine at concurrency 10, with the triggers on and off.
    console.log('\nstatus transitions of 600 runs of one instance through the state machine, concurrency 10');
    for (const triggers of ['on', 'off'] as const) {
      await core.db.$executeRawUnsafe(`ALTER TABLE "RoutineRun" ${triggers === 'on' ? 'ENABLE' : 'DISABLE'} TRIGGER USER`);
      const [instanceId] = await seedRunGraph(core.db, {
        routineName: 'kmeans',
        createdById: user.id,
        instances: 1,
        runsPerInstance: 600,
        artifactsPerRun: 0,
        instancePrefix: `hot-${triggers}`,
      });
      const runs = (await core.db.$queryRaw<{ id: string }[]>`SELECT id FROM "RoutineRun" WHERE "instanceId" = ${instanceId}::uuid`).map(
        (r) => r.id,
      );
      await core.db
        .$executeRaw`UPDATE "RoutineRun" SET status = 'CREATED', "finishedAt" = NULL, "durationMs" = NULL WHERE "instanceId" = ${instanceId}::uuid`;
      const t0 = performance.now();
      let transitions = 0;
      for (const to of ['QUEUED', 'RUNNING', 'COMPLETED'] as const) {
        let next = 0;
        await Promise.all(
          Array.from({ length: 10 }, async () => {
            while (next < runs.length) {
              const runId = runs[next++];
              if ((await transitionRun(core.db, { runId, to })).changed) transitions++;
            }
          }),
        );
      }
      const seconds = (performance.now() - t0) / 1000;
      console.log(
        `triggers ${triggers.padEnd(3)} | ${transitions} transitions in ${seconds.toFixed(1)} s | ${(transitions / seconds).toFixed(0)} /s`,
      );
    }
    await core.db.$executeRawUnsafe('ALTER TABLE "RoutineRun" ENABLE TRIGGER USER');
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    await database.drop().catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
