// bench/run-throughput: what the service adds to Temporal for a small method.
//
//   npm run bench:run-throughput        (ROUNDS=100 latency samples; CONCURRENCY=1,10,50)
//   SERVICE_FORM=source npm run bench:run-throughput   workers from the sources (npm run worker), not dist/
//   SLOTS=4 (WORKER_MAX_CONCURRENT_RUNS, default 8): with SERVICE_FORM=source, `npm start`'s defaults
//
// Starts its own Temporal dev server (the CLI), a fresh database on TEST_DATABASE_URL's server
// (default: the local PostgreSQL), the API in this process and the worker in its own process, as
// deployed (the bare baseline's worker too, so both clients have their event loop to themselves);
// then measures:
//   - createRun → QUEUED (the mutation's answer: the run is committed QUEUED, its workflow starts
//     right after, off the request path) and createRun → COMPLETED latency, p50/p95, for
//     montecarlo.estimatePi on 1000 samples (progress, one artifact, outputs); and createRun →
//     QUEUED again with the worker stopped, the API's latency when no method process competes
//     with it for this machine's cores;
//   - sustained runs/s at concurrency 1, 10 and 50;
//   - the same for a bare Temporal client starting one workflow with one activity on the same
//     server, both with an empty activity (Temporal alone) and with the same method in the same
//     sandbox (what execution costs without the service): the ratio to the latter is the
//     service's overhead.
// It stops everything it started and drops its database, whatever happens.
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { type TestDatabase } from '../test/helpers/database.ts';
import { graphql } from '../test/gql/index.ts';
import { workflowIdForRun } from '../workflows/shared.ts';
import { cleanupsOnExit, forkBareWorker, runThenExit, type Cleanups } from './fixtures/helpers.ts';
import { rawId, startServiceStack, startTemporalAndDatabase } from './fixtures/service-stack.ts';

