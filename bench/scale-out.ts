// bench/scale-out: the production form as a deployment on this machine (two API processes and
// three worker processes, compiled, run by plain node as `npm run api:prod` / `worker:prod`; one
// PostgreSQL database, a Temporal dev server of its own, Redis for run change notices), driven
// by the scenario of test/scale-out.test.ts with more runs: RUNS runs of scaleout.nap through both
// APIs, WINDOW in flight at a time, with a `runsUpdated` dashboard on each API; api-1 and
// worker-1 killed with SIGKILL after a third of the runs were created; then RUNS_ONE_WORKER runs
// on one worker. Prints runs/s for three workers vs one and their ratio, createRun → terminal
// latency p50/p95/p99, the most runs executing at once, the dashboards' deliveries, the kills and their cost (creates sent again,
// runs retried on another worker), the machine's CPU use in each phase, the CPU seconds per run of
// each process in the one-worker phase, and every process's RSS.
//
//   npm run bench:scale-out      RUNS=300 RUNS_ONE_WORKER=60 NAP_MS=2000 WINDOW=12 SLOTS=2 to change the load
//
// It checks what the test checks (each run created once, ended once, COMPLETED; every dashboard
// saw every run end) and says so; it stops everything it started and drops its database.
import os from 'node:os';
import { createTestDatabase, type TestDatabase } from '../test/helpers/database.ts';
import { buildCompiledForm, startDeployment, type CompiledBuild, type Deployment } from '../test/helpers/deployment.ts';
import { TEST_REDIS_URL } from '../test/helpers/redis.ts';
import { percentile, scaleOutScenario, type ScaleOutFigures } from '../test/helpers/scale-out.ts';
import { startTestTemporalServer, type TestTemporalServer } from '../test/helpers/temporal-server.ts';

const RUNS = Number(process.env.RUNS ?? 300);
const RUNS_ONE_WORKER = Number(process.env.RUNS_ONE_WORKER ?? 60);
const NAP_MS = Number(process.env.NAP_MS ?? 2000);
const SLOTS = Number(process.env.SLOTS ?? 2);
const WINDOW = Number(process.env.WINDOW ?? 3 * SLOTS * 2);
const REDIS_URL = process.env.REDIS_URL ?? TEST_REDIS_URL;

let temporal: TestTemporalServer | undefined;
let database: TestDatabase | undefined;
let build: CompiledBuild | undefined;
let deployment: Deployment | undefined;

async function main() {
  console.log(
    `scale-out: 2 APIs + 3 workers (compiled), ${SLOTS} slots per worker, Redis notices; ${RUNS} runs of scaleout.nap ` +
      `(${NAP_MS} ms, 3 progress reports, 1 artifact), ${WINDOW} in flight; kill -9 of api-1 and worker-1 after ${Math.round(RUNS / 3)} created; ` +
      `then ${RUNS_ONE_WORKER} runs on 1 worker; ${os.cpus().length} CPUs`,
  );
  const setupStarted = performance.now();
  [build, temporal, database] = await Promise.all([
    buildCompiledForm('scale-out-bench'),
    startTestTemporalServer(),
    createTestDatabase('rr_bench_scale'),
  ]);
  deployment = await startDeployment({
    build,
    databaseUrl: database.url,
    temporalAddress: temporal.address,
    redisUrl: REDIS_URL,
    apis: 2,
    workers: 3,
    settings: {
      WORKER_MAX_CONCURRENT_RUNS: String(SLOTS),
      WORKER_WARM_PROCESSES: String(SLOTS),
      WORKER_LEASE_MS: '3000',
      RECONCILE_INTERVAL_MS: '2000',
      MUTATION_RATE_LIMIT_PER_MINUTE: '0',
    },
  });
  console.log(`build and start: ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`);
  const figures = await scaleOutScenario({
    deployment,
    databaseUrl: database.url,
    runs: RUNS,
    runsOneWorker: RUNS_ONE_WORKER,
    napMs: NAP_MS,
    window: WINDOW,
    phaseTimeoutMs: Math.max(120_000, RUNS * 2000),
  });
  print(figures);
}