const BenchRtCancelRun = graphql(`
  mutation BenchRtCancelRun($input: CancelRunInput!) {
    cancelRun(input: $input) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);
const BenchRtCreateRun = graphql(`
  mutation BenchRtCreateRun($input: CreateRunInput!) {
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

const ROUNDS = Number(process.env.ROUNDS ?? 100);
// The worker sides (the service's worker and the bare baseline's sandbox) run the compiled form
// (`npm run build`), as deployed; SERVICE_FORM=source runs them from the TypeScript sources (tsx).
const COMPILED = (process.env.SERVICE_FORM ?? 'compiled') !== 'source';
const CONCURRENCY = (process.env.CONCURRENCY ?? '1,10,50').split(',').map(Number);
const SLOTS = Number(process.env.SLOTS ?? 8);
const INPUTS = { samples: 1000, batches: 1, seed: 1 };

interface Figures {
  queuedMs: number[];
  /** The service only: createRun → QUEUED while no run executes. */
  idleQueuedMs?: number[];
  completedMs: number[];
  throughput: Array<{ concurrency: number; runs: number; perSecond: number }>;
}

const cleanups: Cleanups = [];

async function main() {
  if (COMPILED) execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
  const { dataDir, temporal, database } = await startTemporalAndDatabase({
    prefix: 'rr-bench-throughput-',
    databaseName: 'rr_bench_throughput',
    cleanups,
  });

  console.log(
    `run-throughput (${COMPILED ? 'compiled workers: npm run worker:prod' : 'workers from the sources: npm run worker'}): montecarlo.estimatePi ${JSON.stringify(INPUTS)}, ${ROUNDS} latency rounds, concurrency ${CONCURRENCY.join('/')}, ${SLOTS} worker slots, ${os.cpus().length} CPUs`,
  );
  const service = await measureService({ temporalAddress: temporal.address, database, dataDir });
  const bareSandbox = await measureBare({ temporalAddress: temporal.address, dataDir, activity: 'bareSandbox' });
  const bareEmpty = await measureBare({ temporalAddress: temporal.address, dataDir, activity: 'bareEmpty' });

  const rows: Array<[string, Figures]> = [
    ['service (createRun over GraphQL)', service],
    ['bare Temporal + same sandbox', bareSandbox],
    ['bare Temporal, empty activity', bareEmpty],
  ];
  console.log('');
  console.log(
    `${'path'.padEnd(34)} ${'→QUEUED p50/p95'.padEnd(18)} ${'→COMPLETED p50/p95'.padEnd(20)} runs/s at ${CONCURRENCY.join(' / ')}`,
  );
  for (const [name, figures] of rows) {
    console.log(
      `${name.padEnd(34)} ${`${p(figures.queuedMs, 50)} / ${p(figures.queuedMs, 95)} ms`.padEnd(18)} ${`${p(figures.completedMs, 50)} / ${p(figures.completedMs, 95)} ms`.padEnd(20)} ${figures.throughput.map((t) => t.perSecond.toFixed(1)).join(' / ')}`,
    );
  }
  console.log('');
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  console.log(
    `createRun → QUEUED: p50 ${p(service.queuedMs, 50)} ms, p95 ${p(service.queuedMs, 95)} ms ` +
      `(bare client.workflow.start: p50 ${p(bareSandbox.queuedMs, 50)} ms, p95 ${p(bareSandbox.queuedMs, 95)} ms; ` +
      `×${ratio(p(service.queuedMs, 95), p(bareSandbox.queuedMs, 95))} at p95)`,
  );
  console.log(
    `overhead vs bare Temporal + same sandbox: COMPLETED p50 ×${ratio(p(service.completedMs, 50), p(bareSandbox.completedMs, 50))}, p95 ×${ratio(p(service.completedMs, 95), p(bareSandbox.completedMs, 95))}`,
  );
  for (const [index, t] of service.throughput.entries()) {
    console.log(
      `  concurrency ${t.concurrency}: throughput ×${ratio(bareSandbox.throughput[index].perSecond, t.perSecond)} (bare runs/s ÷ service runs/s)`,
    );
  }
  // The issue's figures: the service next to Temporal alone (empty activity), as ratios.
  for (const [index, t] of service.throughput.entries()) {
    console.log(
      `  concurrency ${t.concurrency}: service ${t.perSecond.toFixed(2)} runs/s vs bare Temporal + empty activity ${bareEmpty.throughput[index].perSecond.toFixed(2)} runs/s: ×${ratio(t.perSecond, bareEmpty.throughput[index].perSecond)} of Temporal alone`,
    );
  }
  console.log(
    `createRun → COMPLETED p50 ${p(service.completedMs, 50)} ms vs bare Temporal + empty activity ${p(bareEmpty.completedMs, 50)} ms (×${ratio(p(service.completedMs, 50), p(bareEmpty.completedMs, 50))})`,
  );
  const idle = service.idleQueuedMs!;
  console.log(
    `createRun → QUEUED with no run executing (worker stopped): p50 ${p(idle, 50)} ms, p95 ${p(idle, 95)} ms ` +
      `(bare client.workflow.start, empty activity: p50 ${p(bareEmpty.queuedMs, 50)} ms, p95 ${p(bareEmpty.queuedMs, 95)} ms)`,
  );
  console.log(
    `targets: createRun → QUEUED p95 ≤ 50 ms: ${p(idle, 95) <= 50 ? 'met' : 'MISSED'} with no run executing (${p(idle, 95)} ms), ${p(service.queuedMs, 95) <= 50 ? 'met' : 'MISSED'} while runs execute on the same cores (${p(service.queuedMs, 95)} ms); overhead ≤ 1.5×: ${p(service.completedMs, 95) / p(bareSandbox.completedMs, 95) <= 1.5 ? 'met' : 'MISSED'}`,
  );
}

async function measureService({
  temporalAddress,
  database,
  dataDir,
}: {
  temporalAddress: string;
  database: TestDatabase;
  dataDir: string;
}): Promise<Figures> {
  const { worker, api, client, temporalClient, instanceId, waitForEnd } = await startServiceStack({
    temporalAddress,
    database,
    dataDir,
    slots: SLOTS,
    compiled: COMPILED,
    reportEveryFailedRun: false,
    cleanups,
  });

  const oneRun = async () => {
    const started = performance.now();
    const result = await client.query(BenchRtCreateRun, { input: { instanceId, methodName: 'estimatePi', inputs: INPUTS } });
    const queuedMs = performance.now() - started;
    if (result.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(result.createRun));
    const id = rawId(result.createRun.run.id);
    await waitForEnd(id);
    const completedMs = performance.now() - started;
    // The run is COMPLETED for its users here, but its workflow is still closing (the activity's
    // result, the last workflow task). The bare client's round ends when its workflow has closed,
    // so this one does too: the next createRun must not overlap that work when the bare start did not.
    await temporalClient.workflow.getHandle(workflowIdForRun(id)).result();
    return { queuedMs, completedMs };
  };
  const figures = await measure(oneRun);

  // createRun → QUEUED with nothing executing on the machine (the worker stopped): the API's own
  // latency, without the CPU the method processes of the rounds above take from it on 2 cores —
  // the service's counterpart of the bare client's empty-activity row. Those runs are then cancelled.
  await worker.stop();
  const idleQueuedMs: number[] = [];
  const queuedIds: string[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    const result = await client.query(BenchRtCreateRun, { input: { instanceId, methodName: 'estimatePi', inputs: INPUTS } });
    idleQueuedMs.push(performance.now() - started);
    if (result.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(result.createRun));
    queuedIds.push(result.createRun.run.id);
  }
  for (const id of queuedIds) await client.query(BenchRtCancelRun, { input: { id, reason: 'bench: latency sample' } });
  await api.stop();
  return { ...figures, idleQueuedMs };
}

/** The bare Temporal worker, in its own process like the service's (this file with `bare-worker`). */
async function runBareWorker(temporalAddress: string, activity: 'bareEmpty' | 'bareSandbox', storageRoot: string): Promise<void> {
  // Warnings only, as the service's worker logs; the parent stops this process.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  // The same sandbox module as the service's worker runs: compiled, or the sources.
  const sandbox = (await import(
    COMPILED ? new URL('../dist/src/execution/sandbox.js', import.meta.url).href : '../src/execution/sandbox.ts'
  )) as typeof import('../src/execution/sandbox.ts');
  const pool = sandbox.createMethodProcessPool({ size: 4 });
  const connection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await Worker.create({
    connection,
    taskQueue: `bench-${activity}`,
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./fixtures/bare-run.workflow.ts', import.meta.url)),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
    }),
    maxConcurrentActivityTaskExecutions: SLOTS,
    activities: {
      async bareEmpty() {},
      async bareSandbox({ runId }: { runId: string }) {
        const result = await sandbox.executeMethod({
          request: {
            runId,
            instanceId: randomUUID(),
            routineName: 'montecarlo',
            routineVersion: '1.0.0',
            methodName: 'estimatePi',
            inputs: INPUTS,
            instanceConfig: null,
            attempt: 1,
            memoryMb: 128,
            timeoutMs: 60_000,
            storeArtifacts: true,
            includePreviews: false,
            includeStatistics: false,
            storageRoot,
          },
          hooks: { onProgress() {}, onLog() {}, async onArtifact() {} },
          pool,
        });
        if (result.status !== 'COMPLETED') throw new Error(`bare run ended ${result.status}`);
      },
    },
  });
  process.once('SIGTERM', () => worker.shutdown());
  const running = worker.run();
  process.send!('READY');
  await running;
  pool.close();
  await connection.close();
}