function print(figures: ScaleOutFigures) {
  const { threeWorkers, oneWorker, dashboards, record, finalRecord } = figures;
  console.log('');
  console.log(
    `${'phase'.padEnd(40)} ${'runs'.padStart(5)} ${'seconds'.padStart(8)} ${'runs/s'.padStart(7)}  ${'latency p50/p95/p99'.padEnd(22)} CPU busy`,
  );
  for (const [name, phase] of [
    ['3 workers, 2 APIs (1 + 1 killed at 1/3)', threeWorkers],
    ['1 worker, 1 API', oneWorker],
  ] as const) {
    const latency = `${percentile(phase.latenciesMs, 50)} / ${percentile(phase.latenciesMs, 95)} / ${percentile(phase.latenciesMs, 99)} ms`;
    console.log(
      `${name.padEnd(40)} ${String(phase.runs).padStart(5)} ${(phase.durationMs / 1000).toFixed(1).padStart(8)} ${phase.runsPerSecond.toFixed(2).padStart(7)}  ${latency.padEnd(22)} ${(100 * phase.machineBusy).toFixed(0)}%`,
    );
  }
  console.log(
    `ratio runs/s 3 workers ÷ 1 worker: ${figures.ratio.toFixed(2)}; runs executing at once, at most: ` +
      `${figures.spread.threeWorkers.peakConcurrency} on ${figures.spread.threeWorkers.workers} workers vs ` +
      `${figures.spread.oneWorker.peakConcurrency} on ${figures.spread.oneWorker.workers}`,
  );
  console.log(
    `kills: ${threeWorkers.kills.map((kill) => `${kill.name} after ${kill.afterCreated} created`).join(', ')}; ` +
      `createRun sent again to the other API: ${threeWorkers.retriedCreates}; runs finished by another worker after the kill: ${figures.retriedRuns}`,
  );
  for (const dashboard of dashboards) {
    const deliveries = [...dashboard.deliveries.values()];
    console.log(
      `${dashboard.name}: ${deliveries.flat().length} terminal deliveries for ${deliveries.length} runs ` +
        `(${deliveries.filter((statuses) => statuses.length > 1).length} delivered more than once), ${dashboard.reconnects} reconnects`,
    );
  }
  const totalRuns = RUNS + RUNS_ONE_WORKER;
  const onceEach = [...finalRecord.rowsPerKey.values()].every((rows) => rows === 1) && finalRecord.rowsPerKey.size === totalRuns;
  const endedOnce = [...finalRecord.terminalTransitions.values()].every((count) => count === 1);
  const completed = [...finalRecord.status.values()].every((status) => status === 'COMPLETED');
  const seenByAll = dashboards.every((dashboard) =>
    [...threeWorkers.runIds.values()].every((id) => dashboard.deliveries.get(id)?.includes('COMPLETED')),
  );
  const wrongStatus = dashboards.some((dashboard) => [...dashboard.deliveries.values()].flat().some((status) => status !== 'COMPLETED'));
  console.log(
    `checks: ${finalRecord.rowsPerKey.size} runs for ${totalRuns} idempotency keys, each created once: ${onceEach ? 'yes' : 'NO'}; ` +
      `each ended exactly once: ${endedOnce ? 'yes' : 'NO'}; all COMPLETED: ${completed ? 'yes' : 'NO'}; ` +
      `every dashboard saw every run of the kill phase end: ${seenByAll ? 'yes' : 'NO'}; a wrong status delivered: ${wrongStatus ? 'YES' : 'no'} ` +
      `(${record.rowsPerKey.size} runs after the kill phase)`,
  );
  console.log(
    `CPU seconds per run, 1-worker phase (method processes counted in their worker): ${[...oneWorker.cpuSecondsPerRun]
      .map(([name, seconds]) => `${name} ${seconds.toFixed(3)}`)
      .join(', ')}`,
  );
  const rss = (rows: Array<{ name: string; rssMb: number }>) => rows.map((row) => `${row.name} ${row.rssMb} MB`).join(', ');
  console.log(`RSS after the kill phase: ${rss(figures.rssMb.afterKills)}; at the end: ${rss(figures.rssMb.atEnd)}`);
}

let cleaning: Promise<void> | null = null;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    await deployment?.close().catch(() => {});
    await database?.drop().catch(() => {});
    await temporal?.stop().catch(() => {});
    await build?.remove().catch(() => {});
  })();
  return cleaning;
}

// Ctrl-C still cleans up (the processes, the Temporal dev server, the database, the build folder).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: cleaning up`);
    void cleanUp().then(() => process.exit(130));
  });
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanUp();
    process.exit();
  });