async function measureBare({
  temporalAddress,
  dataDir,
  activity,
}: {
  temporalAddress: string;
  dataDir: string;
  activity: 'bareEmpty' | 'bareSandbox';
}): Promise<Figures> {
  const storageRoot = path.join(dataDir, 'bare-storage');
  const worker = await forkBareWorker({ temporalAddress, activity, storageRoot, cleanups });
  const clientConnection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection: clientConnection });
  const oneRun = async () => {
    const started = performance.now();
    const handle = await client.workflow.start('bareRunWorkflow', {
      taskQueue: `bench-${activity}`,
      workflowId: `bare-${randomUUID()}`,
      args: [{ runId: randomUUID(), activity }],
    });
    const queuedMs = performance.now() - started;
    await handle.result();
    return { queuedMs, completedMs: performance.now() - started };
  };
  try {
    return await measure(oneRun);
  } finally {
    await worker.stop();
    await clientConnection.close();
  }
}

async function measure(oneRun: () => Promise<{ queuedMs: number; completedMs: number }>): Promise<Figures> {
  for (let i = 0; i < 3; i++) await oneRun(); // warm-up: bundles, pools, connections
  const queuedMs: number[] = [];
  const completedMs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const sample = await oneRun();
    queuedMs.push(sample.queuedMs);
    completedMs.push(sample.completedMs);
  }
  const throughput: Figures['throughput'] = [];
  for (const concurrency of CONCURRENCY) {
    const total = Math.max(10, concurrency * 2);
    let next = 0;
    const started = performance.now();
    let failed = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          next++;
          await oneRun().catch((error) => {
            failed++;
            console.error(`a run failed: ${(error as Error).message}`);
          });
        }
      }),
    );
    throughput.push({ concurrency, runs: total - failed, perSecond: (total - failed) / ((performance.now() - started) / 1000) });
    if (failed) console.error(`concurrency ${concurrency}: ${failed} of ${total} runs failed`);
  }
  return { queuedMs, completedMs, throughput };
}

function p(values: number[], percentile: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((percentile / 100) * sorted.length) - 1);
  return Math.round(sorted[Math.max(0, index)]);
}

const role = process.argv[2] === 'bare-worker' ? 'bare-worker' : 'main';
// Ctrl-C still cleans up (the Temporal dev server, the database, the temporary folder).
const cleanUp = cleanupsOnExit(cleanups, { signals: role === 'main' });

runThenExit(
  role === 'bare-worker' ? () => runBareWorker(process.argv[3], process.argv[4] as 'bareEmpty' | 'bareSandbox', process.argv[5]) : main,
  cleanUp,
);
